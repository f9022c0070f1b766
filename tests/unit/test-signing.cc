// DKIM signing as the configuration sets it up (lib/engine/signing): the key table and
// options built from a snapshot, and sign_message() for mail mailwarden writes itself,
// verified by our verifier and dkimpy.
#include "auth/dkim_verify.hh"
#include "child_process.hh"
#include "dkim_test_signer.hh"
#include "dns/fake_resolver.hh"
#include "engine/message_text.hh"
#include "engine/signing.hh"
#include "signing_keys.hh"

#include <boost/test/unit_test.hpp>

#include <ctime>

using namespace mailwarden;
using signing_test::TempDir;
using signing_test::write_file;

namespace {

config::ConfigPtr config_of(const std::string& text) {
    auto parsed = config::parse_config_text(text, "test.conf");
    for (const auto& error : parsed.errors)
        BOOST_ERROR(error.to_string());
    BOOST_REQUIRE(parsed.ok());
    return parsed.config;
}

struct SigningFixture {
    TempDir dir;
    std::string ed_file = write_file(dir.file("ed.key"), signing_test::ed25519_key().pem(), 0600);
    std::string rsa_file = write_file(dir.file("rsa.key"), signing_test::rsa_key().pem(), 0600);

    // Signing for example.test with both keys; the daemons would run as we do.
    std::string config_text(const std::string& more = "") const {
        return "[general]\nallow_root = yes\n[signing]\ndkim_sign_key = example.test ed " +
               ed_file + "\ndkim_sign_key = example.test rsa " + rsa_file + "\n" + more;
    }
};

std::string zone() {
    return dkim_test::txt_line("ed._domainkey.example.test",
                               signing_test::ed25519_key().key_record()) +
           dkim_test::txt_line("rsa._domainkey.example.test", signing_test::rsa_key().key_record());
}

// Our verifier's result words for a whole message text.
std::vector<std::string> verify_text(const std::string& text) {
    dns::FakeResolver resolver = dns::FakeResolver::from_text(zone());
    auth::DkimVerifier verifier(auth::DkimOptions{}, resolver);
    struct Receiver final : engine::MessageReceiver {
        explicit Receiver(auth::DkimSession started) : session(std::move(started)) {}
        void header(std::string_view name, std::string_view value) override {
            session.header(name, value);
        }
        void end_of_headers() override { session.end_of_headers(); }
        void body(std::string_view chunk) override {
            session.body(std::span(chunk.data(), chunk.size()));
        }
        auth::DkimSession session;
    } receiver(verifier.session());
    engine::feed_message(receiver, text);
    std::vector<std::string> words;
    for (const auto& result : receiver.session.end_of_message())
        words.push_back(result.result);
    return words;
}

const std::string report_message =
    "From: DMARC reports <dmarc-noreply@example.test>\n"
    "To: rua@receiver.example\n"
    "Subject: Report Domain: sender.example Submitter: example.test Report-ID: <1>\n"
    "Date: Sun, 22 Nov 2026 10:00:00 +0000\n"
    "Message-ID: <report-1@example.test>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: text/plain\n"
    "\n"
    "A DMARC aggregate report.\n";

} // namespace

BOOST_AUTO_TEST_SUITE(signing)

BOOST_FIXTURE_TEST_CASE(the_configuration_sets_keys_and_options, SigningFixture) {
    const auto config = config_of(config_text("dkim_sign_canonicalization = simple/relaxed\n"
                                              "dkim_signature_lifetime = 7d\n"
                                              "dkim_sign_headers = Subject\n"
                                              "dkim_oversign_headers = To\n"
                                              "[actions]\non_sign_error = accept\n"));
    std::vector<std::string> errors;
    const auto signing = engine::load_signing(*config, &errors);
    BOOST_REQUIRE(signing);
    BOOST_TEST(signing->enabled());
    BOOST_TEST((signing->options.header_canon == auth::DkimBodyHash::Canon::simple));
    BOOST_TEST((signing->options.body_canon == auth::DkimBodyHash::Canon::relaxed));
    BOOST_TEST(signing->options.lifetime_seconds == 7U * 86400);
    BOOST_TEST(signing->options.headers == std::vector<std::string>({"from", "subject", "to"}));
    BOOST_TEST((signing->on_error == config::Action::accept));
    BOOST_TEST(signing->keys.keys_for("example.test").size() == 2U);
    const auto off = engine::load_signing(*config::default_config(), &errors);
    BOOST_REQUIRE(off);
    BOOST_TEST(!off->enabled());
    BOOST_TEST((off->on_error == config::Action::tempfail));
}

BOOST_FIXTURE_TEST_CASE(unusable_keys_and_users_are_configuration_errors, SigningFixture) {
    std::vector<std::string> errors;
    const std::string open =
        write_file(dir.file("open.key"), signing_test::ed25519_key().pem(), 0640);
    BOOST_TEST(!engine::load_signing(
        *config_of("[general]\nallow_root = yes\n[signing]\ndkim_sign_key = example.test ed " +
                   open + "\n"),
        &errors));
    BOOST_REQUIRE(errors.size() == 1U);
    BOOST_TEST(errors[0].find("chmod 0600") != std::string::npos);
    if (::geteuid() == 0) { // as root the keys must belong to user, who must exist
        BOOST_TEST(!engine::load_signing(
            *config_of("[general]\nuser = no-such-user-here\n[signing]\ndkim_sign_key = "
                       "example.test ed " +
                       ed_file + "\n"),
            &errors));
        BOOST_TEST(errors.at(0).find("no such user 'no-such-user-here'") != std::string::npos);
    }
}

BOOST_FIXTURE_TEST_CASE(sign_message_signs_a_report_as_outbound_mail_is_signed, SigningFixture) {
    const auto signing = engine::load_signing(*config_of(config_text()), nullptr);
    BOOST_REQUIRE(signing);
    const auto now = static_cast<std::uint64_t>(std::time(nullptr));
    const auto lf = engine::sign_message(*signing, report_message, now);
    BOOST_TEST(lf.error == "");
    BOOST_REQUIRE(lf.signatures.size() == 2U);
    BOOST_TEST(lf.text.starts_with("DKIM-Signature: v=1; a=ed25519-sha256;"));
    BOOST_TEST(lf.text.ends_with(report_message));
    BOOST_TEST(lf.text.find('\r') == std::string::npos); // the message's own line ends
    BOOST_TEST(verify_text(lf.text) == std::vector<std::string>({"pass", "pass"}));
    std::string crlf_message;
    for (const char c : report_message)
        crlf_message += c == '\n' ? std::string("\r\n") : std::string(1, c);
    const auto crlf = engine::sign_message(*signing, crlf_message, now);
    BOOST_TEST(crlf.text.find("\r\n\t") != std::string::npos);
    BOOST_TEST(verify_text(crlf.text) == std::vector<std::string>({"pass", "pass"}));
    // dkimpy reads the LF form as a file on disk holds it.
    const std::string path = write_file(dir.file("report.eml"), lf.text, 0600);
    const std::string keys =
        write_file(dir.file("keys.txt"),
                   "ed._domainkey.example.test " + signing_test::ed25519_key().key_record() + "\n" +
                       "rsa._domainkey.example.test " + signing_test::rsa_key().key_record() + "\n",
                   0600);
    test::ChildProcess python({"/usr/bin/python3",
                               (test::source_directory() / "tests/unit/dkimpy-verify.py").string(),
                               keys, path},
                              dir.file("dkimpy.out"));
    BOOST_TEST(python.wait_exit(std::chrono::seconds(60)).value_or(-1) == 0);
    BOOST_TEST(python.output() == path + " 0 pass\n" + path + " 1 pass\n");
}

BOOST_FIXTURE_TEST_CASE(sign_message_leaves_other_domains_mail_alone, SigningFixture) {
    const auto signing = engine::load_signing(*config_of(config_text()), nullptr);
    BOOST_REQUIRE(signing);
    std::string other = report_message;
    other.replace(other.find("example.test>"), 12, "example.org");
    const auto result = engine::sign_message(*signing, other, 1800000000);
    BOOST_TEST(result.text == other);
    BOOST_TEST(result.signatures.empty());
    BOOST_TEST(result.error == "");
    const auto none = engine::sign_message(engine::Signing{}, report_message, 1800000000);
    BOOST_TEST(none.text == report_message);
}

BOOST_AUTO_TEST_SUITE_END()
