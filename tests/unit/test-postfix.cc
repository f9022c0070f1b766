// Both daemons behind a real Postfix, end to end. Each case starts a private Postfix instance
// in a temporary directory (its own main.cf, master.cf, queue and data directories; smtpd on a
// free port of 127.0.0.1, chroot off) with smtpd_milters = mailwarden-milter on a unix socket
// and check_policy_service = mailwarden-policyd on TCP loopback, both with a private test DNS
// server and state file. Postfix relays everything to smtp-sink on another free loopback port,
// which dumps each message it receives to a file; swaks is the SMTP client. The cases check
// what swaks was told, what reached the sink and what was logged.
//
// swaks connects from 127.0.0.1 and, with XCLIENT (smtpd_authorized_xclient_hosts), makes
// Postfix treat the session as coming from 192.0.2.10, an inbound MX client: from loopback itself
// the mail would be outbound (internal_networks, kept at its default here). The milter's
// configuration leaves SPF fails to the policy server (spf_fail_action = none), which refuses
// them at RCPT; rate limits are the policy server's only, since both daemons count a message
// they both see.
//
// Postfix's master runs as the testrunner's child (as `postfix start-fg` runs it), so it cannot
// outlive a crashed run; every server is stopped by PID when a case ends, passed or failed.
// Needs root (the master starts as root), postfix (with smtp-sink) and swaks; without them the
// suite is skipped with a message. contrib/quickstart installs both packages.
#include "child_process.hh"
#include "dkim_test_signer.hh"
#include "dns_test_server.hh"
#include "mta_test.hh"
#include "report_test_util.hh"
#include "signing_keys.hh"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <pwd.h>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace mailwarden;
using namespace mailwarden::test;

namespace {

const char* const postfix_program = "/usr/sbin/postfix";
const char* const postconf_program = "/usr/sbin/postconf";
const char* const postqueue_program = "/usr/sbin/postqueue";
const char* const smtp_sink_program = "/usr/sbin/smtp-sink";
const char* const swaks_program = "/usr/bin/swaks";

boost::test_tools::assertion_result postfix_available(boost::unit_test::test_unit_id) {
    std::string missing;
    for (const char* program :
         {postfix_program, postconf_program, postqueue_program, smtp_sink_program, swaks_program})
        if (::access(program, X_OK) != 0)
            missing += std::string(missing.empty() ? "" : ", ") + program;
    std::string reason;
    if (!missing.empty())
        reason = missing + " not installed (apt-get install postfix swaks)";
    else if (::geteuid() != 0)
        reason = "not root: a Postfix master process must start as root";
    if (reason.empty())
        return true;
    std::cerr << "postfix: skipping the Postfix integration tests: " << reason << "\n";
    boost::test_tools::assertion_result result(false);
    result.message() << reason;
    return result;
}

// The client is 192.0.2.10: the pass records allow it, the fail records refuse everyone.
const char* const client_address = "192.0.2.10";

// The next key of a rotation: a second Ed25519 key, selector ed2.
const auth::DkimPrivateKey& next_ed25519_key() {
    static const auth::DkimPrivateKey key =
        auth::DkimPrivateKey::generate(auth::DkimKeyType::ed25519);
    return key;
}

std::string zone_text() {
    const std::string key_record = "v=DKIM1; k=rsa; p=" + dkim_test::rsa_2048().public_base64;
    return "pass.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
           "_dmarc.pass.test TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@pass.test\"\n" +
           dkim_test::txt_line("s1._domainkey.pass.test", key_record) +
           "other.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
           "bank.test TXT \"v=spf1 -all\"\n"
           "_dmarc.bank.test TXT \"v=DMARC1; p=reject; rua=mailto:reports@rua.example.net\"\n"
           "bank.test._report._dmarc.rua.example.net TXT \"v=DMARC1\"\n"
           "news.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
           "_dmarc.news.test TXT \"v=DMARC1; p=none; rua=mailto:r@collector.example.net\"\n"
           "fail.test TXT \"v=spf1 -all\"\n" +
           dkim_test::txt_line("ed._domainkey.pass.test",
                               signing_test::ed25519_key().key_record()) +
           dkim_test::txt_line("rsa._domainkey.pass.test", signing_test::rsa_key().key_record()) +
           dkim_test::txt_line("ed2._domainkey.pass.test", next_ed25519_key().key_record());
}

// Our verifier's result for each DKIM-Signature of a message text, "RESULT:SELECTOR".
std::vector<std::string> our_verifier(const std::string& text) {
    std::vector<std::string> results;
    for (const auto& result : signing_test::verify_with_ours(text, zone_text()))
        results.push_back(result.result + ":" + result.selector);
    return results;
}

// A message with its own Message-ID (to find it at the sink), signed by d=pass.test when
// `sign` is set.
dkim_test::Message make_message(const std::string& from, const std::string& message_id, bool sign) {
    dkim_test::Message message = dkim_test::sample_message(from);
    for (auto& [name, value] : message.headers)
        if (name == "Message-ID")
            value = " <" + message_id + ">";
    if (sign)
        dkim_test::sign(message,
                        {.key = &dkim_test::rsa_2048(), .selector = "s1", .domain = "pass.test"});
    return message;
}

struct Run {
    int status;
    std::string output;
};

struct PostfixFixture {
    PostfixFixture() {
        char pattern[] = "/tmp/mw-postfix-XXXXXX";
        dir = ::mkdtemp(pattern);
        ::chmod(dir.c_str(), 0755); // Postfix (user postfix) reaches the milter socket here
        dns = test::DnsTestServer::with_zone(zone_text());
        const auto ports = free_ports(3);
        smtpd_port = ports[0];
        sink_port = ports[1];
        policy_port = ports[2];
    }

    ~PostfixFixture() {
        stop_postfix();
        for (const auto* server : {&milter, &policyd, &sink}) // all at once, then wait for each
            if (*server)
                (*server)->signal(SIGTERM);
        milter.reset();
        policyd.reset();
        sink.reset();
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }

    // One run of a program to its end (killed after `timeout`).
    Run run(std::vector<std::string> argv, std::chrono::seconds timeout = 60s) {
        ChildProcess child(std::move(argv), dir + "/run.out");
        const auto status = child.wait_exit(timeout);
        return {status.value_or(-1), child.output()};
    }

    // mailwarden.conf for one daemon: the common part, then its own [actions] and [limits].
    void write_config(const std::string& name, const std::string& actions,
                      const std::string& limits) {
        std::ofstream(dir + "/" + name)
            << "[general]\nuser = nobody\nallow_root = no\n"
            << "authserv_id = mx.test\n"
            << "milter_pid_file = " << dir << "/milter.pid\n"
            << "policy_pid_file = " << dir << "/policyd.pid\n"
            << "[milter]\nmilter_socket = unix:" << dir << "/milter.sock\n"
            << "milter_socket_mode = 0660\nmilter_socket_owner = nobody:postfix\n"
            << "[policy]\npolicy_socket = inet:" << policy_port << "@127.0.0.1\n"
            << "[dns]\ndns_servers = " << dns->address() << "\ndns_timeout = 2s\n"
            << "[state]\nstate_path = " << dir << "/state/state.mdb\n"
            << "[actions]\n"
            << actions << "[limits]\n"
            << limits << (name == "milter.conf" ? milter_signing : "");
    }

    // The milter signs pass.test with an Ed25519 and an RSA key, files of the user it serves
    // as (nobody), mode 0600.
    void sign_pass_test() {
        const struct passwd* nobody = ::getpwnam("nobody");
        BOOST_REQUIRE(nobody != nullptr);
        const std::string ed = signing_test::write_file(
            dir + "/ed.key", signing_test::ed25519_key().pem(), 0600, nobody->pw_uid);
        const std::string rsa = signing_test::write_file(
            dir + "/rsa.key", signing_test::rsa_key().pem(), 0600, nobody->pw_uid);
        milter_signing = "[signing]\ndkim_sign_key = pass.test ed " + ed +
                         "\ndkim_sign_key = pass.test rsa " + rsa + "\n";
    }

    // dkimpy's verdicts for the signatures of pass.test's ed and rsa keys in a message file,
    // "PATH INDEX RESULT" lines; with `clock` (a faketime offset such as "+1d") as if then.
    std::string dkimpy_verdicts(const std::string& path, const std::string& clock = "") {
        std::string keys;
        for (const auto& [name, key] : {std::pair{"ed", &signing_test::ed25519_key()},
                                        std::pair{"rsa", &signing_test::rsa_key()}})
            keys += std::string(name) + "._domainkey.pass.test " + key->key_record() + "\n";
        std::vector<std::string> argv{
            "/usr/bin/python3", (test::source_directory() / "tests/unit/dkimpy-verify.py").string(),
            signing_test::write_file(dir + "/keys.txt", keys, 0600), path};
        if (!clock.empty())
            argv.insert(argv.begin(), {"/usr/bin/faketime", "-f", clock});
        return run(argv).output;
    }

    // Waits until the milter accepts connections: a stopped milter may leave its socket file
    // behind, and the file exists a moment before the new one listens on it.
    void start_milter() {
        milter.reset();
        std::error_code ignored;
        fs::remove(dir + "/milter.sock", ignored);
        milter = std::make_unique<ChildProcess>(
            std::vector<std::string>{
                (test::build_directory() / "milter/mailwarden-milter").string(), "-f", "-c",
                dir + "/milter.conf"},
            dir + "/milter.log." + std::to_string(++milter_starts));
        BOOST_REQUIRE_MESSAGE(
            eventually([&] { return accepts_unix_connections(dir + "/milter.sock"); }, 20s),
            "mailwarden-milter does not listen on its socket:\n"
                << milter->output());
    }

    void start_policyd() {
        policyd = std::make_unique<ChildProcess>(
            std::vector<std::string>{
                (test::build_directory() / "policy/mailwarden-policyd").string(), "-f", "-c",
                dir + "/policyd.conf"},
            dir + "/policyd.log");
        BOOST_REQUIRE_MESSAGE(eventually([&] { return accepts_connections(policy_port); }, 20s),
                              "mailwarden-policyd does not listen:\n"
                                  << policyd->output());
    }

    void start_sink() {
        fs::create_directories(dir + "/sink");
        fs::permissions(dir + "/sink", fs::perms::all); // smtp-sink writes as nobody
        sink = std::make_unique<ChildProcess>(
            std::vector<std::string>{smtp_sink_program, "-u", "nobody", "-d",
                                     dir + "/sink/message.",
                                     "127.0.0.1:" + std::to_string(sink_port), "100"},
            dir + "/sink.out");
        BOOST_REQUIRE_MESSAGE(eventually([&] { return accepts_connections(sink_port); }, 20s),
                              "smtp-sink does not listen:\n"
                                  << sink->output());
    }

    void write_postfix_config() {
        const std::string pf = dir + "/postfix";
        fs::create_directories(pf + "/etc");
        fs::create_directories(pf + "/queue");
        fs::create_directories(pf + "/data");
        const struct passwd* postfix_user = ::getpwnam("postfix");
        BOOST_REQUIRE_MESSAGE(postfix_user != nullptr, "no user postfix");
        BOOST_REQUIRE(::chown((pf + "/data").c_str(), postfix_user->pw_uid, postfix_user->pw_gid) ==
                      0);
        std::ofstream(pf + "/etc/main.cf")
            << "# A private instance for mailwarden's tests (tests/unit/test-postfix.cc).\n"
            << "compatibility_level = 3.6\n"
            << "queue_directory = " << pf << "/queue\n"
            << "data_directory = " << pf << "/data\n"
            << "mail_owner = postfix\nsetgid_group = postdrop\n"
            << "maillog_file = " << pf << "/maillog\nmaillog_file_prefixes = " << pf << "\n"
            << "inet_interfaces = 127.0.0.1\ninet_protocols = ipv4\n"
            << "myhostname = mx.test\nmydomain = test\nmyorigin = $myhostname\n"
            << "mydestination =\nlocal_recipient_maps =\nrelay_domains = example.net\n"
            << "mynetworks = 127.0.0.0/8\nalias_maps =\nalias_database =\nbiff = no\n"
            // Everything to the sink, no DNS for delivery or for the client's name.
            << "relayhost = [127.0.0.1]:" << sink_port << "\n"
            << "smtp_dns_support_level = disabled\nsmtp_host_lookup = native\n"
            << "smtpd_peername_lookup = no\nsmtpd_authorized_xclient_hosts = 127.0.0.1\n"
            // The wiring that mailwarden-milter(8) and mailwarden-policyd(8) recommend.
            << "smtpd_milters = unix:" << dir << "/milter.sock\n"
            << "milter_default_action = tempfail\nmilter_protocol = 6\n"
            << "milter_mail_macros = i {auth_authen} {auth_type} {mail_addr}\n"
            << "milter_end_of_data_macros = i\n"
            << "milter_connect_macros = j {daemon_name} {client_addr} {client_name}\n"
            << "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n"
            << "smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination, "
            << "check_policy_service inet:127.0.0.1:" << policy_port << "\n"
            << "smtpd_policy_service_default_action = 451 4.3.5 Server configuration problem\n";
        // Only what this instance uses, nothing chrooted.
        std::ofstream(pf + "/etc/master.cf")
            << "127.0.0.1:" << smtpd_port << " inet n - n - - smtpd\n"
            << "pickup unix n - n 60 1 pickup\n"
            << "cleanup unix n - n - 0 cleanup\n"
            << "qmgr unix n - n 300 1 qmgr\n"
            << "rewrite unix - - n - - trivial-rewrite\n"
            << "bounce unix - - n - 0 bounce\n"
            << "defer unix - - n - 0 bounce\n"
            << "trace unix - - n - 0 bounce\n"
            << "verify unix - - n - 1 verify\n"
            << "flush unix n - n 1000? 0 flush\n"
            << "proxymap unix - - n - - proxymap\n"
            << "smtp unix - - n - - smtp\n"
            << "relay unix - - n - - smtp\n"
            << "showq unix n - n - - showq\n"
            << "error unix - - n - - error\n"
            << "retry unix - - n - - error\n"
            << "discard unix - - n - - discard\n"
            << "anvil unix - - n - 1 anvil\n"
            << "scache unix - - n - 1 scache\n"
            << "postlog unix-dgram n - n - 1 postlogd\n";
    }

    // `postfix check` makes the queue directories; then the master as our child process.
    void start_postfix() {
        write_postfix_config();
        const std::string etc = dir + "/postfix/etc";
        const Run check = run({postfix_program, "-c", etc, "check"});
        BOOST_REQUIRE_MESSAGE(check.status == 0, "postfix check failed:\n"
                                                     << check.output << maillog());
        const Run daemon_directory = run({postconf_program, "-c", etc, "-h", "daemon_directory"});
        BOOST_REQUIRE(daemon_directory.status == 0);
        std::string master_program = daemon_directory.output;
        master_program.erase(master_program.find_last_not_of(" \n") + 1);
        master = std::make_unique<ChildProcess>(
            std::vector<std::string>{master_program + "/master", "-c", etc, "-s"},
            dir + "/postfix/master.out");
        BOOST_REQUIRE_MESSAGE(eventually([&] { return accepts_connections(smtpd_port); }, 30s),
                              "Postfix does not listen:\n"
                                  << master->output() << maillog());
    }

    void stop_postfix() {
        if (!master)
            return;
        master->signal(SIGTERM); // what `postfix stop` sends; the master ends its children
        if (!master->wait_exit(20s))
            master->signal(SIGKILL);
        master.reset();
    }

    // Everything of a case: the sink, both daemons with their configurations, Postfix.
    void start(const std::string& policyd_limits = "") {
        write_config("milter.conf", "spf_fail_action = none\ndmarc_reject_action = reject\n", "");
        write_config("policyd.conf", "spf_fail_action = reject\n", policyd_limits);
        start_sink();
        start_policyd();
        start_milter();
        start_postfix();
    }

    std::string write_message(const std::string& name, const dkim_test::Message& message) {
        const std::string path = dir + "/" + name + ".eml";
        std::ofstream(path, std::ios::binary) << dkim_test::to_text(message);
        return path;
    }

    // One SMTP session of swaks; its transcript. With `as_mx_client` the session claims the
    // client address 192.0.2.10 (XCLIENT), else it is what it is, 127.0.0.1.
    std::string send(const std::string& envelope_sender, const std::string& message_path,
                     bool as_mx_client = true, const std::string& client = client_address) {
        std::vector<std::string> argv = {swaks_program,
                                         "--server",
                                         "127.0.0.1",
                                         "--port",
                                         std::to_string(smtpd_port),
                                         "--helo",
                                         "mx.client.test",
                                         "--from",
                                         envelope_sender,
                                         "--to",
                                         "bob@example.net",
                                         "--data",
                                         "@" + message_path,
                                         "--timeout",
                                         "30"};
        if (as_mx_client)
            argv.insert(argv.end(), {"--xclient-addr", client, "--xclient-name", "mx.client.test"});
        const Run swaks = run(std::move(argv), 90s);
        transcripts += swaks.output;
        return swaks.output;
    }

    // The messages the sink received with this Message-ID.
    std::vector<std::string> at_sink(const std::string& message_id) {
        std::vector<std::string> found;
        std::error_code error;
        for (const auto& entry : fs::directory_iterator(dir + "/sink", error)) {
            std::string text = read_file(entry.path());
            if (text.find("<" + message_id + ">") != std::string::npos)
                found.push_back(std::move(text));
        }
        return found;
    }

    bool arrives(const std::string& message_id) {
        return eventually([&] { return !at_sink(message_id).empty(); }, 30s);
    }

    // Waits until Postfix's queue is empty; what `postqueue -p` says last.
    std::string queue_after_delivery() {
        std::string listing;
        eventually(
            [&] {
                listing = run({postqueue_program, "-c", dir + "/postfix/etc", "-p"}, 30s).output;
                return listing.find("Mail queue is empty") != std::string::npos;
            },
            30s);
        return listing;
    }

    std::string maillog() const { return "\nPostfix log:\n" + read_file(dir + "/postfix/maillog"); }
    std::string milter_log() const { return milter ? milter->output() : ""; }
    std::string policyd_log() const { return policyd ? policyd->output() : ""; }
    std::string diagnostics() const {
        return "\nswaks:\n" + transcripts + "\nmilter log:\n" + milter_log() + "\npolicyd log:\n" +
               policyd_log() + maillog();
    }

    std::string dir;
    std::string milter_signing; // the milter's [signing] section, when it signs
    unsigned short smtpd_port = 0, sink_port = 0, policy_port = 0;
    int milter_starts = 0;
    std::string transcripts;
    std::unique_ptr<test::DnsTestServer> dns;
    std::unique_ptr<ChildProcess> sink, policyd, milter, master;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(postfix, PostfixFixture,
                         *boost::unit_test::precondition(postfix_available))

BOOST_AUTO_TEST_CASE(signed_mail_arrives_with_our_authentication_results_first_forgery_removed) {
    start();
    dkim_test::Message message = make_message("Alice <alice@pass.test>", "pass-1@pass.test", true);
    // Added after signing, as a hostile sender would: one claims our authserv-id (a forgery),
    // the other is another host's and stays.
    message.headers.insert(message.headers.begin() + 1,
                           {{"Authentication-Results", " mx.test; dkim=pass header.d=bank.test"},
                            {"Authentication-Results", " relay.other; spf=pass"}});
    const std::string transcript = send("alice@pass.test", write_message("pass", message));
    BOOST_TEST(reply_to(transcript, ".").starts_with("250 2.0.0 Ok: queued as "), diagnostics());
    BOOST_REQUIRE_MESSAGE(arrives("pass-1@pass.test"), diagnostics());
    const std::string delivered = at_sink("pass-1@pass.test").front();
    BOOST_TEST_MESSAGE("delivered:\n" << delivered);
    // The header of the delivered message: the sink's X- lines, an empty line, then ours.
    const std::string header =
        delivered.substr(0, delivered.find("\n\n", delivered.find("\n\n") + 2));
    const auto ours = header.find("Authentication-Results: mx.test; spf=pass");
    BOOST_TEST(ours != std::string::npos, delivered);
    BOOST_TEST(header.find("Authentication-Results") == ours, delivered);       // the first one
    BOOST_TEST(ours < header.find("Received: from mx.client.test"), delivered); // above Postfix's
    BOOST_TEST(ours < header.find("DKIM-Signature:"), delivered);
    BOOST_TEST(header.find("dkim=pass header.d=pass.test", ours) != std::string::npos, delivered);
    BOOST_TEST(header.find("dmarc=pass", ours) != std::string::npos, delivered);
    BOOST_TEST(header.find("header.d=bank.test") == std::string::npos, delivered); // removed
    BOOST_TEST(count_of(header, "Authentication-Results: relay.other; spf=pass") == 1U, delivered);
    BOOST_TEST(count_of(header, "Authentication-Results:") == 2U, delivered);
    BOOST_TEST(header.find("Received-SPF: pass") != std::string::npos, delivered); // policyd
    BOOST_TEST(milter_log().find("dkim=pass:pass.test dmarc=pass") != std::string::npos,
               diagnostics());
    BOOST_TEST(queue_after_delivery().find("Mail queue is empty") != std::string::npos);
}

// A 100 KB header field (under header_size_limit, 102400 octets by default) is accepted and the
// message judged like any other. With milters configured Postfix's cleanup cuts a field at 60000
// octets (for libmilter's 64 KB packet limit) and passes it whole, in one packet.
BOOST_AUTO_TEST_CASE(a_100_kb_header_field_is_judged_and_the_message_accepted) {
    start();
    dkim_test::Message message = make_message("Alice <alice@pass.test>", "long-1@pass.test", true);
    const std::string line = " abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123";
    std::string long_value = line; // folded lines, under Postfix's line_length_limit
    while (long_value.size() < 100 * 1000)
        long_value += "\r\n" + line;
    message.headers.insert(message.headers.begin() + 1, {"X-Long", long_value}); // after signing
    const std::string transcript = send("alice@pass.test", write_message("long", message));
    BOOST_TEST(reply_to(transcript, ".").starts_with("250 2.0.0 Ok: queued as "), diagnostics());
    BOOST_REQUIRE_MESSAGE(arrives("long-1@pass.test"), diagnostics());
    const std::string delivered = at_sink("long-1@pass.test").front();
    BOOST_TEST(delivered.find("Authentication-Results: mx.test; spf=pass") != std::string::npos);
    BOOST_TEST(delivered.find("dkim=pass header.d=pass.test") != std::string::npos);
    // The field as delivered: up to the next line that is not a continuation line.
    const auto field = delivered.find("X-Long:");
    BOOST_REQUIRE(field != std::string::npos);
    auto end = delivered.find('\n', field);
    while (end != std::string::npos && end + 1 < delivered.size() &&
           (delivered[end + 1] == ' ' || delivered[end + 1] == '\t'))
        end = delivered.find('\n', end + 1);
    BOOST_TEST(end - field > 59 * 1000U, end - field); // what Postfix kept, whole
    BOOST_TEST(milter_log().find("dkim=pass:pass.test dmarc=pass") != std::string::npos,
               diagnostics());
}

BOOST_AUTO_TEST_CASE(a_spoofed_from_of_a_p_reject_domain_is_rejected_with_550_5_7_1) {
    start();
    // SPF passes for the envelope (other.test), the From is bank.test's: DMARC fails.
    const std::string transcript =
        send("bounce@other.test",
             write_message("spoof",
                           make_message("Bank <service@bank.test>", "spoof-1@other.test", false)));
    BOOST_TEST(reply_to(transcript, "RCPT TO:").starts_with("250 "), diagnostics());
    BOOST_TEST(reply_to(transcript, ".").starts_with("550 5.7.1 "), diagnostics());
    BOOST_TEST(milter_log().find("from=<bounce@other.test> rcpts=1 spf=pass dkim=none "
                                 "dmarc=fail") != std::string::npos,
               diagnostics());
    BOOST_TEST(milter_log().find("action=reject reason=dmarc_reject") != std::string::npos,
               diagnostics());
    BOOST_TEST(maillog().find("milter-reject: END-OF-MESSAGE") != std::string::npos, diagnostics());
    // The rejected message did not go on, and nothing waits in the queue.
    BOOST_TEST(queue_after_delivery().find("Mail queue is empty") != std::string::npos);
    BOOST_TEST(at_sink("spoof-1@other.test").empty());
}

BOOST_AUTO_TEST_CASE(an_spf_fail_sender_is_rejected_at_rcpt_by_the_policy_server) {
    start();
    const std::string transcript =
        send("mallory@fail.test", write_message("fail", make_message("Mallory <mallory@fail.test>",
                                                                     "fail-1@fail.test", false)));
    BOOST_TEST(reply_to(transcript, "MAIL FROM:").starts_with("250 "), diagnostics());
    BOOST_TEST(reply_to(transcript, "RCPT TO:").starts_with("550 5.7.23 "), diagnostics());
    BOOST_TEST(reply_to(transcript, "DATA").empty(), diagnostics()); // no recipient, no DATA
    BOOST_TEST(policyd_log().find("state=RCPT") != std::string::npos, diagnostics());
    BOOST_TEST(policyd_log().find("spf=fail") != std::string::npos, diagnostics());
    BOOST_TEST(maillog().find("NOQUEUE: reject: RCPT from") != std::string::npos, diagnostics());
    BOOST_TEST(at_sink("fail-1@fail.test").empty());
}

BOOST_AUTO_TEST_CASE(a_client_over_its_rate_limit_gets_451_4_7_1) {
    start("ratelimit = per_client client_ip 2/1h\n");
    for (int i = 1; i <= 3; ++i) {
        const std::string id = "rate-" + std::to_string(i) + "@pass.test";
        const std::string transcript = send(
            "alice@pass.test", write_message("rate" + std::to_string(i),
                                             make_message("Alice <alice@pass.test>", id, true)));
        if (i <= 2) {
            BOOST_TEST(reply_to(transcript, ".").starts_with("250 2.0.0 Ok: queued as "),
                       diagnostics());
            BOOST_TEST(arrives(id), diagnostics());
        } else {
            const std::string refusal = reply_to(transcript, "RCPT TO:");
            BOOST_TEST(refusal.starts_with("451 4.7.1 "), diagnostics());
            BOOST_TEST(refusal.find("per_client") != std::string::npos, diagnostics());
            BOOST_TEST(at_sink(id).empty());
        }
    }
    BOOST_TEST(policyd_log().find("reason=ratelimit_per_client") != std::string::npos,
               diagnostics());
}

// Mail from 127.0.0.1 itself is outbound by default (internal_networks = 127.0.0.0/8 ::1/128):
// Postfix's permit_mynetworks comes before the policy server, and the milter judges nothing.
BOOST_AUTO_TEST_CASE(mail_from_loopback_itself_is_outbound_by_default) {
    start();
    const std::string transcript =
        send("service@bank.test",
             write_message("local",
                           make_message("Bank <service@bank.test>", "local-1@bank.test", false)),
             false);
    BOOST_TEST(reply_to(transcript, ".").starts_with("250 2.0.0 Ok: queued as "), diagnostics());
    BOOST_TEST(arrives("local-1@bank.test"), diagnostics());
    BOOST_TEST(milter_log().find("client=[127.0.0.1][127.0.0.1] from=<service@bank.test> rcpts=1 "
                                 "outbound=yes") != std::string::npos,
               diagnostics());
    BOOST_TEST(policyd_log().find("state=RCPT") == std::string::npos, diagnostics());
}

// Outbound mail (from 127.0.0.1, internal_networks) arrives signed with both keys, and both
// signatures verify with dkimpy and with our verifier; after SIGHUP with a new selector added
// (a rotation), the new key signs; inbound mail gets no signature of ours.
BOOST_AUTO_TEST_CASE(outbound_mail_arrives_signed_with_both_keys_and_both_verify) {
    sign_pass_test();
    start();
    const std::string transcript = send(
        "alice@pass.test",
        write_message("out", make_message("Alice <alice@pass.test>", "out-1@pass.test", false)),
        false);
    BOOST_TEST(reply_to(transcript, ".").starts_with("250 2.0.0 Ok: queued as "), diagnostics());
    BOOST_REQUIRE_MESSAGE(arrives("out-1@pass.test"), diagnostics());
    const std::string delivered = at_sink("out-1@pass.test").front();
    BOOST_TEST_MESSAGE("delivered:\n" << delivered);
    std::string message = delivered; // without the sink's X- lines about the session
    while (message.starts_with("X-"))
        message.erase(0, message.find('\n') + 1);
    // Ours above Postfix's Received (the milter inserts each at the top; the last one first).
    BOOST_TEST(message.find("DKIM-Signature: v=1; a=") < message.find("Received: from mx.client"),
               delivered);
    BOOST_TEST(count_of(message, "DKIM-Signature:") == 2U, delivered);
    BOOST_TEST(our_verifier(message) == (std::vector<std::string>{"pass:rsa", "pass:ed"}),
               boost::test_tools::per_element());
    const std::string path = signing_test::write_file(dir + "/delivered.eml", message, 0600);
    BOOST_TEST(dkimpy_verdicts(path) == path + " 0 pass\n" + path + " 1 pass\n");
    BOOST_TEST(milter_log().find("outbound=yes sign=signed d=pass.test s=ed,rsa") !=
                   std::string::npos,
               diagnostics());
    // Rotation on SIGHUP: a new Ed25519 selector listed after the old one signs from then on.
    const struct passwd* nobody = ::getpwnam("nobody");
    milter_signing +=
        "dkim_sign_key = pass.test ed2 " +
        signing_test::write_file(dir + "/ed2.key", next_ed25519_key().pem(), 0600, nobody->pw_uid) +
        "\n";
    write_config("milter.conf", "spf_fail_action = none\n", "");
    milter->signal(SIGHUP);
    BOOST_REQUIRE_MESSAGE(
        eventually([&] { return milter_log().find("reloaded") != std::string::npos; }, 10s),
        diagnostics());
    send("alice@pass.test",
         write_message("rotated",
                       make_message("Alice <alice@pass.test>", "rotated-1@pass.test", false)),
         false);
    BOOST_REQUIRE_MESSAGE(arrives("rotated-1@pass.test"), diagnostics());
    BOOST_TEST(our_verifier(at_sink("rotated-1@pass.test").front()) ==
                   (std::vector<std::string>{"pass:rsa", "pass:ed2"}),
               boost::test_tools::per_element());
    BOOST_TEST(milter_log().find("sign=signed d=pass.test s=ed2,rsa") != std::string::npos,
               diagnostics());
    // Inbound (an MX client): its own signature only.
    send("alice@pass.test",
         write_message("in", make_message("Alice <alice@pass.test>", "in-1@pass.test", true)));
    BOOST_REQUIRE_MESSAGE(arrives("in-1@pass.test"), diagnostics());
    BOOST_TEST(count_of(at_sink("in-1@pass.test").front(), "DKIM-Signature:") == 1U);
}

// milter_default_action = tempfail (the recommended setting): while the milter is down the
// client gets 4xx and keeps the message; sent again once the milter is back, it arrives, once.
BOOST_AUTO_TEST_CASE(with_the_milter_down_mail_is_tempfailed_then_flows_again_nothing_lost) {
    start();
    const std::string path =
        write_message("retry", make_message("Alice <alice@pass.test>", "retry-1@pass.test", true));
    milter->signal(SIGTERM);
    BOOST_REQUIRE_MESSAGE(milter->wait_exit(20s).value_or(-1) == 0, diagnostics());

    const std::string refused = send("alice@pass.test", path);
    BOOST_TEST_MESSAGE("with the milter down: MAIL FROM got " << reply_to(refused, "MAIL FROM:")
                                                              << "; RCPT TO got "
                                                              << reply_to(refused, "RCPT TO:"));
    // Postfix answers MAIL FROM with 451 4.7.1 and every later command of the session alike.
    BOOST_TEST(reply_to(refused, "MAIL FROM:").starts_with("451 4.7.1 "), diagnostics());
    BOOST_TEST(refused.find("queued as") == std::string::npos, diagnostics());
    BOOST_TEST(refused.find("<** 5") == std::string::npos, diagnostics());
    BOOST_TEST(maillog().find("connect to Milter service") != std::string::npos, diagnostics());
    BOOST_TEST(at_sink("retry-1@pass.test").empty());

    start_milter();
    const std::string accepted = send("alice@pass.test", path);
    BOOST_TEST(reply_to(accepted, ".").starts_with("250 2.0.0 Ok: queued as "), diagnostics());
    BOOST_REQUIRE_MESSAGE(arrives("retry-1@pass.test"), diagnostics());
    BOOST_TEST(at_sink("retry-1@pass.test").size() == 1U);
    BOOST_TEST(at_sink("retry-1@pass.test").front().find("Authentication-Results: mx.test;") !=
               std::string::npos);
    BOOST_TEST(queue_after_delivery().find("Mail queue is empty") != std::string::npos);
}

// Issue 18 item 4: mixed mail from three sources for three domains, then the report job (as the
// timer starts it, a day later by faketime) hands one report per domain that asked for one to
// Postfix's own sendmail; the sink gets exactly one gzip report each, whose counts are what was
// sent and whose XML is valid. A second run sends nothing. news.test's rua is an external
// destination that did not authorize it: no report. The reporter's domain has signing keys:
// each report arrives signed with both, and both verify.
BOOST_AUTO_TEST_CASE(the_report_job_sends_one_valid_aggregate_report_per_domain_with_the_counts) {
    sign_pass_test();
    write_config("milter.conf", "spf_fail_action = none\ndmarc_reject_action = reject\n",
                 "[reports]\ndmarc_aggregate_reports = yes\n"
                 "dmarc_report_email = dmarc-reports@pass.test\n"
                 "dmarc_report_sendmail = /usr/sbin/sendmail -C " +
                     dir + "/postfix/etc\n");
    write_config("policyd.conf", "spf_fail_action = reject\n", "");
    start_sink();
    start_policyd();
    start_milter();
    start_postfix();
    struct Sent {
        std::string from, sender, client;
        bool sign;
        std::string reply; // the reply to the end of data
    };
    const std::vector<Sent> mail = {
        {"alice@pass.test", "alice@pass.test", "192.0.2.10", true, "250 "},
        {"alice@pass.test", "alice@pass.test", "192.0.2.10", true, "250 "},
        {"alice@pass.test", "alice@pass.test", "192.0.2.20", true, "250 "},
        {"ceo@bank.test", "bounce@other.test", "192.0.2.20", false, "550 5.7.1"},
        {"ceo@bank.test", "bounce@other.test", "192.0.2.20", false, "550 5.7.1"},
        {"ceo@bank.test", "bounce@other.test", "192.0.2.10", false, "550 5.7.1"},
        {"info@news.test", "info@news.test", "192.0.2.10", false, "250 "},
    };
    for (std::size_t i = 0; i < mail.size(); ++i) {
        const std::string id = "day-" + std::to_string(i) + "@mx.client.test";
        const std::string transcript =
            send(mail[i].sender, write_message(id, make_message(mail[i].from, id, mail[i].sign)),
                 true, mail[i].client);
        BOOST_TEST(reply_to(transcript, ".").starts_with(mail[i].reply), diagnostics());
    }
    BOOST_REQUIRE(queue_after_delivery().find("Mail queue is empty") != std::string::npos);

    // faketime preloads its library, which a sanitizer build's runtime refuses to follow
    // unless told (the admin tool is the sanitized program here, not faketime).
    const char* asan = std::getenv("ASAN_OPTIONS");
    const std::string asan_options = "ASAN_OPTIONS=" + std::string(asan ? asan : "") +
                                     (asan && *asan ? ":" : "") + "verify_asan_link_order=0";
    const auto report_job = [&] {
        return run({"/usr/bin/env", asan_options, "/usr/bin/faketime", "-f", "+1d",
                    (test::build_directory() / "tools/mailwarden").string(), "dmarc", "report",
                    "--send", "-c", dir + "/milter.conf"});
    };
    const Run first = report_job();
    BOOST_TEST_MESSAGE("report job:\n" << first.output);
    BOOST_TEST(first.status == 0, first.output);
    BOOST_TEST(first.output.find("domain=pass.test status=sent messages=3 to=dmarc@pass.test") !=
                   std::string::npos,
               first.output);
    BOOST_TEST(first.output.find("domain=bank.test status=sent messages=3 "
                                 "to=reports@rua.example.net") != std::string::npos,
               first.output);
    BOOST_TEST(first.output.find("domain=news.test status=no_destination messages=1") !=
                   std::string::npos,
               first.output);

    // The sink's report mails, by policy domain.
    const auto reports = [&] {
        std::map<std::string, std::vector<std::string>> found;
        std::error_code error;
        for (const auto& entry : fs::directory_iterator(dir + "/sink", error)) {
            std::string text = read_file(entry.path());
            std::erase(text, '\r');
            const std::size_t at = text.find("Subject: Report Domain: ");
            if (at != std::string::npos)
                found[text.substr(at + 24, text.find(' ', at + 24) - at - 24)].push_back(text);
        }
        return found;
    };
    BOOST_REQUIRE_MESSAGE(eventually([&] { return reports().size() == 2; }, 30s),
                          diagnostics() << "\nreport job: " << first.output);
    const std::map<std::string, std::int64_t> expected = {{"pass.test", 3}, {"bank.test", 3}};
    for (const auto& [domain, mails] : reports()) {
        BOOST_REQUIRE_MESSAGE(expected.contains(domain), domain);
        BOOST_REQUIRE_EQUAL(mails.size(), 1U);
        BOOST_TEST(mails[0].find("!" + domain + "!") != std::string::npos); // the file name
        const std::string xml = test::report_xml_of(mails[0]);
        BOOST_REQUIRE_MESSAGE(!xml.empty(), mails[0]);
        std::int64_t counted = 0;
        for (std::size_t at = xml.find("<count>"); at != std::string::npos;
             at = xml.find("<count>", at + 1))
            counted += std::stoll(xml.substr(at + 7));
        BOOST_TEST(counted == expected.at(domain), xml);
        BOOST_TEST(xml.find("<domain>" + domain + "</domain>") != std::string::npos, xml);
        std::string message = mails[0]; // without the sink's X- lines about the session
        while (message.starts_with("X-"))
            message.erase(0, message.find('\n') + 1);
        // Signed a day later than now, as the job ran: verified as of then.
        const std::string path =
            signing_test::write_file(dir + "/report-" + domain + ".eml", message, 0600);
        BOOST_TEST(dkimpy_verdicts(path, "+1d") == path + " 0 pass\n" + path + " 1 pass\n",
                   message);
        if (test::have_report_schema())
            BOOST_TEST(test::schema_errors(xml).empty(), test::schema_errors(xml) << xml);
    }

    const Run second = report_job(); // started twice: nothing goes twice
    BOOST_TEST(second.status == 0, second.output);
    BOOST_TEST(second.output.find("status=sent") == std::string::npos, second.output);
    BOOST_TEST(second.output.find("domain=pass.test status=already_sent") != std::string::npos,
               second.output);
    BOOST_REQUIRE(queue_after_delivery().find("Mail queue is empty") != std::string::npos);
    for (const auto& [domain, mails] : reports())
        BOOST_TEST(mails.size() == 1U, domain);
}

BOOST_AUTO_TEST_SUITE_END()
