// milter/protocol: the values that cross the milter protocol, without libmilter.
#include "milter/protocol.hh"

#include <boost/test/unit_test.hpp>

#include <random>

using namespace mailwarden;
using milter::envelope_address;
using milter::folded_header_value;
using milter::header_value_as_received;
using milter::reply_for;

BOOST_AUTO_TEST_SUITE(milter_protocol)

BOOST_AUTO_TEST_CASE(envelope_arguments_lose_their_angle_brackets_only) {
    BOOST_TEST(envelope_address("<a@example.org>") == "a@example.org");
    BOOST_TEST(envelope_address("<>") == "");
    BOOST_TEST(envelope_address(" <a@example.org> ") == "a@example.org");
    BOOST_TEST(envelope_address("a@example.org") == "a@example.org");
    BOOST_TEST(envelope_address("<<a@example.org>>") == "<a@example.org>");
    BOOST_TEST(envelope_address("<a@example.org") == "<a@example.org");
    BOOST_TEST(envelope_address("") == "");
}

BOOST_AUTO_TEST_CASE(header_values_get_crlf_folding_and_their_leading_space) {
    // Postfix folds with bare LF; Sendmail with CRLF; both become CRLF.
    BOOST_TEST(header_value_as_received(" a\n\tb", true) == " a\r\n\tb");
    BOOST_TEST(header_value_as_received(" a\r\n\tb", true) == " a\r\n\tb");
    BOOST_TEST(header_value_as_received("a\n b\r\n c", false) == " a\r\n b\r\n c");
    BOOST_TEST(header_value_as_received("", false) == "");
    BOOST_TEST(header_value_as_received("\n", true) == "\r\n");
}

BOOST_AUTO_TEST_CASE(replies_pass_validation_with_percent_doubled) {
    const auto reply =
        reply_for(engine::Verdict::reject("5.7.1", "100% rejected by DMARC", "dmarc_reject"));
    BOOST_TEST(reply.code == "550");
    BOOST_TEST(reply.status == "5.7.1");
    BOOST_TEST(reply.text == "100%% rejected by DMARC");
    const auto temporary = reply_for(engine::Verdict::tempfail("4.4.3", "DNS", "dmarc_dns_error"));
    BOOST_TEST(temporary.code == "451");
    BOOST_TEST(temporary.status == "4.4.3");
}

BOOST_AUTO_TEST_CASE(invalid_replies_become_the_generic_reply_of_their_action) {
    auto bad = [](std::string code, std::string status, std::string text, engine::Action action) {
        engine::Verdict verdict = action == engine::Action::reject
                                      ? engine::Verdict::reject(status, text, "x")
                                      : engine::Verdict::tempfail(status, text, "x");
        verdict.code = std::move(code);
        return reply_for(verdict);
    };
    for (const auto& reply : {bad("550", "5.7.1", "line\r\nbreak", engine::Action::reject),
                              bad("550", "4.7.1", "class differs", engine::Action::reject),
                              bad("450", "4.7.1", "a 4xx reject", engine::Action::reject),
                              bad("550", "5.7", "short status", engine::Action::reject),
                              bad("550", "5.1000.1", "long subject", engine::Action::reject),
                              bad("55x", "5.7.1", "code", engine::Action::reject),
                              bad("550", "5.7.1", "", engine::Action::reject),
                              bad("550", "5.7.1", std::string(401, 'a'), engine::Action::reject),
                              bad("550", "5.7.1", "caf\xc3\xa9", engine::Action::reject)}) {
        BOOST_TEST(reply.code == "550");
        BOOST_TEST(reply.status == "5.7.1");
        BOOST_TEST(reply.text == "Message rejected by policy");
    }
    const auto temporary = bad("550", "5.7.1", "a 5xx tempfail", engine::Action::tempfail);
    BOOST_TEST(temporary.code == "451");
    BOOST_TEST(temporary.status == "4.3.0");
}

BOOST_AUTO_TEST_CASE(quarantine_reason_is_the_text_when_printable) {
    BOOST_TEST(milter::quarantine_reason(engine::Verdict::quarantine("DMARC p=quarantine", "q")) ==
               "DMARC p=quarantine");
    BOOST_TEST(milter::quarantine_reason(engine::Verdict::quarantine("bad\ntext", "dmarc_q")) ==
               "mailwarden: dmarc_q");
}

BOOST_AUTO_TEST_CASE(short_header_values_stay_on_one_line) {
    const std::string value = "mx.example; spf=pass smtp.mailfrom=a@example.org";
    BOOST_TEST(folded_header_value("Authentication-Results", value) == value);
}

BOOST_AUTO_TEST_CASE(long_header_values_fold_between_results_never_inside_quotes) {
    const std::string value = "mx.example; spf=pass smtp.mailfrom=someone@example.org; "
                              "dkim=fail reason=\"a; b; c; d; e; f; g; h; i; j; k; l; m; n; o\" "
                              "header.d=example.org; dmarc=pass header.from=example.org";
    const std::string folded = folded_header_value("Authentication-Results", value);
    // A result longer than a line folds between its words; the next result starts a line.
    BOOST_TEST(folded == "mx.example;\n\tspf=pass smtp.mailfrom=someone@example.org;\n\t"
                         "dkim=fail reason=\"a; b; c; d; e; f; g; h; i; j; k; l; m; n; o\"\n\t"
                         "header.d=example.org;\n\tdmarc=pass header.from=example.org");
    // Unfolding gives back the value.
    std::string unfolded = folded;
    for (std::size_t at; (at = unfolded.find("\n\t")) != std::string::npos;)
        unfolded.replace(at, 2, " ");
    BOOST_TEST(unfolded == value);
}

// A DKIM-Signature is signed as folded (simple header canonicalization hashes the folding):
// the milter passes the engine's folding on, only in milter form.
BOOST_AUTO_TEST_CASE(values_folded_by_the_engine_keep_their_folding) {
    const std::string value = "v=1; a=rsa-sha256; c=simple/simple; d=example.org; s=s1;\r\n\t"
                              "h=from:to; bh=AAAA;\r\n\tb=BBBB";
    BOOST_TEST(folded_header_value("DKIM-Signature", value) ==
               "v=1; a=rsa-sha256; c=simple/simple; d=example.org; s=s1;\n\th=from:to; "
               "bh=AAAA;\n\tb=BBBB");
}

BOOST_AUTO_TEST_CASE(folding_never_loses_or_adds_content_on_random_values) {
    std::mt19937 random(20261122);
    const std::string alphabet = "ab; \"\\=.";
    for (int round = 0; round < 2000; ++round) {
        std::string value;
        const std::size_t size = random() % 300;
        for (std::size_t i = 0; i < size; ++i)
            value += alphabet[random() % alphabet.size()];
        std::string unfolded = folded_header_value("X", value, 20);
        for (std::size_t at; (at = unfolded.find("\n\t")) != std::string::npos;)
            unfolded.replace(at, 2, " ");
        // Folding only replaces a space outside quoted strings.
        std::string expected = value;
        BOOST_TEST_REQUIRE(unfolded == expected, "value: " << value);
    }
}

BOOST_AUTO_TEST_SUITE_END()
