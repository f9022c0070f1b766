// bench-mail: writes what tests/bench/milter-bench.sh sends through Postfix: an ~11 KB message
// from alice@pass.test with one RSA-2048 DKIM signature (d=pass.test, s=s1, relaxed/relaxed),
// as LF-terminated lines for `smtp-source -F` (which sends each line with CRLF, the form that
// was signed), and the zone for mw-testdnsd that publishes the key, an SPF record passing the
// benchmark's client and a p=reject DMARC record.
//
// usage: bench-mail MESSAGE_FILE ZONE_FILE
#include "dkim_test_signer.hh"

#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>

using namespace mailwarden;

namespace {

constexpr std::size_t body_bytes = 10 * 1024;

std::string body_text() {
    std::string body;
    for (std::size_t line = 0; body.size() < body_bytes; ++line)
        body += "Line " + std::to_string(line) +
                " of the benchmark message: the quarterly numbers are in and they look fine.\r\n";
    return body;
}

// CRLF → LF; smtp-source puts the CR back.
std::string with_lf(const std::string& text) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i)
        if (!(text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n'))
            out += text[i];
    return out;
}

} // namespace

int main(int argc, char** argv) try {
    if (argc != 3) {
        std::fprintf(stderr, "usage: bench-mail MESSAGE_FILE ZONE_FILE\n");
        return 2;
    }
    dkim_test::Message message = dkim_test::sample_message("Alice <alice@pass.test>");
    message.body = body_text();
    dkim_test::sign(message,
                    {.key = &dkim_test::rsa_2048(), .selector = "s1", .domain = "pass.test"});
    std::ofstream(argv[1], std::ios::binary) << with_lf(dkim_test::to_text(message));
    // The client is 127.0.0.1 (smtp-source on loopback); 192.0.2.0/24 as in the other tests.
    std::ofstream(argv[2], std::ios::binary)
        << "pass.test TXT \"v=spf1 ip4:127.0.0.1 ip4:192.0.2.0/24 -all\"\n"
        << "_dmarc.pass.test TXT \"v=DMARC1; p=reject\"\n"
        << dkim_test::txt_line("s1._domainkey.pass.test",
                               "v=DKIM1; k=rsa; p=" + dkim_test::rsa_2048().public_base64)
        << "\n";
    return 0;
} catch (const std::exception& error) {
    std::fprintf(stderr, "bench-mail: %s\n", error.what());
    return 1;
}
