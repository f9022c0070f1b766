// `mailwarden config check` refuses exactly what the daemons refuse: broken configurations of
// every kind go to the admin tool and to both daemons, really started as processes, and all
// three must give the same verdict (refused: config check exits 1 and a daemon 78; accepted:
// exit 0, and a daemon that starts). A daemon that is sent SIGHUP with such a file keeps the
// configuration it runs with and logs why.
#include "child_process.hh"
#include "dns_test_server.hh"
#include "signing_keys.hh"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <pwd.h>
#include <sys/stat.h>

namespace fs = std::filesystem;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using mailwarden::test::ChildProcess;
using mailwarden::test::eventually;

namespace {

const bool root = ::geteuid() == 0;

enum class Verdict { accepted, refused };

std::ostream& operator<<(std::ostream& out, Verdict verdict) {
    return out << (verdict == Verdict::accepted ? "accepted" : "refused");
}

// One kind of broken configuration: `set` replaces lines of the base by key, `append` goes at
// the end (after [limits]; a section header may reopen another section).
struct Case {
    std::string kind;
    std::vector<std::pair<std::string, std::string>> set;
    std::string append;
    Verdict expected = Verdict::refused;
};

struct Fixture {
    Fixture() {
        char pattern[] = "/tmp/mw-verdicts-XXXXXX";
        dir = ::mkdtemp(pattern);
        ::chmod(dir.c_str(), 0755); // the dropped-privilege daemon reads its config here
    }
    ~Fixture() { fs::remove_all(dir); }

    std::string base() const {
        return "[general]\n"
               "user = nobody\n"
               "allow_root = " +
               std::string(root ? "no" : "yes") +
               "\n"
               "milter_pid_file = " +
               dir + "/milter.pid\npolicy_pid_file = " + dir +
               "/policy.pid\n"
               "[milter]\nmilter_socket = unix:" +
               dir +
               "/milter.sock\n"
               "[policy]\npolicy_socket = unix:" +
               dir +
               "/policy.sock\n"
               "[dns]\ndns_servers = " +
               mailwarden::test::DnsTestServer::instance().address() +
               "\ndns_timeout = 1s\n"
               "[state]\nstate_path = " +
               dir +
               "/state/state.mdb\n"
               "[limits]\nratelimit = per_rcpt recipient 1/1h\n";
    }

    std::string write(const Case& broken) const {
        std::string text = base();
        for (const auto& [key, value] : broken.set) {
            const std::size_t at = text.find("\n" + key + " = ");
            BOOST_TEST_REQUIRE(at != std::string::npos, key << " is not in the base");
            const std::size_t end = text.find('\n', at + 1);
            text.replace(at + 1, end - at - 1, key + " = " + value);
        }
        const std::string path = dir + "/case.conf";
        std::ofstream(path, std::ios::trunc) << text << broken.append << "\n";
        return path;
    }

    // The admin tool's verdict; anything but 0 and 1 fails the test.
    Verdict config_check(const std::string& path) const {
        ChildProcess tool({(mailwarden::test::build_directory() / "tools/mailwarden").string(),
                           "config", "check", path},
                          dir + "/check.out");
        const int status = tool.wait_exit(20s).value_or(-1);
        BOOST_TEST((status == 0 || status == 1), "config check exited " << status << ":\n"
                                                                        << tool.output());
        return status == 0 ? Verdict::accepted : Verdict::refused;
    }

    // A daemon's verdict: refused when it exits 78, accepted when it logs that it started
    // (then it is stopped); anything else fails the test.
    struct Started {
        std::unique_ptr<ChildProcess> process;
        std::string name;
    };
    Started start(const std::string& program, const std::string& path) const {
        const std::string name = fs::path(program).filename().string();
        return {std::make_unique<ChildProcess>(
                    std::vector<std::string>{
                        (mailwarden::test::build_directory() / program).string(), "-f", "-c", path},
                    dir + "/" + name + ".out"),
                name};
    }
    static Verdict verdict_of(Started& daemon) {
        std::optional<int> status;
        const bool decided = eventually(
            [&] {
                status = daemon.process->wait_exit(0ms);
                return status.has_value() ||
                       daemon.process->output().find("started socket=") != std::string::npos;
            },
            20s);
        BOOST_TEST(decided, daemon.name << " neither started nor exited:\n"
                                        << daemon.process->output());
        if (status)
            BOOST_TEST(*status == 78, daemon.name << " exited " << *status << ":\n"
                                                  << daemon.process->output());
        daemon.process->stop();
        return status ? Verdict::refused : Verdict::accepted;
    }

    std::string dir;
};

// Signing keys as the daemons load them before they drop privileges (as root only: they
// must belong to the user the daemons serve as).
std::vector<Case> signing_key_configurations(const std::string& dir) {
    if (!root)
        return {};
    const struct passwd* nobody = ::getpwnam("nobody");
    BOOST_TEST_REQUIRE(nobody != nullptr);
    namespace keys = mailwarden::signing_test;
    const std::string pem = keys::ed25519_key().pem();
    const auto line = [](const std::string& path) {
        return "[signing]\ndkim_sign_key = example.test ed " + path;
    };
    return {
        {"a signing key of the daemons' user",
         {},
         line(keys::write_file(dir + "/good.key", pem, 0600, nobody->pw_uid)),
         Verdict::accepted},
        {"a signing key others may read",
         {},
         line(keys::write_file(dir + "/open.key", pem, 0644, nobody->pw_uid))},
        {"a signing key of another user",
         {},
         line(keys::write_file(dir + "/root.key", pem, 0600, 0))},
        {"a signing key that does not exist", {}, line(dir + "/missing.key")},
        {"a signing key file that holds no key",
         {},
         line(keys::write_file(dir + "/junk.key", "not a key\n", 0600, nobody->pw_uid))},
    };
}

std::vector<Case> broken_configurations(const std::string& dir) {
    auto cases = signing_key_configurations(dir);
    std::vector<Case> others = {
        {"the base configuration", {}, "", Verdict::accepted},
        {"two limits with one name", {}, "ratelimit = per_rcpt sender 1/1h"},
        {"an unknown parameter", {}, "no_such_parameter = 1"},
        {"a parameter in another section", {}, "dns_timeout = 2s"},
        {"a line without '='", {}, "just some words"},
        {"an unknown section", {}, "[nosuch]\nx = 1"},
        {"a key given twice", {}, "[dns]\ndns_timeout = 2s"},
        {"a duration out of bounds", {{"dns_timeout", "0s"}}, ""},
        {"a size below its bound", {}, "[state]\nstate_max_size = 10K"},
        {"a word that is not a boolean", {}, "greylisting = maybe"},
        {"a choice that does not exist", {}, "[general]\nlog_level = loud"},
        {"an unknown state backend", {}, "[state]\nstate_backend = mysql"},
        {"a rate limit of nothing", {}, "ratelimit = broken client_ip 0/1h"},
        {"a rate limit on an unknown key", {}, "ratelimit = odd helo 1/1h"},
        {"a CIDR prefix over 32", {}, "[general]\ninternal_networks = 10.0.0.0/33"},
        {"a CIDR that is no address", {}, "allow_networks = 300.1.2.3/32"},
        {"a socket of an unknown kind", {{"milter_socket", "tcp:8891"}}, ""},
        {"an inet socket without an address", {{"milter_socket", "inet:8891"}}, ""},
        {"a socket in a directory that does not exist",
         {{"policy_socket", "unix:/nonexistent-mw-dir/policy.sock"}},
         ""},
        {"a socket on an address of another host", {{"milter_socket", "inet:8891@192.0.2.1"}}, ""},
        {"a privileged port", // only root may listen on it: accepted as root
         {{"policy_socket", "inet:1009@127.0.0.1"}},
         "",
         root ? Verdict::accepted : Verdict::refused},
        {"an octal mode that is not octal", {}, "[milter]\nmilter_socket_mode = 0999"},
        {"an unreadable public suffix list", {}, "[auth]\npublic_suffix_list = /nonexistent/psl"},
        {"an SPF explanation libspf2 refuses", {}, "[auth]\nspf_explanation = from %{q}"},
        {"an unterminated SPF macro", {}, "[auth]\nspf_explanation = from %{i"},
        {"DNSSEC without its trust anchor",
         {},
         "[dns]\ndnssec = yes\ndnssec_trust_anchor = /nonexistent/root.key"},
        {"a DNS server that is a name", {{"dns_servers", "dns.example"}}, ""},
        {"an access(5) action that does not exist", {}, "[policy]\npolicy_default_action = MAYBE"},
        {"redis Sentinels without the master's name",
         {},
         "[state]\nstate_backend = redis\nredis_sentinels = 127.0.0.1:26379\nredis_master_name ="},
        {"redis without a server", {}, "[state]\nstate_backend = redis\nredis_servers ="},
        {"a redis server that is no endpoint", {}, "[state]\nredis_servers = [::1:6379"},
        {"a redis database out of range", {}, "[state]\nredis_db = 70000"},
        {"a redis prefix with a space", {}, "[state]\nredis_prefix = mail warden:"},
        {"a redis timeout below its bound", {}, "[state]\nredis_timeout = 1ms"},
        {"a relative state path", {{"state_path", "state.mdb"}}, ""},
        {"a state path that is a directory", {{"state_path", dir}}, ""},
        {"a state path under a file", {{"state_path", "/etc/passwd/state.mdb"}}, ""},
        {"a user that does not exist", // used only when started as root
         {{"user", "no-such-user-mw"}},
         "",
         root ? Verdict::refused : Verdict::accepted},
    };
    cases.insert(cases.end(), others.begin(), others.end());
    return cases;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(config_verdicts, Fixture)

BOOST_AUTO_TEST_CASE(config_check_and_both_daemons_give_the_same_verdict_on_broken_files) {
    for (const Case& broken : broken_configurations(dir)) {
        BOOST_TEST_CONTEXT(broken.kind) {
            const std::string path = write(broken);
            Started milter = start("milter/mailwarden-milter", path);
            Started policyd = start("policy/mailwarden-policyd", path);
            const Verdict checked = config_check(path);
            const Verdict by_milter = verdict_of(milter);
            const Verdict by_policyd = verdict_of(policyd);
            BOOST_TEST(checked == broken.expected, "config check: " << checked);
            BOOST_TEST(by_milter == broken.expected, "mailwarden-milter: " << by_milter);
            BOOST_TEST(by_policyd == broken.expected, "mailwarden-policyd: " << by_policyd);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_missing_configuration_file_is_refused_by_all_three) {
    const std::string path = dir + "/missing.conf";
    Started milter = start("milter/mailwarden-milter", path);
    Started policyd = start("policy/mailwarden-policyd", path);
    BOOST_TEST(config_check(path) == Verdict::refused);
    BOOST_TEST(verdict_of(milter) == Verdict::refused);
    BOOST_TEST(verdict_of(policyd) == Verdict::refused);
}

// SIGHUP with a file the daemons would refuse: each logs why and keeps the configuration it
// runs with (the policy server still enforces its limit), and stops cleanly afterwards.
BOOST_AUTO_TEST_CASE(a_reload_with_a_refused_file_keeps_the_running_configuration) {
    const std::string path = write({"the base", {}, "", Verdict::accepted});
    Started milter = start("milter/mailwarden-milter", path);
    Started policyd = start("policy/mailwarden-policyd", path);
    for (Started* daemon : {&milter, &policyd})
        BOOST_TEST_REQUIRE(eventually(
            [&] { return daemon->process->output().find("started socket=") != std::string::npos; },
            20s));
    write({"two limits with one name", {}, "ratelimit = per_rcpt sender 1/1h"});
    for (Started* daemon : {&milter, &policyd}) {
        daemon->process->signal(SIGHUP);
        BOOST_TEST(eventually(
                       [&] {
                           return daemon->process->output().find(
                                      "keeping the previous configuration") != std::string::npos;
                       },
                       10s),
                   daemon->name << ":\n"
                                << daemon->process->output());
        BOOST_TEST(daemon->process->output().find("the name 'per_rcpt' is taken") !=
                   std::string::npos);
        BOOST_TEST(daemon->process->running());
    }
    asio::io_context io;
    asio::local::stream_protocol::socket socket(io);
    socket.connect(asio::local::stream_protocol::endpoint(dir + "/policy.sock"));
    auto ask = [&socket] {
        asio::write(socket,
                    asio::buffer(std::string("request=smtpd_access_policy\nprotocol_state=RCPT\n"
                                             "client_address=192.0.2.7\nsender=a@example.org\n"
                                             "recipient=b@example.net\n\n")));
        asio::streambuf reply;
        const std::size_t length = asio::read_until(socket, reply, "\n\n");
        return std::string(asio::buffers_begin(reply.data()),
                           asio::buffers_begin(reply.data()) + length);
    };
    BOOST_TEST(ask().find("action=451 4.7.1") == std::string::npos);
    BOOST_TEST(ask().find("action=451 4.7.1 rate limit per_rcpt") == 0); // the old limit holds
    for (Started* daemon : {&milter, &policyd}) {
        daemon->process->signal(SIGTERM);
        BOOST_TEST(daemon->process->wait_exit(15s).value_or(-1) == 0, daemon->name);
    }
}

BOOST_AUTO_TEST_SUITE_END()
