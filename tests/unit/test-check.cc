// `mailwarden check` as a process against a private test DNS server: the JSON contract of
// DESIGN.md, the text an admin reads, and the exit status of every verdict and error.
#include "child_process.hh"
#include "dkim_test_signer.hh"
#include "dns_test_server.hh"
#include "signing_keys.hh"

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using mailwarden::test::ChildProcess;
using mailwarden::test::DnsTestServer;

namespace {

const mailwarden::dkim_test::TestKey& ed25519_key() {
    static const auto key = mailwarden::dkim_test::make_key("ED25519", 0);
    return key;
}

std::string zone() {
    using mailwarden::dkim_test::rsa_2048;
    using mailwarden::dkim_test::txt_line;
    return "example.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
           "_dmarc.example.test TXT \"v=DMARC1; p=reject\"\n" +
           txt_line("s1._domainkey.example.test", "v=DKIM1; k=rsa; p=" + rsa_2048().public_base64) +
           txt_line("ed._domainkey.example.test",
                    "v=DKIM1; k=ed25519; p=" + ed25519_key().public_base64) +
           txt_line("revoked._domainkey.example.test", "v=DKIM1; k=rsa; p=") +
           txt_line("edasrsa._domainkey.example.test",
                    "v=DKIM1; k=rsa; p=" + ed25519_key().public_base64) +
           "other.test TXT \"v=spf1 ip4:192.0.2.10 -all\"\n"
           "_dmarc.bank.test TXT \"v=DMARC1; p=reject\"\n"
           "_dmarc.careful.test TXT \"v=DMARC1; p=quarantine\"\n"
           "_dmarc.slow.test TIMEOUT\n"
           "_dmarc.broken.test TXT \"v=DMARC1; p=bogus\"\n" +
           txt_line("signed._domainkey.example.test",
                    mailwarden::signing_test::ed25519_key().key_record()) +
           txt_line("rsa._domainkey.example.test",
                    mailwarden::signing_test::rsa_key().key_record()) +
           "xn--bcher-kva.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
           "_dmarc.xn--bcher-kva.test TXT \"v=DMARC1; p=reject\"\n" +
           txt_line("s1._domainkey.xn--bcher-kva.test",
                    "v=DKIM1; k=rsa; p=" + rsa_2048().public_base64);
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

std::string signed_message(const mailwarden::dkim_test::SignSpec& spec = {
                               .key = &mailwarden::dkim_test::rsa_2048(), .selector = "s1"}) {
    auto message = mailwarden::dkim_test::sample_message();
    mailwarden::dkim_test::sign(message, spec);
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
    const auto strict = write("strict.conf", "[general]\nauthserv_id = mx.test\n"
                                             "[actions]\ndmarc_reject_action = reject\n");
    const CheckRun result = run({"--client-ip", "192.0.2.10", "--helo", "mx.other.test",
                                 "--mail-from", "x@other.test", message},
                                strict);
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

BOOST_AUTO_TEST_CASE(the_4_4_3_text_names_the_dns_lookup_that_failed) {
    const auto slow = write("slow.eml", "From: a@slow.test\n\nx\n");
    const CheckRun held =
        run({"--client-ip", "192.0.2.10", "--mail-from", "x@other.test", "--format", "json", slow});
    BOOST_TEST(held.status == 2, held.output);
    BOOST_TEST(parse(held.output).get<std::string>("verdict.text") ==
                   "DNS error looking up _dmarc.slow.test, try again later",
               held.output);
}

// Issue 15 item 7: the "dmarc" method's result words in the JSON and our header alike.
BOOST_AUTO_TEST_CASE(dmarc_permerror_for_a_broken_record_and_a_from_without_a_domain) {
    const auto broken = write("broken.eml", "From: a@broken.test\n\nx\n");
    const CheckRun record = run(
        {"--client-ip", "192.0.2.10", "--mail-from", "x@other.test", "--format", "json", broken});
    BOOST_TEST(record.status == 0, record.output);
    const auto json = parse(record.output);
    BOOST_TEST(json.get<std::string>("dmarc.result") == "permerror");
    BOOST_TEST(json.get<std::string>("dmarc.from_domain") == "broken.test");
    const auto header = json.get<std::string>("authentication_results");
    BOOST_TEST(header.find("dmarc=permerror header.from=broken.test") != std::string::npos, header);

    const auto nobody = write("nobody.eml", "From: alice\nSubject: x\n\nx\n");
    const CheckRun missing = run(
        {"--client-ip", "192.0.2.10", "--mail-from", "x@other.test", "--format", "json", nobody});
    BOOST_TEST(missing.status == 1, missing.output); // from_header_action decides, as before
    const auto refused = parse(missing.output);
    BOOST_TEST(refused.get<std::string>("verdict.reason") == "from_no_domain");
    BOOST_TEST(refused.get<std::string>("dmarc.result") == "permerror");
    const auto value = refused.get<std::string>("authentication_results");
    BOOST_TEST(value.find("dmarc=permerror reason=\"From header: no_domain\" header.from=none") !=
                   std::string::npos,
               value);
}

// dmarc_discovery reaches the engine: the RFC 9989 tree walk by default, the Public Suffix
// List when asked, and the JSON names the method that found the policy.
BOOST_AUTO_TEST_CASE(the_discovery_method_follows_the_configuration) {
    const auto path = write("sub.eml", "From: x@news.example.test\nSubject: hi\n\nx\n");
    const std::vector<std::string> arguments = {
        "--client-ip", "192.0.2.10", "--mail-from", "x@example.test", "--format", "json", path};
    const auto psl = write("psl.conf", "[general]\nauthserv_id = mx.test\n[auth]\n"
                                       "dmarc_discovery = psl\npublic_suffix_list = " +
                                           write("psl.dat", "test\n") + "\n");
    for (const auto& [config, method] :
         {std::pair{std::string(), "treewalk"}, std::pair{psl, "psl"}}) {
        const CheckRun checked = run(arguments, config);
        BOOST_TEST_CONTEXT(method << ": " << checked.output) {
            const auto json = parse(checked.output);
            BOOST_TEST(json.get<std::string>("dmarc.discovery_method") == method);
            BOOST_TEST(json.get<std::string>("dmarc.record_domain") == "example.test");
            BOOST_TEST(json.get<std::string>("dmarc.organizational_domain") == "example.test");
        }
    }
    const CheckRun broken = run(arguments, write("bad.conf", "[auth]\ndmarc_discovery = dns\n"));
    BOOST_TEST(broken.status == 78, broken.output);
}

// RFC 9989 §11.5: each author domain evaluated, the strictest reported, and its policy decides
// once from_header_action lets the message go on.
BOOST_AUTO_TEST_CASE(several_author_domains_report_the_failing_one) {
    const auto path = write("two.eml", "From: x@other.test, ceo@bank.test\n"
                                       "Sender: x@other.test\nSubject: pay\n\nnow\n");
    const std::vector<std::string> arguments = {
        "--client-ip", "192.0.2.10", "--mail-from", "x@other.test", "--format", "json", path};
    const CheckRun refused = run(arguments);
    BOOST_TEST(refused.status == 1, refused.output);
    const auto json = parse(refused.output);
    BOOST_TEST(json.get<std::string>("verdict.reason") == "from_multiple_addresses");
    BOOST_TEST(json.get<std::string>("dmarc.result") == "fail");
    BOOST_TEST(json.get<std::string>("dmarc.from_domain") == "bank.test");
    BOOST_TEST(json.get<std::string>("dmarc.policy") == "reject");
    const auto& authors = json.get_child("dmarc.author_domains");
    BOOST_REQUIRE_EQUAL(authors.size(), 2u);
    BOOST_TEST(authors.front().second.get<std::string>("domain") == "other.test");
    BOOST_TEST(authors.front().second.get<std::string>("result") == "none");
    BOOST_TEST(authors.back().second.get<std::string>("result") == "fail");
    const auto header = json.get<std::string>("authentication_results");
    // One result: the failing domain and its policy belong to the dmarc=fail.
    BOOST_TEST(
        std::regex_search(
            header, std::regex("dmarc=fail[^;]*header\\.from=bank\\.test policy\\.dmarc=reject")),
        header);

    const auto lenient = write("lenient.conf", "[general]\nauthserv_id = mx.test\n"
                                               "[actions]\nfrom_header_action = none\n"
                                               "dmarc_reject_action = reject\n");
    const CheckRun rejected = run(arguments, lenient);
    BOOST_TEST(rejected.status == 1, rejected.output);
    BOOST_TEST(parse(rejected.output).get<std::string>("verdict.reason") == "dmarc_reject");
}

BOOST_AUTO_TEST_CASE(authentication_results_bound_a_huge_local_part_and_200_signatures) {
    std::string message;
    for (int i = 0; i < 200; ++i)
        message += "DKIM-Signature: v=1; a=rsa-sha256; d=d" + std::to_string(i) +
                   ".attacker.test; s=s; h=from; bh=AAAA; b=AAAA\n";
    message += "From: alice@example.test\nSubject: x\n\nbody\n";
    const auto path = write("many.eml", message);
    const CheckRun result =
        run({"--client-ip", "192.0.2.10", "--mail-from", std::string(2000, 'a') + "@example.test",
             "--format", "json", path});
    BOOST_TEST(result.status == 0, result.output);
    const auto json = parse(result.output);
    BOOST_TEST(json.get_child("dkim").size() == 5u);
    BOOST_TEST(json.get<int>("dkim_not_evaluated") == 195);
    const auto value = json.get<std::string>("authentication_results");
    BOOST_TEST(value.size() < 1000u, value);
    BOOST_TEST(value.find("smtp.mailfrom=example.test;") != std::string::npos, value);
    BOOST_TEST(value.find("reason=\"195 more signatures not evaluated\"") != std::string::npos,
               value);
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

// RFC 6376 §6.1.2: a revoked key (empty p=) and a key record whose k= is not the
// signature algorithm's key type are PERMFAIL, in the JSON and in Authentication-Results.
BOOST_AUTO_TEST_CASE(revoked_and_mistyped_keys_are_permerror_in_json_and_header) {
    using mailwarden::dkim_test::SignSpec;
    const std::vector<std::pair<SignSpec, std::string>> cases{
        {{.key = &mailwarden::dkim_test::rsa_2048(), .selector = "revoked"}, "key revoked"},
        {{.key = &ed25519_key(), .selector = "edasrsa", .algorithm = DKIM_SIGN_ED25519SHA256},
         "key type does not match the algorithm"},
    };
    for (const auto& [spec, reason] : cases) {
        const auto message = write("key.eml", signed_message(spec));
        const CheckRun result = run({"--client-ip", "192.0.2.10", "--mail-from",
                                     "alice@example.test", "--format", "json", message});
        const auto json = parse(result.output);
        const auto& dkim = json.get_child("dkim");
        BOOST_REQUIRE_EQUAL(dkim.size(), 1u);
        BOOST_TEST(dkim.front().second.get<std::string>("result") == "permerror", result.output);
        BOOST_TEST(dkim.front().second.get<std::string>("reason") == reason);
        const auto header = json.get<std::string>("authentication_results");
        BOOST_TEST(header.find("dkim=permerror reason=\"" + reason + "\"") != std::string::npos,
                   header);
    }
}

// A file whose last line has no line end is handed over as an MTA hands it over, completed
// with CRLF: a 100 KB Ed25519-signed message and an l=-signed one pass.
BOOST_AUTO_TEST_CASE(message_without_a_final_newline_is_completed_as_an_mta_does) {
    using mailwarden::dkim_test::SignSpec;
    const std::vector<SignSpec> specs{
        {.key = &ed25519_key(), .selector = "ed", .algorithm = DKIM_SIGN_ED25519SHA256},
        {.key = &mailwarden::dkim_test::rsa_2048(),
         .selector = "s1",
         .body_canon = DKIM_CANON_SIMPLE,
         .length_tag = true}};
    for (const SignSpec& spec : specs) {
        auto message = mailwarden::dkim_test::sample_message();
        message.body.clear();
        for (int line = 0; message.body.size() < 100 * 1024; ++line)
            message.body += "line " + std::to_string(line) + " of a long message body\r\n";
        message.body += "the last line";
        message.body += "\r\n"; // signed as the MTA will hand it over
        mailwarden::dkim_test::sign(message, spec);
        std::string text = mailwarden::dkim_test::to_text(message);
        text.resize(text.size() - 2);
        for (const bool lf_only : {false, true}) {
            std::string file = text;
            if (lf_only)
                std::erase(file, '\r');
            const CheckRun result =
                run({"--client-ip", "192.0.2.10", "--mail-from", "alice@example.test", "--format",
                     "json", write("open.eml", file)});
            const auto json = parse(result.output);
            const auto& dkim = json.get_child("dkim");
            BOOST_REQUIRE_EQUAL(dkim.size(), 1u);
            BOOST_TEST(dkim.front().second.get<std::string>("result") == "pass",
                       spec.selector << (lf_only ? ", LF" : ", CRLF") << ": " << result.output);
        }
    }
}

// Outbound mail (--auth-user) is shown with the DKIM-Signature fields the milter would add;
// added to the message, they verify when it comes back inbound.
BOOST_AUTO_TEST_CASE(auth_user_shows_the_signatures_it_would_add_and_they_verify) {
    using mailwarden::signing_test::write_file;
    const std::string ed =
        write_file(dir + "/ed.key", mailwarden::signing_test::ed25519_key().pem(), 0600);
    const std::string rsa =
        write_file(dir + "/rsa.key", mailwarden::signing_test::rsa_key().pem(), 0600);
    const std::string config = write(
        "sign.conf", "[general]\nauthserv_id = mx.test\nallow_root = yes\n"
                     "[dns]\ndns_timeout = 1s\n[signing]\ndkim_sign_key = example.test signed " +
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

// Issue 15, item 8 (RFC 6531, 6532, 8616): an author and a sender in U-labels are the A-label
// domain for SPF and DMARC (discovery, alignment with SPF and with DKIM's d=, written in
// A-labels or U-labels); our header names A-labels only. A domain that is not UTF-8
// is malformed: SPF none without a lookup, and the From check refuses it.
BOOST_AUTO_TEST_CASE(u_label_domains_are_authenticated_as_their_a_labels) {
    const std::string u_domain = "b\xc3\xbc"
                                 "cher.test";
    auto message = mailwarden::dkim_test::sample_message("Info <info@" + u_domain + ">");
    mailwarden::dkim_test::sign(message, {.key = &mailwarden::dkim_test::rsa_2048(),
                                          .selector = "s1",
                                          .domain = "xn--bcher-kva.test"}); // RFC 6376 §3.5
    const auto path = write("eai.eml", mailwarden::dkim_test::to_text(message));
    const CheckRun result =
        run({"--client-ip", "192.0.2.10", "--helo", "mail." + u_domain, "--mail-from",
             "j\xc3\xb6rg@" + u_domain, "--format", "json", path});
    BOOST_TEST(result.status == 0, result.output);
    const auto json = parse(result.output);
    BOOST_TEST(json.get<std::string>("spf.result") == "pass");
    BOOST_TEST(json.get<std::string>("spf.domain") == "xn--bcher-kva.test");
    BOOST_REQUIRE_EQUAL(json.get_child("dkim").size(), 1u);
    BOOST_TEST(json.get_child("dkim").front().second.get<std::string>("result") == "pass");
    BOOST_TEST(json.get_child("dkim").front().second.get<std::string>("domain") ==
               "xn--bcher-kva.test");
    BOOST_TEST(json.get<std::string>("dmarc.result") == "pass");
    BOOST_TEST(json.get<std::string>("dmarc.from_domain") == "xn--bcher-kva.test");
    const std::string header = json.get<std::string>("authentication_results");
    BOOST_TEST(header.starts_with("mx.test; spf=pass smtp.mailfrom=xn--bcher-kva.test; "
                                  "dkim=pass header.d=xn--bcher-kva.test header.s=s1 "
                                  "header.a=rsa-sha256; dmarc=pass "),
               header);
    BOOST_TEST(header.ends_with(" header.from=xn--bcher-kva.test"), header);
    BOOST_TEST(std::none_of(header.begin(), header.end(),
                            [](char c) { return static_cast<unsigned char>(c) >= 0x80; }),
               header);

    // d= in U-labels (RFC 8616 §4; our signer writes it, libopendkim's refuses to): the key
    // is the A-labels' and DMARC aligns with it; a sender of another domain takes SPF out.
    auto u_signed = mailwarden::dkim_test::sample_message("Info <info@" + u_domain + ">");
    std::string error;
    const auto key = mailwarden::auth::DkimPrivateKey::from_pem(
        mailwarden::dkim_test::rsa_2048().private_pem, "test key", &error);
    BOOST_TEST_REQUIRE(key.has_value(), error);
    mailwarden::auth::DkimSignOptions options;
    options.headers = mailwarden::auth::signed_header_names(std::vector<std::string>{"From"}, {});
    BOOST_TEST_REQUIRE(
        mailwarden::dkim_test::sign_with_ours(
            u_signed, options,
            {{u_domain, "s1", std::make_shared<const mailwarden::auth::DkimPrivateKey>(*key)}})
            .error == "");
    const CheckRun u_run =
        run({"--client-ip", "192.0.2.10", "--mail-from", "a@example.test", "--format", "json",
             write("u-d.eml", mailwarden::dkim_test::to_text(u_signed))});
    const auto u_json = parse(u_run.output);
    BOOST_TEST(u_json.get_child("dkim").front().second.get<std::string>("result") == "pass",
               u_run.output);
    BOOST_TEST(u_json.get_child("dkim").front().second.get<std::string>("domain") ==
               "xn--bcher-kva.test");
    BOOST_TEST(u_json.get<std::string>("dmarc.result") == "pass", u_run.output);
    BOOST_TEST(u_json.get<bool>("dmarc.dkim_aligned"));
    BOOST_TEST(!u_json.get<bool>("dmarc.spf_aligned"));

    const auto latin1 = write("latin1.eml", "From: Info <info@b\xfc"
                                            "cher.test>\n\nx\n");
    const CheckRun refused = run({"--client-ip", "192.0.2.10", "--mail-from",
                                  "info@b\xfc"
                                  "cher.test",
                                  "--format", "json", latin1});
    BOOST_TEST(refused.status == 1, refused.output);
    const auto refused_json = parse(refused.output);
    BOOST_TEST(refused_json.get<std::string>("spf.result") == "none");
    BOOST_TEST(refused_json.get<std::string>("verdict.reason") == "from_invalid_domain");
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

// Over max_message_bytes (64 MB) the tool stops reading and exits 66 as before, without first
// reading everything (200 MB once took 22 s and 418 MB of memory). Its stdin is a socket, so
// that the writer learns when the tool went away (EPIPE, no SIGPIPE) and how much it took.
BOOST_AUTO_TEST_CASE(an_oversized_message_is_refused_after_reading_no_more_than_the_limit) {
    constexpr std::size_t limit = 64 * 1024 * 1024, offered = 160 * 1024 * 1024;
    int pair[2];
    BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == 0);
    const std::string program = (mailwarden::test::build_directory() / "tools/mailwarden").string();
    const std::string config = dir + "/test.conf", dns_address = dns().address(),
                      output_path = dir + "/output";
    const pid_t pid = ::fork(); // the child only calls what is safe after fork, then exec
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
        ::dup2(pair[1], STDIN_FILENO);
        const int out = ::open(output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        ::dup2(out, STDOUT_FILENO);
        ::dup2(out, STDERR_FILENO);
        ::execl(program.c_str(), program.c_str(), "check", "-c", config.c_str(), "--dns",
                dns_address.c_str(), "--client-ip", "192.0.2.1", "-", nullptr);
        ::_exit(127);
    }
    ::close(pair[1]);
    const std::string block = "X-Filler: " + std::string(1024 * 1024 - 12, 'x') + "\r\n";
    std::size_t written = 0;
    while (written < offered) {
        const ssize_t sent = ::send(pair[0], block.data(), block.size(), MSG_NOSIGNAL);
        if (sent <= 0)
            break;
        written += static_cast<std::size_t>(sent);
    }
    ::close(pair[0]);
    int status = 0;
    BOOST_REQUIRE(::waitpid(pid, &status, 0) == pid);
    std::ifstream output_file(dir + "/output");
    const std::string output((std::istreambuf_iterator<char>(output_file)), {});
    BOOST_TEST(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 66, output);
    BOOST_TEST(output.find("over 64 MB") != std::string::npos, output);
    BOOST_TEST(written < limit + 8 * 1024 * 1024); // a block and the socket's buffers at most
}

BOOST_AUTO_TEST_SUITE_END()
