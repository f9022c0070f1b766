// The two daemons as processes: started with a test configuration on unix sockets in a
// private directory, driven over the socket, reloaded with SIGHUP, stopped with SIGTERM.
#include "child_process.hh"
#include "dns_test_server.hh"
#include "policy_client.hh"
#include "state/lmdb_store.hh"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

namespace fs = std::filesystem;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using mailwarden::test::ChildProcess;
using mailwarden::test::eventually;

namespace {

struct DaemonFixture {
    DaemonFixture() {
        char pattern[] = "/tmp/mw-daemons-XXXXXX";
        dir = ::mkdtemp(pattern);
        ::chmod(dir.c_str(), 0755); // the dropped-privilege daemon still reads its config here
        config_path = dir + "/mailwarden.conf";
        write_config("info");
    }
    ~DaemonFixture() { fs::remove_all(dir); }

    void write_config(const std::string& log_level, const std::string& extra = "") {
        // Running as root (CI): drop to nobody, which the daemons verify and we check.
        const bool root = ::geteuid() == 0;
        std::ofstream out(config_path, std::ios::trunc);
        out << "[general]\n"
            << "log_level = " << log_level << "\n"
            << "user = nobody\n"
            << "allow_root = " << (root ? "no" : "yes") << "\n"
            << "milter_pid_file = " << dir << "/milter.pid\n"
            << "policy_pid_file = " << dir << "/policy.pid\n"
            << extra << "[milter]\n"
            << "milter_socket = unix:" << dir << "/milter.sock\n"
            << "[policy]\n"
            << "policy_socket = unix:" << dir << "/policy.sock\n"
            << "[dns]\ndns_servers = " << mailwarden::test::DnsTestServer::instance().address()
            << "\ndns_timeout = 1s\n"
            << "[state]\nstate_path = " << dir << "/state/state.mdb\n";
    }

    std::unique_ptr<ChildProcess> start(const std::string& program, const std::string& socket) {
        auto child = std::make_unique<ChildProcess>(
            std::vector<std::string>{(mailwarden::test::build_directory() / program).string(), "-f",
                                     "-c", config_path},
            dir + "/" + fs::path(program).filename().string() + ".out");
        BOOST_REQUIRE_MESSAGE(eventually([&] { return fs::exists(dir + "/" + socket); }, 10s),
                              program << " did not create its socket:\n"
                                      << child->output());
        return child;
    }

    std::string dir;
    std::string config_path;
};

std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        ++count;
    return count;
}

// One policy request over an open connection; returns the reply up to the empty line.
std::string ask(asio::local::stream_protocol::socket& socket, const std::string& request) {
    asio::write(socket, asio::buffer(request));
    asio::streambuf reply;
    const std::size_t length = asio::read_until(socket, reply, "\n\n");
    return {asio::buffers_begin(reply.data()), asio::buffers_begin(reply.data()) + length};
}

// A daemon started without -f, as an init system starts it: the launcher exits once the daemon
// has detached. The testrunner is the detached process's subreaper meanwhile, so that its exit
// status can be read; it is killed by PID if still running at the end.
class Detached {
public:
    Detached(const std::string& program, const std::string& config_path,
             const std::string& output_path) {
        ::prctl(PR_SET_CHILD_SUBREAPER, 1);
        ChildProcess launcher(
            {(mailwarden::test::build_directory() / program).string(), "-c", config_path},
            output_path);
        launcher_status = launcher.wait_exit(10s);
    }
    ~Detached() {
        if (pid > 0 && !exit_status) {
            ::kill(pid, SIGKILL);
            wait_exit(5s);
        }
        ::prctl(PR_SET_CHILD_SUBREAPER, 0);
    }
    Detached(const Detached&) = delete;
    Detached& operator=(const Detached&) = delete;

    bool read_pid(const std::string& pid_file) {
        return eventually(
            [&] {
                std::ifstream in(pid_file);
                return static_cast<bool>(in >> pid) && pid > 0;
            },
            10s);
    }
    std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
        eventually(
            [&] {
                int status = 0;
                if (::waitpid(pid, &status, WNOHANG) == pid)
                    exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                return exit_status.has_value();
            },
            timeout);
        return exit_status;
    }

    std::optional<int> launcher_status;
    pid_t pid = -1;
    std::optional<int> exit_status;
};

// One policy request on a new connection to a unix socket; the reply up to the empty line, or
// what came before `timeout` passed ("" when nothing did).
std::string ask_within(const std::string& socket_path, const std::string& request,
                       std::chrono::milliseconds timeout) {
    const int fd = mailwarden::test::connect_unix(socket_path);
    std::string reply = mailwarden::test::exchange_within(fd, request, timeout);
    if (fd >= 0)
        ::close(fd);
    return reply;
}

const std::string rcpt_request = "request=smtpd_access_policy\nprotocol_state=RCPT\n"
                                 "client_address=192.0.2.7\nclient_name=mx.example.org\n"
                                 "sender=a@example.org\nrecipient=b@example.net\nqueue_id=\n\n";

} // namespace

BOOST_FIXTURE_TEST_SUITE(daemons, DaemonFixture)

BOOST_AUTO_TEST_CASE(policyd_answers_every_request_on_one_connection) {
    auto policyd = start("policy/mailwarden-policyd", "policy.sock");
    asio::io_context io;
    asio::local::stream_protocol::socket socket(io);
    socket.connect(asio::local::stream_protocol::endpoint(dir + "/policy.sock"));
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(ask(socket, rcpt_request).starts_with("action=PREPEND Received-SPF: "));
    policyd->signal(SIGTERM);
    BOOST_TEST(policyd->wait_exit(10s).value_or(-1) == 0);
    BOOST_TEST(count_of(policyd->output(), "state=RCPT") == 3U);
    BOOST_TEST(policyd->output().find("stopped") != std::string::npos);
}

// Detached, the decision threads must be those of the detached process: it answers, and stops
// with status 0 on SIGTERM (they were left behind in the launcher once: no answer, then a crash).
BOOST_AUTO_TEST_CASE(policyd_detached_answers_and_stops_cleanly) {
    Detached policyd("policy/mailwarden-policyd", config_path, dir + "/launcher.out");
    BOOST_TEST_REQUIRE(policyd.launcher_status.value_or(-1) == 0);
    BOOST_TEST_REQUIRE(policyd.read_pid(dir + "/policy.pid"));
    BOOST_TEST_REQUIRE(eventually([&] { return fs::exists(dir + "/policy.sock"); }, 10s));
    BOOST_TEST(ask_within(dir + "/policy.sock", rcpt_request, 10s)
                   .starts_with("action=PREPEND Received-SPF: "));
    // DNS works in the detached process: the resolver's thread was once left in the launcher,
    // and every lookup of the detached daemon timed out (SPF temperror for all mail).
    const std::string spf_pass = "request=smtpd_access_policy\nprotocol_state=RCPT\n"
                                 "client_address=192.0.2.7\nclient_name=mx.example.org\n"
                                 "sender=a@example.test\nrecipient=b@example.net\ninstance=d2\n\n";
    const std::string answer = ask_within(dir + "/policy.sock", spf_pass, 10s);
    BOOST_TEST(answer.starts_with("action=PREPEND Received-SPF: pass "), answer);
    ::kill(policyd.pid, SIGTERM);
    BOOST_TEST(policyd.wait_exit(15s).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(milter_detached_stops_cleanly) {
    Detached milter("milter/mailwarden-milter", config_path, dir + "/launcher.out");
    BOOST_TEST_REQUIRE(milter.launcher_status.value_or(-1) == 0);
    BOOST_TEST_REQUIRE(milter.read_pid(dir + "/milter.pid"));
    BOOST_TEST_REQUIRE(eventually([&] { return fs::exists(dir + "/milter.sock"); }, 10s));
    ::kill(milter.pid, SIGTERM);
    BOOST_TEST(milter.wait_exit(15s).value_or(-1) == 0);
}

BOOST_AUTO_TEST_CASE(policyd_closes_an_oversized_request_and_keeps_serving) {
    auto policyd = start("policy/mailwarden-policyd", "policy.sock");
    asio::io_context io;
    {
        asio::local::stream_protocol::socket hostile(io);
        hostile.connect(asio::local::stream_protocol::endpoint(dir + "/policy.sock"));
        const std::string endless(200 * 1024, 'x'); // no newline, beyond the line limit
        // The server may close before it has read everything: that write error is expected, and
        // the reply is there to read all the same.
        boost::system::error_code write_error, error;
        asio::write(hostile, asio::buffer(endless), write_error);
        std::string reply;
        char byte = 0;
        while (!error && reply.size() < 100 &&
               hostile.read_some(asio::buffer(&byte, 1), error) == 1)
            reply += byte;
        BOOST_TEST(reply == "action=DUNNO\n\n"); // policy_default_action, then closed
        BOOST_TEST(error.failed());
    }
    asio::local::stream_protocol::socket socket(io);
    socket.connect(asio::local::stream_protocol::endpoint(dir + "/policy.sock"));
    BOOST_TEST(ask(socket, rcpt_request).starts_with("action="));
}

BOOST_AUTO_TEST_CASE(policyd_reloads_on_sighup_and_keeps_the_old_snapshot_on_errors) {
    auto policyd = start("policy/mailwarden-policyd", "policy.sock");
    write_config("debug");
    policyd->signal(SIGHUP);
    BOOST_TEST(eventually([&] { return count_of(policyd->output(), "reloaded") == 1; }, 10s),
               policyd->output());
    write_config("debug", "no_such_parameter = 1\n");
    policyd->signal(SIGHUP);
    BOOST_TEST(
        eventually([&] { return policyd->output().find("no_such_parameter") != std::string::npos; },
                   10s),
        policyd->output());
    asio::io_context io;
    asio::local::stream_protocol::socket socket(io);
    socket.connect(asio::local::stream_protocol::endpoint(dir + "/policy.sock"));
    BOOST_TEST(ask(socket, rcpt_request).starts_with("action="));
    BOOST_TEST(count_of(policyd->output(), "reloaded") == 1U);
}

// libmilter's own signal thread treats SIGHUP as "stop"; ours must win and reload.
BOOST_AUTO_TEST_CASE(milter_reloads_on_sighup_and_stops_cleanly_on_sigterm) {
    auto milter = start("milter/mailwarden-milter", "milter.sock");
    for (int i = 1; i <= 5; ++i) {
        milter->signal(SIGHUP);
        BOOST_TEST_REQUIRE(
            eventually([&] { return count_of(milter->output(), "reloaded") == std::size_t(i); },
                       10s),
            milter->output());
    }
    BOOST_TEST(milter->running());
    milter->signal(SIGTERM);
    BOOST_TEST(milter->wait_exit(15s).value_or(-1) == 0, milter->output());
}

// -p takes inet:PORT@ADDR and inet6:PORT@ADDR as Postfix writes them (libmilter itself wants
// the IPv6 address in brackets); a bad -p is a usage error.
BOOST_AUTO_TEST_CASE(milter_listens_on_ipv4_and_ipv6_loopback_and_refuses_a_bad_socket) {
    const auto port = static_cast<unsigned short>(20000 + ::getpid() % 20000);
    for (const std::string address : {"127.0.0.1", "::1"}) {
        const bool v6 = address == "::1";
        const std::string spec =
            std::string(v6 ? "inet6:" : "inet:") + std::to_string(port) + "@" + address;
        ChildProcess milter(
            {(mailwarden::test::build_directory() / "milter/mailwarden-milter").string(), "-f",
             "-c", config_path, "-p", spec},
            dir + "/milter-inet.out");
        asio::io_context io;
        const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(address), port);
        BOOST_TEST(eventually(
                       [&] {
                           asio::ip::tcp::socket socket(io);
                           boost::system::error_code error;
                           socket.connect(endpoint, error);
                           return !error;
                       },
                       10s),
                   spec << "\n"
                        << milter.output());
        milter.signal(SIGTERM);
        BOOST_TEST(milter.wait_exit(15s).value_or(-1) == 0, milter.output());
    }
    ChildProcess bad({(mailwarden::test::build_directory() / "milter/mailwarden-milter").string(),
                      "-p", "inet6:25@not-an-address"},
                     dir + "/milter-bad.out");
    BOOST_TEST(bad.wait_exit(10s).value_or(-1) == 64, bad.output());
}

BOOST_AUTO_TEST_CASE(daemons_started_as_root_run_as_the_configured_user) {
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE(
            "not root: the privilege drop is exercised only when the suite runs as root");
        return;
    }
    const passwd* nobody = ::getpwnam("nobody");
    BOOST_TEST_REQUIRE(nobody != nullptr);
    for (const auto& [program, socket] : {std::pair{"milter/mailwarden-milter", "milter.sock"},
                                          std::pair{"policy/mailwarden-policyd", "policy.sock"}}) {
        auto daemon = start(program, socket);
        const std::string id = std::to_string(nobody->pw_uid);
        const std::string expected = "Uid:\t" + id + "\t" + id + "\t" + id + "\t" + id;
        std::string uid_line;
        // The socket exists before the drop; give the daemon a moment to finish it.
        eventually(
            [&] {
                std::ifstream status("/proc/" + std::to_string(daemon->pid()) + "/status");
                for (std::string line; std::getline(status, line);)
                    if (line.rfind("Uid:", 0) == 0)
                        uid_line = line;
                return uid_line == expected;
            },
            5s);
        BOOST_TEST(uid_line == expected, program);
    }
    // Each unix socket: *_socket_mode (0660) and, with *_socket_owner empty, user's user and
    // group, so that the MTA connects through the group.
    for (const char* socket : {"milter.sock", "policy.sock"}) {
        struct stat socket_status {};
        BOOST_TEST_REQUIRE(::stat((dir + "/" + socket).c_str(), &socket_status) == 0);
        BOOST_TEST((socket_status.st_mode & 0777) == 0660u, socket);
        BOOST_TEST(socket_status.st_uid == nobody->pw_uid, socket);
        BOOST_TEST(socket_status.st_gid == nobody->pw_gid, socket);
    }
}

BOOST_AUTO_TEST_CASE(socket_owner_and_mode_follow_the_configuration) {
    if (::geteuid() != 0) {
        BOOST_TEST_MESSAGE("not root: socket ownership is set only when started as root");
        return;
    }
    write_config("info"); // then two lines more in its [milter] and [policy] sections
    std::ifstream in(config_path);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    for (const std::string daemon : {"milter", "policy"}) {
        const auto line_end = text.find('\n', text.find(daemon + "_socket ="));
        BOOST_TEST_REQUIRE(line_end != std::string::npos);
        text.insert(line_end + 1,
                    daemon + "_socket_mode = 0640\n" + daemon + "_socket_owner = root:daemon\n");
    }
    std::ofstream(config_path, std::ios::trunc) << text;
    const group* daemon_group = ::getgrnam("daemon");
    BOOST_TEST_REQUIRE(daemon_group != nullptr);
    for (const auto& [program, socket] : {std::pair{"milter/mailwarden-milter", "milter.sock"},
                                          std::pair{"policy/mailwarden-policyd", "policy.sock"}}) {
        auto daemon = start(program, socket);
        struct stat socket_status {};
        BOOST_TEST_REQUIRE(::stat((dir + "/" + socket).c_str(), &socket_status) == 0);
        BOOST_TEST((socket_status.st_mode & 0777) == 0640u, socket);
        BOOST_TEST(socket_status.st_uid == 0u, socket);
        BOOST_TEST(socket_status.st_gid == daemon_group->gr_gid, socket);
    }
}

// A state file cut short (a full disk, a bad copy) names pages it no longer has; reading one was
// SIGBUS (exit 135) in the admin tool and in the policy server's first request. The admin tool
// now refuses with a clear message and leaves the file; the policy server moves it aside, logs
// one error naming where, and answers on an empty store.
BOOST_AUTO_TEST_CASE(a_truncated_state_file_crashes_neither_the_admin_tool_nor_policyd) {
    write_config("info", "[limits]\nratelimit = per_rcpt recipient 100/1h\n"); // reads the store
    const std::string state = dir + "/state/state.mdb";
    fs::create_directories(dir + "/state");
    {
        mailwarden::state::LmdbStore store({.path = state});
        std::vector<mailwarden::state::Operation> batch;
        for (int i = 0; i < 2000; ++i)
            batch.push_back(mailwarden::state::RateCheck{.key = "rate:" + std::to_string(i)});
        BOOST_TEST_REQUIRE(store.run(batch, 1'800'000'000'000).ok);
    }
    fs::resize_file(state, 16 * 1024);
    ChildProcess tool({(mailwarden::test::build_directory() / "tools/mailwarden").string(),
                       "reputation", "show", "-c", config_path, "192.0.2.7"},
                      dir + "/tool.out");
    BOOST_TEST(tool.wait_exit(10s).value_or(-1) == 75, tool.output());
    BOOST_TEST(tool.output().find("is damaged: 16384 bytes, shorter than its last page") !=
                   std::string::npos,
               tool.output());
    BOOST_TEST(fs::file_size(state) == 16U * 1024); // left as it is

    auto policyd = start("policy/mailwarden-policyd", "policy.sock");
    BOOST_TEST(ask_within(dir + "/policy.sock", rcpt_request, 10s).starts_with("action="));
    BOOST_TEST(policyd->running());
    BOOST_TEST(count_of(policyd->output(), "state file damaged: moved aside") == 1U,
               policyd->output());
    BOOST_TEST(count_of(policyd->output(), "moved_to=" + state + ".damaged-") == 1U);
    int aside = 0;
    for (const auto& entry : fs::directory_iterator(dir + "/state"))
        aside += entry.path().filename().string().starts_with("state.mdb.damaged-");
    BOOST_TEST(aside == 1);
}

// The issue's case through the real daemon: state_max_size = 1M holds 1024 entries and 1,100
// recipients under a 1/1h limit overflow it. Full is not an outage: no batch fails (the breaker
// never opens), the recipients still held are refused again, and one warning says so.
BOOST_AUTO_TEST_CASE(policyd_with_a_full_state_file_keeps_refusing_the_recipients_it_holds) {
    write_config("info", "[limits]\nratelimit = per_rcpt recipient 1/1h\n[state]\n"
                         "state_max_size = 1M\n");
    auto policyd = start("policy/mailwarden-policyd", "policy.sock");
    asio::io_context io;
    asio::local::stream_protocol::socket socket(io);
    socket.connect(asio::local::stream_protocol::endpoint(dir + "/policy.sock"));
    auto request = [](int i) {
        std::string text = rcpt_request;
        const std::string to = "recipient=b@example.net";
        return text.replace(text.find(to), to.size(),
                            "recipient=r" + std::to_string(i) + "@example.net");
    };
    for (int i = 0; i < 1100; ++i)
        BOOST_TEST_REQUIRE(!ask(socket, request(i)).starts_with("action=451"), "recipient " << i);
    int refused = 0;
    for (int i = 1099; i >= 1000; --i)
        refused += ask(socket, request(i)).starts_with("action=451 4.7.1 rate limit per_rcpt");
    BOOST_TEST(refused == 100);
    const std::string log = policyd->output();
    BOOST_TEST(count_of(log, "state file full (state_max_size)") == 1U, log.substr(0, 2000));
    BOOST_TEST(count_of(log, "state store failed") == 0U);
}

BOOST_AUTO_TEST_SUITE_END()
