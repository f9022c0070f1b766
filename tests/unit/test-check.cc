// `mailwarden check` as a process against a private test DNS server: the JSON contract of
// DESIGN.md, the text an admin reads, and the exit status of every verdict and error.
#include "child_process.hh"
#include "dkim_test_signer.hh"
#include "dns_test_server.hh"
#include "signing_keys.hh"

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using mailwarden::test::ChildProcess;
using mailwarden::test::DnsTestServer;

namespace {

std::string zone() {
    using mailwarden::dkim_test::rsa_2048;
    using mailwarden::dkim_test::txt_line;
    return "example.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
           "_dmarc.example.test TXT \"v=DMARC1; p=reject\"\n" +
           txt_line("s1._domainkey.example.test", "v=DKIM1; k=rsa; p=" + rsa_2048().public_base64) +
           "other.test TXT \"v=spf1 ip4:192.0.2.10 -all\"\n"
           "_dmarc.bank.test TXT \"v=DMARC1; p=reject\"\n"
           "_dmarc.careful.test TXT \"v=DMARC1; p=quarantine\"\n"
           "_dmarc.slow.test TIMEOUT\n" +
           txt_line("ed._domainkey.example.test",
                    mailwarden::signing_test::ed25519_key().key_record()) +
           txt_line("rsa._domainkey.example.test",
                    mailwarden::signing_test::rsa_key().key_record());
}

struct CheckRun {
    int status;
    std::string output;
};

struct CheckFixture {
    CheckFixture() {
        char pattern[] = "/tmp/mw-check-XXXXXX";
        dir = ::mkdtemp(pattern);
        std::ofstream(dir + "/test.conf") << "[general]\nauthserv_id = mx.test\n"
                                             "internal_networks = 10.0.0.0/8\n"
                                             "[dns]\ndns_timeout = 1s\n";
    }
    ~CheckFixture() { fs::remove_all(dir); }

    static DnsTestServer& dns() {
        static const std::unique_ptr<DnsTestServer> server = DnsTestServer::with_zone(zone());
        return *server;
    }

    std::string write(const std::string& name, const std::string& text) {
        const std::string path = dir + "/" + name;
        std::ofstream(path, std::ios::binary) << text;
        return path;
    }

    CheckRun run(std::vector<std::string> arguments, std::string config_file = "") {
        arguments.insert(arguments.begin(),
                         {(mailwarden::test::build_directory() / "tools/mailwarden").string(),
                          "check", "-c", config_file.empty() ? dir + "/test.conf" : config_file,
                          "--dns", dns().address()});
        ChildProcess tool(arguments, dir + "/output");
        const auto status = tool.wait_exit(60s);
        return {status.value_or(-1), tool.output()};
    }

    static boost::property_tree::ptree parse(const std::string& json) {
        std::istringstream in(json);
        boost::property_tree::ptree tree;
        boost::property_tree::read_json(in, tree);
        return tree;
    }

    std::string dir;
};

std::string signed_message() {
    auto message = mailwarden::dkim_test::sample_message();
    mailwarden::dkim_test::sign(message,
                                {.key = &mailwarden::dkim_test::rsa_2048(), .selector = "s1"});
    return mailwarden::dkim_test::to_text(message);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(check_command, CheckFixture)

BOOST_AUTO_TEST_CASE(json_for_a_passing_message_follows_the_contract) {
    const auto message = write("good.eml", signed_message());
    const CheckRun result = run({"--client-ip", "192.0.2.10", "--helo", "mail.example.test",
                                 "--mail-from", "alice@example.test", "--format", "json", message});
    BOOST_TEST(result.status == 0, result.output);
    const auto json = parse(result.output);
    BOOST_TEST(json.get<std::string>("spf.result") == "pass");
    BOOST_TEST(json.get<std::string>("spf.scope") == "mailfrom");
    BOOST_TEST(json.get<std::string>("spf.domain") == "example.test");
    const auto& dkim = json.get_child("dkim");
    BOOST_REQUIRE_EQUAL(dkim.size(), 1u);
    BOOST_TEST(dkim.front().second.get<std::string>("result") == "pass");
    BOOST_TEST(dkim.front().second.get<std::string>("selector") == "s1");
    BOOST_TEST(dkim.front().second.get<int>("bits") == 2048);
    BOOST_TEST(json.get<std::string>("dmarc.result") == "pass");
    BOOST_TEST(json.get<std::string>("dmarc.policy") == "reject");
    BOOST_TEST(json.get<std::string>("dmarc.disposition") == "none");
    BOOST_TEST(json.get<std::string>("verdict.action") == "accept");
    BOOST_TEST(json.get<std::string>("verdict.code") == "250");
    BOOST_TEST(json.get<std::string>("authentication_results").starts_with("mx.test; spf=pass"));
}

BOOST_AUTO_TEST_CASE(text_explains_a_dmarc_rejection_and_exits_1) {
    const auto message = write("spoof.eml", "From: ceo@bank.test\nSubject: pay\n\nnow\n");
    const CheckRun result = run({"--client-ip", "192.0.2.10", "--helo", "mx.other.test",
                                 "--mail-from", "x@other.test", message});
    BOOST_TEST(result.status == 1, result.output);
    BOOST_TEST(result.output.find("DMARC fail: From bank.test, p=reject, SPF pass for other.test "
                                  "not aligned, no DKIM signature") != std::string::npos,
               result.output);
    BOOST_TEST(result.output.find("reject 550 5.7.1") != std::string::npos, result.output);
}

BOOST_AUTO_TEST_CASE(exit_status_tells_tempfail_and_quarantine) {
    const auto quarantined = write("q.eml", "From: a@careful.test\n\nx\n");
    BOOST_TEST(
        run({"--client-ip", "192.0.2.10", "--mail-from", "x@other.test", quarantined}).status == 3);
    const auto slow = write("slow.eml", "From: a@slow.test\n\nx\n");
    const CheckRun tempfail =
        run({"--client-ip", "192.0.2.10", "--mail-from", "x@other.test", "--format", "json", slow});
    BOOST_TEST(tempfail.status == 2, tempfail.output);
    BOOST_TEST(parse(tempfail.output).get<std::string>("verdict.code") == "451");
}

BOOST_AUTO_TEST_CASE(message_from_stdin_and_outbound_user) {
    // "-" (and no MESSAGE at all) read stdin; /dev/null gives an empty message here.
    const CheckRun result =
        run({"--client-ip", "192.0.2.99", "--auth-user", "alice", "--format", "json", "/dev/null"});
    BOOST_TEST(result.status == 0, result.output);
    BOOST_TEST(parse(result.output).get<bool>("outbound") == true);
}

BOOST_AUTO_TEST_CASE(text_and_json_show_the_time_of_each_check_that_ran) {
    const auto message = write("timed.eml", signed_message());
    const std::vector<std::string> arguments = {
        "--client-ip", "192.0.2.10",         "--helo", "mail.example.test",
        "--mail-from", "alice@example.test", message};
    const CheckRun text = run(arguments);
    BOOST_TEST(text.status == 0, text.output);
    const std::regex timing_line("\nTiming    from [0-9]+\\.[0-9]{2} ms, spf [0-9.]+ ms, dkim "
                                 "[0-9.]+ ms, dmarc [0-9.]+ ms, decision [0-9.]+ ms, authres "
                                 "[0-9.]+ ms; [0-9]+\\.[0-9] ms in all\n");
    BOOST_TEST(std::regex_search(text.output, timing_line), text.output);
    std::vector<std::string> json_arguments = arguments;
    json_arguments.insert(json_arguments.end() - 1, {"--format", "json"});
    const CheckRun json = run(json_arguments);
    const auto timing = parse(json.output).get_child("timing_ms");
    std::vector<std::string> names;
    for (const auto& [name, value] : timing) {
        names.push_back(name);
        BOOST_TEST(value.get_value<double>() >= 0.0);
    }
    BOOST_TEST(names == (std::vector<std::string>{"from", "spf", "dkim", "dmarc", "decision",
                                                  "authres", "total"}),
               boost::test_tools::per_element());
    BOOST_TEST(timing.get<double>("total") >= timing.get<double>("spf"));
}

// Outbound mail (--auth-user) is shown with the DKIM-Signature fields the milter would add;
// added to the message, they verify when it comes back inbound.
BOOST_AUTO_TEST_CASE(auth_user_shows_the_signatures_it_would_add_and_they_verify) {
    using mailwarden::signing_test::write_file;
    const std::string ed =
        write_file(dir + "/ed.key", mailwarden::signing_test::ed25519_key().pem(), 0600);
    const std::string rsa =
        write_file(dir + "/rsa.key", mailwarden::signing_test::rsa_key().pem(), 0600);
    const std::string config =
        write("sign.conf", "[general]\nauthserv_id = mx.test\nallow_root = yes\n"
                           "[dns]\ndns_timeout = 1s\n[signing]\ndkim_sign_key = example.test ed " +
                               ed + "\ndkim_sign_key = example.test rsa " + rsa + "\n");
    const std::string body = "From: Alice <alice@example.test>\nTo: bob@other.test\n"
                             "Subject: hello\nDate: Sat, 05 Dec 2026 07:00:00 +0000\n"
                             "Message-ID: <1@example.test>\n\nHi Bob.\n";
    const auto message = write("out.eml", body);
    const CheckRun text =
        run({"--client-ip", "192.0.2.99", "--auth-user", "alice", message}, config);
    BOOST_TEST(text.status == 0, text.output);
    BOOST_TEST(text.output.find("\nSigning   signed (From domain example.test)\n") !=
                   std::string::npos,
               text.output);
    BOOST_TEST(text.output.find("\nDKIM-Signature: v=1; a=ed25519-sha256; ") != std::string::npos);
    BOOST_TEST(text.output.find("\nDKIM-Signature: v=1; a=rsa-sha256; ") != std::string::npos);
    BOOST_TEST(text.output.find(", sign ") != std::string::npos); // its time on the Timing line
    const CheckRun json = run(
        {"--client-ip", "192.0.2.99", "--auth-user", "alice", "--format", "json", message}, config);
    BOOST_TEST(json.status == 0, json.output);
    const auto signing = parse(json.output).get_child("signing");
    BOOST_TEST(signing.get<std::string>("result") == "signed");
    std::string signed_text;
    for (const auto& [unused, signature] : signing.get_child("signatures"))
        signed_text += signature.get<std::string>("header") + "\r\n";
    BOOST_TEST(signing.get_child("signatures").size() == 2U);
    const auto inbound = write("in.eml", signed_text + body);
    const CheckRun verified = run({"--client-ip", "192.0.2.10", "--mail-from", "alice@example.test",
                                   "--format", "json", inbound});
    const auto dkim = parse(verified.output).get_child("dkim");
    std::vector<std::string> results;
    for (const auto& [unused, signature] : dkim)
        results.push_back(signature.get<std::string>("result"));
    BOOST_TEST(results == (std::vector<std::string>{"pass", "pass"}), verified.output);
    // Mail of a domain without a key goes unsigned, and says so.
    const auto other = write("other.eml", "From: carol@other.test\n\nHi.\n");
    const CheckRun unsigned_mail =
        run({"--client-ip", "192.0.2.99", "--auth-user", "carol", other}, config);
    BOOST_TEST(unsigned_mail.output.find("\nSigning   no_key (From domain other.test)\n") !=
                   std::string::npos,
               unsigned_mail.output);
}

BOOST_AUTO_TEST_CASE(usage_config_and_input_errors_have_their_own_status) {
    BOOST_TEST(run({"--helo", "x"}).status == 64); // --client-ip is required
    BOOST_TEST(run({"--client-ip", "not-an-ip", "/dev/null"}).status == 64);
    BOOST_TEST(run({"--client-ip", "192.0.2.1", "--format", "xml", "/dev/null"}).status == 64);
    BOOST_TEST(run({"--client-ip", "192.0.2.1", dir + "/missing.eml"}).status == 66);
    const auto bad = write("bad.conf", "[actions]\ndmarc_reject_action = maybe\n");
    const CheckRun config_error = run({"--client-ip", "192.0.2.1", "/dev/null"}, bad);
    BOOST_TEST(config_error.status == 78, config_error.output);
    BOOST_TEST(config_error.output.find("dmarc_reject_action") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
