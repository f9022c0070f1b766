// DKIM signing as the configuration sets it up (lib/engine/signing): the key table and
// options built from a snapshot, and sign_message() for mail mailwarden writes itself,
// verified by our verifier and dkimpy.
#include "auth/dkim_verify.hh"
#include "child_process.hh"
#include "dkim_test_signer.hh"
#include "dns/fake_resolver.hh"
#include "engine/engine.hh"
#include "engine/message_text.hh"
#include "engine/signing.hh"
#include "signing_keys.hh"

#include <boost/test/unit_test.hpp>

#include <ctime>
#include <map>

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
std::vector<std::string> verify_text(const std::string& text, const std::string& more_zone = "") {
    std::vector<std::string> words;
    for (const auto& result : signing_test::verify_with_ours(text, zone() + more_zone))
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

std::string with_lf(std::string_view text) {
    std::string out;
    for (const char c : text)
        if (c != '\r')
            out += c;
    return out;
}

// An Engine of `text` with no state store; DNS answers nothing (outbound mail asks none).
struct EngineRun {
    explicit EngineRun(const std::string& text)
        : engine(config_of(text), resolver,
                 std::make_shared<const auth::PublicSuffixList>(
                     auth::PublicSuffixList::from_text("test\n")),
                 nullptr) {}

    // Starts a message from client_ip (and SASL user) and feeds its header fields.
    engine::MessageEvaluation start(const std::string& client_ip, const std::string& user,
                                    const std::string& message) {
        auto evaluation = engine.evaluate({.client_ip = client_ip, .client_name = "", .helo = ""});
        evaluation.mail_from("alice@example.test", user);
        evaluation.recipient("bob@receiver.example");
        feed_message(evaluation, message);
        return evaluation;
    }
    engine::Report run(const std::string& client_ip, const std::string& user,
                       const std::string& message) {
        return start(client_ip, user, message).end_of_message();
    }

    dns::FakeResolver resolver = dns::FakeResolver::from_text("");
    engine::Engine engine;
};

// The message as the MTA passes it on: the fields the verdict adds on top (the milter
// inserts each at position 0, so the last added comes first).
std::string delivered(const engine::Report& report, const std::string& message) {
    std::string text = with_lf(message);
    for (const auto& [name, value] : report.verdict.add_headers)
        text = name + ": " + with_lf(value) + "\n" + text;
    return text;
}

} // namespace

BOOST_AUTO_TEST_SUITE(signing)

BOOST_FIXTURE_TEST_CASE(the_engine_signs_outbound_mail_only, SigningFixture) {
    std::string text = config_text();
    text.replace(0, 10, "[general]\ninternal_networks = 10.0.0.0/8\n");
    EngineRun run(text);
    const engine::Report internal = run.run("10.1.2.3", "", report_message);
    BOOST_TEST(internal.signing == "signed");
    BOOST_TEST(internal.signing_domain == "example.test");
    BOOST_REQUIRE(internal.signatures.size() == 2U);
    BOOST_TEST(internal.verdict.add_headers.size() == 2U);
    BOOST_TEST(verify_text(delivered(internal, report_message)) ==
               std::vector<std::string>({"pass", "pass"}));
    std::vector<std::string_view> timed;
    internal.timing.for_each_check([&](const auto& entry) { timed.push_back(entry.check); });
    BOOST_TEST((std::ranges::find(timed, "sign") != timed.end()));
    util::LogRecord line(util::Severity::debug);
    engine::add_summary_fields(line, internal);
    BOOST_TEST(line.str().find("outbound=yes sign=signed d=example.test s=ed,rsa") !=
                   std::string::npos,
               line.str());
    const engine::Report authenticated = run.run("192.0.2.1", "alice", report_message);
    BOOST_TEST(authenticated.signing == "signed");
    BOOST_TEST(verify_text(delivered(authenticated, report_message)) ==
               std::vector<std::string>({"pass", "pass"}));
    const engine::Report inbound = run.run("192.0.2.1", "", report_message);
    BOOST_TEST(inbound.signing == "off");
    BOOST_TEST(inbound.signatures.empty());
    for (const auto& [name, value] : inbound.verdict.add_headers)
        BOOST_TEST(name != "DKIM-Signature");
    std::string other = report_message;
    other.replace(other.find("example.test>"), 12, "example.org");
    const engine::Report unsigned_mail = run.run("10.1.2.3", "", other);
    BOOST_TEST(unsigned_mail.signing == "no_key");
    BOOST_TEST(unsigned_mail.signing_domain == "example.org");
    BOOST_TEST(unsigned_mail.verdict.add_headers.empty());
    BOOST_TEST((unsigned_mail.verdict.action == engine::Action::accept));
}

// The shipped defaults (no [signing] option set but the keys): relaxed/relaxed, t= and no x=,
// the default header list with From, To, Cc, Subject, Date and Reply-To listed once more than
// present, and both key types side by side over one body hash.
BOOST_FIXTURE_TEST_CASE(the_shipped_defaults_sign_as_the_manual_says, SigningFixture) {
    EngineRun run(config_text());
    const engine::Report report = run.run("", "", report_message);
    BOOST_REQUIRE(report.signatures.size() == 2U);
    std::vector<std::map<std::string, std::string>> tags;
    for (const auto& signature : report.signatures) {
        std::string value;
        for (const char c : signature.value)
            if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
                value += c;
        auto& tag = tags.emplace_back();
        for (std::size_t at = 0; at < value.size();) {
            const std::size_t end = std::min(value.find(';', at), value.size());
            const std::string item = value.substr(at, end - at);
            if (const std::size_t equals = item.find('='); equals != std::string::npos)
                tag[item.substr(0, equals)] = item.substr(equals + 1);
            at = end + 1;
        }
        BOOST_TEST(tag["c"] == "relaxed/relaxed");
        BOOST_TEST(!tag["t"].empty());
        BOOST_TEST(!tag.contains("x"));
        std::map<std::string, int> listed;
        for (std::size_t at = 0; at <= tag["h"].size();) {
            const std::size_t end = std::min(tag["h"].find(':', at), tag["h"].size());
            ++listed[tag["h"].substr(at, end - at)];
            at = end + 1;
        }
        const std::map<std::string, int> expected = {
            {"from", 2},     {"to", 2},         {"subject", 2},      {"date", 2},        {"cc", 1},
            {"reply-to", 1}, {"message-id", 1}, {"mime-version", 1}, {"content-type", 1}};
        BOOST_TEST((listed == expected), tag["h"]);
    }
    BOOST_TEST(tags[0]["bh"] == tags[1]["bh"]);
    BOOST_TEST(tags[0]["a"] != tags[1]["a"]);
}

// dkim_sign_subdomains: a subdomain's mail is signed with its parent's keys, d= the parent,
// and the log line names the d= signed, not the From domain.
BOOST_FIXTURE_TEST_CASE(a_subdomain_signed_with_the_parents_keys_logs_the_parent, SigningFixture) {
    EngineRun run(config_text("dkim_sign_subdomains = yes\n"));
    std::string message = report_message;
    message.replace(message.find("@example.test>"), 14, "@news.example.test>");
    const engine::Report report = run.run("", "", message);
    BOOST_TEST(report.signing == "signed");
    BOOST_TEST(report.signing_domain == "news.example.test");
    BOOST_REQUIRE(report.signatures.size() == 2U);
    BOOST_TEST(report.signatures.front().domain == "example.test");
    BOOST_TEST(verify_text(delivered(report, message)) ==
               std::vector<std::string>({"pass", "pass"}));
    util::LogRecord line(util::Severity::debug);
    engine::add_summary_fields(line, report);
    BOOST_TEST(line.str().find("sign=signed d=example.test s=ed,rsa") != std::string::npos,
               line.str());
}

BOOST_FIXTURE_TEST_CASE(a_signature_that_cannot_be_made_gets_on_sign_error, SigningFixture) {
    // Signed header fields over auth::max_signed_header_bytes cannot be signed.
    const std::string huge =
        "Subject: " + std::string(auth::max_signed_header_bytes, 'x') + "\n" + report_message;
    EngineRun held(config_text());
    const engine::Report tempfailed = held.run("", "", huge); // local submission: outbound
    BOOST_TEST(tempfailed.signing == "error");
    BOOST_TEST(!tempfailed.signing_error.empty());
    BOOST_TEST((tempfailed.verdict.action == engine::Action::tempfail));
    BOOST_TEST(tempfailed.verdict.code == "451");
    BOOST_TEST(tempfailed.verdict.status == "4.3.0");
    BOOST_TEST(tempfailed.verdict.reason == "sign_error");
    BOOST_TEST(tempfailed.verdict.add_headers.empty());
    EngineRun sent(config_text("[actions]\non_sign_error = accept\n"));
    const engine::Report accepted = sent.run("", "", huge);
    BOOST_TEST(accepted.signing == "error");
    BOOST_TEST((accepted.verdict.action == engine::Action::accept));
    BOOST_TEST(accepted.verdict.add_headers.empty());
}

// What SIGHUP does: a new Engine from the new snapshot loads the keys again; a message in
// flight finishes on its own snapshot, signed with the keys it started with. Rotation: the
// new selector, listed last, signs; the old one stays in the table (and in DNS).
BOOST_FIXTURE_TEST_CASE(a_reload_rotates_keys_without_disturbing_messages_in_flight,
                        SigningFixture) {
    auto before = std::make_unique<EngineRun>(config_text());
    auto in_flight = before->start("", "", report_message);
    const auth::DkimPrivateKey next = auth::DkimPrivateKey::generate(auth::DkimKeyType::ed25519);
    const std::string next_file = write_file(dir.file("ed2.key"), next.pem(), 0600);
    EngineRun after(config_text("dkim_sign_key = example.test ed2 " + next_file + "\n"));
    const std::string next_zone =
        dkim_test::txt_line("ed2._domainkey.example.test", next.key_record());
    const engine::Report old_keys = in_flight.end_of_message();
    BOOST_REQUIRE(old_keys.signatures.size() == 2U);
    BOOST_TEST(old_keys.signatures[0].selector == "ed");
    BOOST_TEST(verify_text(delivered(old_keys, report_message), next_zone) ==
               std::vector<std::string>({"pass", "pass"}));
    before.reset(); // the old snapshot goes when its last message is done
    const engine::Report new_keys = after.run("", "", report_message);
    BOOST_REQUIRE(new_keys.signatures.size() == 2U);
    BOOST_TEST(new_keys.signatures[0].selector == "ed2");
    BOOST_TEST(new_keys.signatures[1].selector == "rsa");
    BOOST_TEST(verify_text(delivered(new_keys, report_message), next_zone) ==
               std::vector<std::string>({"pass", "pass"}));
    // A key made group-readable before a reload: the new snapshot cannot be built (the
    // holder then keeps the running one and logs why).
    ::chmod(next_file.c_str(), 0640);
    BOOST_CHECK_THROW(
        EngineRun(config_text("dkim_sign_key = example.test ed2 " + next_file + "\n")),
        std::runtime_error);
}

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
