// bench-engine: the authentication engine alone (no milter protocol) over a corpus of ~10 KB
// messages, each with one RSA-2048 DKIM signature, with SPF and DMARC records answered from
// a warm cache. Reports messages per second on one core and how much of each message's time
// is the physical floor: one RSA-2048 verify plus SHA-256 over the body, measured in the same
// run so the ratio holds on a noisy machine. Bounded in count and time.
//
// usage: bench-engine [--messages N] [--seconds S] [--count N] [--dns ADDR@PORT]
//   --messages  corpus size (default 200); --seconds  timed phase (default 5, at most 60)
//   --count     check exactly N messages after the warm-up instead of timing, and skip the
//               floor: for instruction counts, e.g. under valgrind --tool=callgrind
//               --toggle-collect='*check_message*', where (Ir at --count B - Ir at --count A)
//               / (B - A) is the cost of one message
//   --dns       use libunbound against this server (warm cache) instead of the in-memory zone
#include "dkim_test_signer.hh"
#include "dns/fake_resolver.hh"
#include "engine/engine.hh"
#include "engine/message_text.hh"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

using namespace mailwarden;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t body_bytes = 10 * 1024;

struct Options {
    std::size_t messages = 200;
    double seconds = 5;
    std::size_t count = 0; // 0: timed
    std::string dns;
};

Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string name = argv[i];
        if (name == "--messages")
            options.messages = std::max<std::size_t>(1, std::stoul(argv[i + 1]));
        else if (name == "--seconds")
            options.seconds = std::min(60.0, std::max(0.5, std::stod(argv[i + 1])));
        else if (name == "--count")
            options.count = std::min<std::size_t>(10'000'000, std::stoul(argv[i + 1]));
        else if (name == "--dns")
            options.dns = argv[i + 1];
        else
            throw std::invalid_argument("unknown option " + name);
    }
    return options;
}

// ~10 KB of text lines that differ per message, CRLF line ends.
std::string body_text(std::size_t number) {
    std::string body;
    std::size_t line = 0;
    while (body.size() < body_bytes)
        body += "Line " + std::to_string(line++) + " of message " + std::to_string(number) +
                ": the quarterly numbers are in and they look fine.\r\n";
    return body;
}

std::vector<std::string> make_corpus(std::size_t count) {
    std::vector<std::string> corpus;
    for (std::size_t i = 0; i < count; ++i) {
        dkim_test::Message message = dkim_test::sample_message();
        message.headers.emplace_back("X-Sequence", " " + std::to_string(i));
        message.body = body_text(i);
        dkim_test::sign(message, {.key = &dkim_test::rsa_2048(), .selector = "s1"});
        corpus.push_back(dkim_test::to_text(message));
    }
    return corpus;
}

std::string zone_text() {
    return "example.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
           "_dmarc.example.test TXT \"v=DMARC1; p=reject\"\n" +
           dkim_test::txt_line("s1._domainkey.example.test",
                               "v=DKIM1; k=rsa; p=" + dkim_test::rsa_2048().public_base64);
}

// Runs fn repeatedly for about `seconds`; returns microseconds per call.
template <typename Fn> double microseconds_per_call(double seconds, Fn&& fn) {
    std::size_t calls = 0;
    const auto start = Clock::now();
    const auto stop = start + std::chrono::duration<double>(seconds);
    while (Clock::now() < stop) {
        for (int i = 0; i < 16; ++i)
            fn();
        calls += 16;
    }
    return std::chrono::duration<double, std::micro>(Clock::now() - start).count() /
           static_cast<double>(calls);
}

struct PkeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
struct CtxFree {
    void operator()(EVP_PKEY_CTX* context) const noexcept { EVP_PKEY_CTX_free(context); }
};

// One RSA-2048 PKCS#1 v1.5 verify of a SHA-256 digest, as DKIM does it.
double rsa_verify_microseconds(double seconds) {
    const std::string& pem = dkim_test::rsa_2048().private_pem;
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), (int)pem.size()),
                                                  BIO_free);
    std::unique_ptr<EVP_PKEY, PkeyFree> key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
    unsigned char digest[32] = {1, 2, 3};
    unsigned char signature[256];
    std::size_t signature_length = sizeof signature;
    std::unique_ptr<EVP_PKEY_CTX, CtxFree> signer(EVP_PKEY_CTX_new(key.get(), nullptr));
    EVP_PKEY_sign_init(signer.get());
    EVP_PKEY_CTX_set_rsa_padding(signer.get(), RSA_PKCS1_PADDING);
    EVP_PKEY_CTX_set_signature_md(signer.get(), EVP_sha256());
    if (EVP_PKEY_sign(signer.get(), signature, &signature_length, digest, sizeof digest) != 1)
        throw std::runtime_error("RSA sign failed");
    std::unique_ptr<EVP_PKEY_CTX, CtxFree> verifier(EVP_PKEY_CTX_new(key.get(), nullptr));
    EVP_PKEY_verify_init(verifier.get());
    EVP_PKEY_CTX_set_rsa_padding(verifier.get(), RSA_PKCS1_PADDING);
    EVP_PKEY_CTX_set_signature_md(verifier.get(), EVP_sha256());
    return microseconds_per_call(seconds, [&] {
        if (EVP_PKEY_verify(verifier.get(), signature, signature_length, digest, sizeof digest) !=
            1)
            throw std::runtime_error("RSA verify failed");
    });
}

double sha256_microseconds(double seconds, std::size_t bytes) {
    const std::string data(bytes, 'x');
    unsigned char digest[32];
    return microseconds_per_call(seconds, [&] {
        EVP_Digest(data.data(), data.size(), digest, nullptr, EVP_sha256(), nullptr);
    });
}

// One message through the engine as the milter drives it; true when it passes. Not inlined:
// callgrind --toggle-collect='*check_message*' counts exactly this.
[[gnu::noinline]] bool check_message(const engine::Engine& checks, const std::string& text) {
    auto message = checks.evaluate(
        {.client_ip = "192.0.2.10", .client_name = "", .helo = "mail.example.test"});
    message.mail_from("alice@example.test", "");
    message.recipient("bob@example.net");
    engine::feed_message(message, text);
    const engine::Report report = message.end_of_message();
    return report.dkim.size() == 1 && report.dkim[0].result == "pass" && report.dmarc &&
           report.dmarc->result == "pass";
}

} // namespace

int main(int argc, char** argv) try {
    const Options options = parse_options(argc, argv);
    const std::vector<std::string> corpus = make_corpus(options.messages);
    std::unique_ptr<dns::Resolver> resolver;
    if (options.dns.empty())
        resolver = std::make_unique<dns::FakeResolver>(dns::FakeResolver::from_text(zone_text()));
    else
        resolver = dns::make_unbound_resolver(
            {.servers = {options.dns}, .forward_documentation_zones = true});
    const auto loaded = config::parse_config_text(
        "[general]\nauthserv_id = bench.test\ninternal_networks =\n", "bench");
    const auto suffixes =
        std::make_shared<const auth::PublicSuffixList>(auth::PublicSuffixList::from_text("test\n"));
    const engine::Engine checks(loaded.config, *resolver, suffixes);

    std::size_t failures = 0;
    const auto check_one = [&](const std::string& text) {
        if (!check_message(checks, text))
            ++failures;
    };
    for (const auto& text : corpus) // warm: DNS cache, allocator, libopendkim
        check_one(text);
    if (failures != 0)
        throw std::runtime_error("warm-up: " + std::to_string(failures) + " messages did not pass");

    std::size_t checked = 0;
    const auto start = Clock::now();
    const auto stop = start + std::chrono::duration<double>(options.seconds);
    while (options.count > 0 ? checked < options.count
                             : Clock::now() < stop && checked < 10'000'000) {
        check_one(corpus[checked % corpus.size()]);
        ++checked;
    }
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const double per_message = elapsed * 1e6 / static_cast<double>(checked);
    if (options.count > 0) {
        std::printf("engine: %zu messages in %.2f s, %.1f us/message (%zu did not pass); floor "
                    "not measured with --count\n",
                    checked, elapsed, per_message, failures);
        return failures == 0 ? 0 : 1;
    }
    const double floor_seconds = std::min(2.0, options.seconds / 2);
    const double rsa = rsa_verify_microseconds(floor_seconds);
    const double sha = sha256_microseconds(floor_seconds, corpus.front().size());
    const double floor = rsa + sha;
    std::printf("corpus: %zu messages of %zu bytes, one RSA-2048 signature each; resolver: %s\n",
                corpus.size(), corpus.front().size(),
                options.dns.empty() ? "in-memory zone" : ("libunbound via " + options.dns).c_str());
    std::printf("engine: %zu messages in %.2f s: %.0f messages/s on one core, %.1f us/message "
                "(%zu did not pass)\n",
                checked, elapsed, checked / elapsed, per_message, failures);
    std::printf("floor: RSA-2048 verify %.1f us + SHA-256 of %zu bytes %.1f us = %.1f us\n", rsa,
                corpus.front().size(), sha, floor);
    std::printf("crypto share: %.0f%% of engine time; engine/floor ratio %.2fx (target <= 2)\n",
                100 * floor / per_message, per_message / floor);
    return failures == 0 ? 0 : 1;
} catch (const std::exception& error) {
    std::fprintf(stderr, "bench-engine: %s\n", error.what());
    return 2;
}
