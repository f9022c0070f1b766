// mailwarden-milter behind a real Sendmail, end to end. Debian's sendmail-bin conflicts with the
// postfix package the other tests need, so the tests use Sendmail's files unpacked aside:
// contrib/quickstart runs `apt-get download sendmail-bin sendmail-cf` and `dpkg-deb -x` into
// .sendmail/root of the source tree (MW_SENDMAIL_ROOT names another place; an installed
// Sendmail is used when there is one). Without it the suite is skipped with a message.
//
// Each case builds a sendmail.cf with m4 and Sendmail's own cf macros (queue directory and
// everything else in a temporary directory; mail is queued, not delivered; the milter on TCP
// loopback with F=T), runs `sendmail -bD` (a daemon in the foreground, on a free port of
// 127.0.0.1) as the test's child, and sends with swaks from 127.0.0.1. Sendmail stops for a
// minute at start when its host name has no domain; it runs in a UTS namespace of its own
// (unshare -u) named mx.test. The milter runs with internal_networks empty, so that mail from
// 127.0.0.1 is inbound. The cases check what swaks was told and the queued message (its qf
// file holds the header as Sendmail will deliver it).
#include "child_process.hh"
#include "dkim_test_signer.hh"
#include "dns_test_server.hh"
#include "mta_test.hh"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace mailwarden;
using namespace mailwarden::test;

namespace {

const char* const swaks_program = "/usr/bin/swaks";
const char* const unshare_program = "/usr/bin/unshare";
const char* const m4_program = "/usr/bin/m4";

// Where sendmail and its cf directory are: the unpacked packages, else an installed Sendmail.
struct SendmailFiles {
    fs::path program, cf_directory;
};

std::optional<SendmailFiles> find_sendmail() {
    std::vector<fs::path> roots;
    if (const char* root = std::getenv("MW_SENDMAIL_ROOT"))
        roots.emplace_back(root);
    roots.push_back(source_directory() / ".sendmail/root");
    roots.emplace_back("/");
    for (const auto& root : roots) {
        const SendmailFiles files{root / "usr/libexec/sendmail/sendmail",
                                  root / "usr/share/sendmail/cf"};
        if (::access(files.program.c_str(), X_OK) == 0 &&
            fs::exists(files.cf_directory / "m4/cf.m4"))
            return files;
    }
    return std::nullopt;
}

boost::test_tools::assertion_result sendmail_available(boost::unit_test::test_unit_id) {
    std::string reason;
    if (!find_sendmail())
        reason = "no Sendmail: contrib/quickstart deps unpacks Debian's sendmail-bin and "
                 "sendmail-cf into .sendmail/root (they conflict with postfix, so they are not "
                 "installed)";
    for (const char* program : {swaks_program, unshare_program, m4_program})
        if (reason.empty() && ::access(program, X_OK) != 0)
            reason = std::string(program) + " is missing";
    if (reason.empty() && ::geteuid() != 0)
        reason = "not root: Sendmail's daemon and its UTS namespace need root";
    if (reason.empty())
        return true;
    std::cerr << "sendmail: skipping the Sendmail integration tests: " << reason << "\n";
    boost::test_tools::assertion_result result(false);
    result.message() << reason;
    return result;
}

std::string zone_text() {
    const std::string key_record = "v=DKIM1; k=rsa; p=" + dkim_test::rsa_2048().public_base64;
    return "pass.test TXT \"v=spf1 ip4:127.0.0.1 -all\"\n"
           "_dmarc.pass.test TXT \"v=DMARC1; p=reject\"\n" +
           dkim_test::txt_line("s1._domainkey.pass.test", key_record) +
           "other.test TXT \"v=spf1 ip4:127.0.0.1 -all\"\n"
           "bank.test TXT \"v=spf1 -all\"\n"
           "_dmarc.bank.test TXT \"v=DMARC1; p=reject\"\n";
}

struct SendmailFixture {
    SendmailFixture() : files(*find_sendmail()) {
        char pattern[] = "/tmp/mw-sendmail-XXXXXX";
        dir = ::mkdtemp(pattern);
        ::chmod(dir.c_str(), 0755); // the milter (user nobody) reads its configuration here
        dns = DnsTestServer::with_zone(zone_text());
        const auto ports = free_ports(2);
        smtp_port = ports[0];
        milter_port = ports[1];
    }

    ~SendmailFixture() {
        for (const auto* server : {&sendmail, &milter})
            if (*server)
                (*server)->signal(SIGTERM);
        sendmail.reset();
        milter.reset();
        std::error_code ignored;
        fs::remove_all(dir, ignored);
    }

    void start_milter() {
        std::ofstream(dir + "/milter.conf")
            << "[general]\nuser = nobody\nallow_root = no\nauthserv_id = mx.test\n"
            << "internal_networks =\nmilter_pid_file = " << dir << "/milter.pid\n"
            << "[milter]\nmilter_socket = inet:" << milter_port << "@127.0.0.1\n"
            << "[dns]\ndns_servers = " << dns->address() << "\ndns_timeout = 2s\n"
            << "[state]\nstate_path = " << dir << "/state/state.mdb\n"
            << "[actions]\ndmarc_reject_action = reject\n"; // RFC 9989 §8: an admin's choice
        milter = std::make_unique<ChildProcess>(
            std::vector<std::string>{(build_directory() / "milter/mailwarden-milter").string(),
                                     "-f", "-c", dir + "/milter.conf"},
            dir + "/milter.log");
        BOOST_REQUIRE_MESSAGE(eventually([&] { return accepts_connections(milter_port); }, 20s),
                              "mailwarden-milter does not listen:\n"
                                  << milter->output());
    }

    // sendmail.cf from Sendmail's m4 macros: the wiring mailwarden-milter(8) recommends.
    void write_sendmail_cf() {
        fs::create_directories(dir + "/queue");
        fs::permissions(dir + "/queue", fs::perms::owner_all); // Sendmail wants it private
        std::ofstream(dir + "/service.switch") << "hosts files\naliases files\n";
        std::ofstream(dir + "/aliases");
        std::ofstream(dir + "/sendmail.mc")
            << "divert(0)dnl\n"
            << "VERSIONID(`mailwarden test')dnl\n"
            << "OSTYPE(`linux')dnl\n"
            << "define(`confDOMAIN_NAME', `mx.test')dnl\n"
            << "define(`confSERVICE_SWITCH_FILE', `" << dir << "/service.switch')dnl\n"
            << "define(`ALIAS_FILE', `" << dir << "/aliases')dnl\n"
            << "define(`QUEUE_DIR', `" << dir << "/queue')dnl\n"
            << "define(`confPID_FILE', `" << dir << "/sendmail.pid')dnl\n"
            << "define(`STATUS_FILE', `" << dir << "/statistics')dnl\n"
            << "define(`confDELIVERY_MODE', `queue')dnl\n"
            << "define(`confDONT_PROBE_INTERFACES', `True')dnl\n"
            << "define(`confMILTER_MACROS_CONNECT', `j, {daemon_name}, {client_addr}')dnl\n"
            << "define(`confMILTER_MACROS_ENVFROM', `i, {auth_authen}')dnl\n"
            << "define(`confMILTER_MACROS_EOM', `i')dnl\n"
            << "DAEMON_OPTIONS(`Port=" << smtp_port << ", Addr=127.0.0.1, Name=MTA')dnl\n"
            << "FEATURE(`no_default_msa')dnl\n"
            << "FEATURE(`nocanonify')dnl\n"
            << "FEATURE(`accept_unresolvable_domains')dnl\n"
            << "INPUT_MAIL_FILTER(`mailwarden', `S=inet:" << milter_port
            << "@127.0.0.1, F=T, T=S:30s;R:2m;E:5m')dnl\n"
            << "MAILER(`smtp')dnl\n";
        ChildProcess m4({m4_program, "-D_CF_DIR_=" + files.cf_directory.string() + "/",
                         (files.cf_directory / "m4/cf.m4").string(), dir + "/sendmail.mc"},
                        dir + "/sendmail.cf");
        BOOST_REQUIRE_MESSAGE(m4.wait_exit(30s).value_or(-1) == 0,
                              "m4 failed:\n"
                                  << read_file(dir + "/sendmail.cf"));
    }

    void start_sendmail() {
        write_sendmail_cf();
        // unshare execs sh, which execs sendmail: the child's pid is Sendmail's.
        sendmail = std::make_unique<ChildProcess>(
            std::vector<std::string>{unshare_program, "-u", "/bin/sh", "-c",
                                     "hostname mx.test && exec " + files.program.string() +
                                         " -bD -C " + dir + "/sendmail.cf"},
            dir + "/sendmail.out");
        BOOST_REQUIRE_MESSAGE(eventually([&] { return accepts_connections(smtp_port); }, 30s),
                              "Sendmail does not listen:\n"
                                  << sendmail->output());
    }

    void start() {
        start_milter();
        start_sendmail();
    }

    std::string write_message(const std::string& name, const dkim_test::Message& message) {
        const std::string path = dir + "/" + name + ".eml";
        std::ofstream(path, std::ios::binary) << dkim_test::to_text(message);
        return path;
    }

    std::string send(const std::string& envelope_sender, const std::string& message_path) {
        ChildProcess swaks({swaks_program, "--server", "127.0.0.1", "--port",
                            std::to_string(smtp_port), "--helo", "mx.client.test", "--from",
                            envelope_sender, "--to", "bob@example.net", "--data",
                            "@" + message_path, "--timeout", "30"},
                           dir + "/swaks.out");
        (void)swaks.wait_exit(90s);
        transcripts += swaks.output();
        return swaks.output();
    }

    // The header lines of the queued messages (qf files: "H??Name: value").
    std::string queued_headers() const {
        std::string headers;
        std::error_code error;
        for (const auto& entry : fs::directory_iterator(dir + "/queue", error))
            if (entry.path().filename().string().starts_with("qf"))
                headers += read_file(entry.path());
        return headers;
    }

    // The ids of the queued messages (qfID); at least one entry, "" when none.
    std::vector<std::string> queue_ids() const {
        std::vector<std::string> ids;
        std::error_code error;
        for (const auto& entry : fs::directory_iterator(dir + "/queue", error))
            if (entry.path().filename().string().starts_with("qf"))
                ids.push_back(entry.path().filename().string().substr(2));
        if (ids.empty())
            ids.emplace_back();
        return ids;
    }

    std::string diagnostics() const {
        return "\nswaks:\n" + transcripts + "\nmilter log:\n" + (milter ? milter->output() : "") +
               "\nsendmail:\n" + (sendmail ? sendmail->output() : "") + "\nqueue:\n" +
               queued_headers();
    }

    SendmailFiles files;
    std::string dir;
    unsigned short smtp_port = 0, milter_port = 0;
    std::string transcripts;
    std::unique_ptr<DnsTestServer> dns;
    std::unique_ptr<ChildProcess> milter, sendmail;
};

dkim_test::Message make_message(const std::string& from, bool sign) {
    dkim_test::Message message = dkim_test::sample_message(from);
    if (sign)
        dkim_test::sign(message,
                        {.key = &dkim_test::rsa_2048(), .selector = "s1", .domain = "pass.test"});
    return message;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(sendmail, SendmailFixture,
                         *boost::unit_test::precondition(sendmail_available))

BOOST_AUTO_TEST_CASE(signed_mail_is_queued_with_our_authentication_results_first_forgery_removed) {
    start();
    dkim_test::Message message = make_message("Alice <alice@pass.test>", true);
    message.headers.insert(message.headers.begin() + 1,
                           {{"Authentication-Results", " mx.test; dkim=pass header.d=bank.test"},
                            {"Authentication-Results", " relay.other; spf=pass"}});
    const std::string transcript = send("alice@pass.test", write_message("pass", message));
    BOOST_TEST(reply_to(transcript, ".").starts_with("250 2.0.0 "), diagnostics());
    const std::string headers = queued_headers();
    const auto ours = headers.find("Authentication-Results: mx.test; spf=pass");
    BOOST_TEST(ours != std::string::npos, diagnostics());
    BOOST_TEST(headers.find("Authentication-Results") == ours, diagnostics()); // the first one
    BOOST_TEST(ours < headers.find("Received: from mx.client.test"), diagnostics());
    BOOST_TEST(headers.find("dkim=pass header.d=pass.test", ours) != std::string::npos,
               diagnostics());
    BOOST_TEST(headers.find("dmarc=pass", ours) != std::string::npos, diagnostics());
    BOOST_TEST(headers.find("header.d=bank.test") == std::string::npos, diagnostics());
    BOOST_TEST(count_of(headers, "Authentication-Results: relay.other; spf=pass") == 1U,
               diagnostics());
    // The log line starts with Sendmail's queue id (the "i" macro at end of message).
    BOOST_TEST(milter->output().find(queue_ids().front() + ": client=localhost[127.0.0.1]") !=
                   std::string::npos,
               diagnostics());
    BOOST_TEST(milter->output().find(" dkim=pass:pass.test dmarc=pass") != std::string::npos,
               diagnostics());
}

BOOST_AUTO_TEST_CASE(a_spoofed_from_of_a_p_reject_domain_is_refused_with_550_5_7_1) {
    start();
    const std::string transcript =
        send("bounce@other.test",
             write_message("spoof", make_message("Bank <service@bank.test>", false)));
    BOOST_TEST(reply_to(transcript, "RCPT TO:").starts_with("250 "), diagnostics());
    BOOST_TEST(reply_to(transcript, ".").starts_with("550 5.7.1 "), diagnostics());
    BOOST_TEST(milter->output().find("action=reject reason=dmarc_reject") != std::string::npos,
               diagnostics());
    BOOST_TEST(queued_headers().empty(), diagnostics());
}

// F=T: while the milter is down Sendmail answers 4xx and keeps nothing.
BOOST_AUTO_TEST_CASE(with_the_milter_down_mail_is_tempfailed) {
    start();
    milter->signal(SIGTERM);
    BOOST_REQUIRE(milter->wait_exit(20s).value_or(-1) == 0);
    const std::string transcript = send(
        "alice@pass.test", write_message("down", make_message("Alice <alice@pass.test>", true)));
    BOOST_TEST(transcript.find("<** 4") != std::string::npos, diagnostics());
    BOOST_TEST(transcript.find("<** 5") == std::string::npos, diagnostics());
    BOOST_TEST(queued_headers().empty(), diagnostics());
}

BOOST_AUTO_TEST_SUITE_END()
