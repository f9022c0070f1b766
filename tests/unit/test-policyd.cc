// mailwarden-policyd end to end: the real daemon on a unix socket with a private test DNS
// server and an LMDB state file in a temporary directory, driven by a client speaking the
// Postfix policy protocol: SPF answers (PREPEND Received-SPF, 550 5.7.23), rate limits at RCPT,
// greylisting, quotas at END-OF-MESSAGE, pipelined requests, 500 concurrent connections, a
// malformed request, a client gone mid-request, and the spawn(8) mode on stdin/stdout. With
// state on a real redis-server: limits hold, a Redis outage mid-run gives on_state_error with
// one warning, and service resumes by itself when Redis is back.
#include "child_process.hh"
#include "dns_test_server.hh"
#include "redis_server.hh"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/test/unit_test.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
namespace asio = boost::asio;
using namespace std::chrono_literals;
using mailwarden::test::ChildProcess;
using mailwarden::test::eventually;
using Socket = asio::local::stream_protocol::socket;

namespace {

std::string zone_text() {
    return "pass.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
           "fail.test TXT \"v=spf1 -all\"\n";
}

struct PolicydFixture {
    PolicydFixture() {
        char pattern[] = "/tmp/mw-policyd-XXXXXX";
        dir = ::mkdtemp(pattern);
        ::chmod(dir.c_str(), 0755);
        dns = mailwarden::test::DnsTestServer::with_zone(zone_text());
    }
    ~PolicydFixture() {
        policyd.reset();
        fs::remove_all(dir);
    }

    void write_config(const std::string& extra) {
        const bool root = ::geteuid() == 0;
        std::ofstream(dir + "/mailwarden.conf")
            << "[general]\nuser = nobody\nallow_root = " << (root ? "no" : "yes") << "\n"
            << "authserv_id = mx.test\ninternal_networks =\n"
            << "policy_pid_file = " << dir << "/policyd.pid\n"
            << "[policy]\npolicy_socket = unix:" << dir << "/policy.sock\n"
            << "[dns]\ndns_servers = " << dns->address() << "\ndns_timeout = 1s\n"
            << "[state]\nstate_path = " << dir << "/state/state.mdb\n"
            << extra;
    }

    void start(const std::string& extra = "") {
        write_config(extra);
        policyd = std::make_unique<ChildProcess>(
            std::vector<std::string>{
                (mailwarden::test::build_directory() / "policy/mailwarden-policyd").string(), "-f",
                "-c", dir + "/mailwarden.conf"},
            dir + "/policyd.log");
        BOOST_REQUIRE_MESSAGE(eventually([&] { return fs::exists(dir + "/policy.sock"); }, 20s),
                              policyd->output());
    }

    // The socket file exists from bind() on, a moment before listen(): retry a refusal.
    Socket connect() {
        Socket socket(io);
        boost::system::error_code error;
        eventually(
            [&] {
                socket.close(error);
                socket.connect(asio::local::stream_protocol::endpoint(dir + "/policy.sock"), error);
                return !error;
            },
            5s);
        BOOST_REQUIRE_MESSAGE(!error, "connect: " << error.message());
        return socket;
    }

    std::string log() const { return policyd->output(); }

    std::string dir;
    std::unique_ptr<mailwarden::test::DnsTestServer> dns;
    std::unique_ptr<ChildProcess> policyd;
    asio::io_context io;
};

std::string request(const std::string& state, const std::string& client, const std::string& sender,
                    const std::string& recipient, const std::string& instance,
                    const std::string& extra = "") {
    return "request=smtpd_access_policy\nprotocol_state=" + state +
           "\nprotocol_name=ESMTP\nclient_address=" + client +
           "\nclient_name=mx.client.test\nhelo_name=mx.client.test\nsender=" + sender +
           "\nrecipient=" + recipient + "\ninstance=" + instance + "\nqueue_id=\n" + extra + "\n";
}

// Reads one reply (up to the empty line), without its "action=" and "\n\n".
std::string read_reply(Socket& socket, asio::streambuf& buffer) {
    const std::size_t length = asio::read_until(socket, buffer, "\n\n");
    std::string reply(asio::buffers_begin(buffer.data()),
                      asio::buffers_begin(buffer.data()) + length);
    buffer.consume(length);
    BOOST_REQUIRE(reply.starts_with("action="));
    return reply.substr(7, reply.size() - 9);
}

std::string ask(Socket& socket, const std::string& text) {
    asio::write(socket, asio::buffer(text));
    asio::streambuf buffer;
    return read_reply(socket, buffer);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(policyd, PolicydFixture)

BOOST_AUTO_TEST_CASE(spf_pass_prepends_received_spf_once_and_fail_is_rejected) {
    start("[actions]\nspf_fail_action = reject\n");
    Socket socket = connect();
    const std::string first =
        ask(socket, request("RCPT", "192.0.2.7", "a@pass.test", "b@x.test", "m1"));
    BOOST_TEST(first == "PREPEND Received-SPF: pass (mx.test: domain of a@pass.test designates "
                        "192.0.2.7 as permitted sender) client-ip=192.0.2.7; "
                        "envelope-from=\"a@pass.test\"; helo=\"mx.client.test\"; receiver=mx.test; "
                        "identity=mailfrom;");
    BOOST_TEST(ask(socket, request("RCPT", "192.0.2.7", "a@pass.test", "c@x.test", "m1")) ==
               "DUNNO");
    const std::string fail =
        ask(socket, request("RCPT", "192.0.2.7", "a@fail.test", "b@x.test", "m2"));
    BOOST_TEST(fail.starts_with("550 5.7.23 SPF check failed for fail.test"), fail);
    BOOST_TEST(log().find("state=RCPT client=mx.client.test[192.0.2.7] from=<a@fail.test> "
                          "to=<b@x.test> spf=fail rate=off action=550 reason=spf_fail") !=
                   std::string::npos,
               log());
}

BOOST_AUTO_TEST_CASE(each_answer_is_timed_by_the_checks_its_own_request_ran) {
    start();
    Socket socket = connect();
    ask(socket, request("RCPT", "192.0.2.7", "a@pass.test", "b@x.test", "t1"));
    ask(socket, request("RCPT", "192.0.2.7", "a@pass.test", "c@x.test", "t1"));
    // The first request ran the MAIL stage; the second only RCPT, where no check has a hook.
    const std::string figure = "[0-9]+\\.[0-9]{2}";
    const std::regex first("to=<b@x\\.test> spf=pass rate=off action=PREPEND reason=ok "
                           "ms=[0-9]+\\.[0-9],spf:" +
                           figure + ",dkim:" + figure + ",decision:" + figure + ",rep:" + figure +
                           "\n");
    const std::regex second("to=<c@x\\.test> spf=pass rate=off action=DUNNO reason=ok "
                            "ms=[0-9]+\\.[0-9]\n");
    BOOST_TEST(eventually([&] { return std::regex_search(log(), second); }, 5s), log());
    BOOST_TEST(std::regex_search(log(), first), log());
}

// Every decision that uses state, on each backend: LMDB, then a private redis-server.
BOOST_AUTO_TEST_CASE(rate_limits_greylisting_and_quotas_answer_at_their_stage_on_each_backend) {
    const auto limits_at_their_stage = [this](const std::string& state) {
        start(state + "[limits]\nratelimit = per_client client_ip 2/1h\n"
                      "ratelimit = quota sasl_user 3/1d count=recipients\n");
        Socket socket = connect();
        BOOST_TEST(ask(socket, request("RCPT", "192.0.2.7", "a@pass.test", "b@x.test", "m1"))
                       .starts_with("PREPEND"));
        BOOST_TEST(ask(socket, request("RCPT", "192.0.2.7", "a@pass.test", "b@x.test", "m2"))
                       .starts_with("PREPEND"));
        const std::string third =
            ask(socket, request("RCPT", "192.0.2.7", "a@pass.test", "b@x.test", "m3"));
        BOOST_TEST(third == "451 4.7.1 rate limit per_client exceeded, try again in 1800 s");
        // Outbound quota: 3 recipients a day for alice, counted at END-OF-MESSAGE.
        const std::string sasl = "sasl_username=alice\nrecipient_count=2\n";
        BOOST_TEST(ask(socket, request("RCPT", "192.0.2.8", "alice@pass.test", "x@y.test", "q1",
                                       sasl)) == "DUNNO");
        BOOST_TEST(ask(socket, request("END-OF-MESSAGE", "192.0.2.8", "alice@pass.test", "", "q1",
                                       sasl)) == "DUNNO");
        BOOST_TEST(
            ask(socket, request("END-OF-MESSAGE", "192.0.2.8", "alice@pass.test", "", "q2", sasl))
                .starts_with("451 4.7.1 rate limit quota exceeded"));
        policyd->signal(SIGTERM);
        BOOST_TEST(policyd->wait_exit(10s).value_or(-1) == 0);
        start(state + "[limits]\ngreylisting = yes\n"); // same state
        Socket again = connect();
        BOOST_TEST(ask(again, request("RCPT", "192.0.2.9", "a@pass.test", "g@x.test", "g1")) ==
                   "451 4.7.1 greylisted, please try again in 300 s");
        BOOST_TEST(ask(again, request("RCPT", "192.0.2.9", "a@pass.test", "g@x.test", "g2")) ==
                   "451 4.7.1 greylisted, please try again in 300 s");
    };
    mailwarden::test::RedisTestServer redis;
    for (const std::string& state :
         {std::string(),
          "[state]\nstate_backend = redis\nredis_servers = " + redis.address() + "\n"}) {
        BOOST_TEST_CONTEXT((state.empty() ? "lmdb" : "redis")) {
            limits_at_their_stage(state);
        }
        policyd->signal(SIGTERM);
        BOOST_TEST(policyd->wait_exit(10s).value_or(-1) == 0);
    }
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t found = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1))
        ++found;
    return found;
}

BOOST_AUTO_TEST_CASE(on_redis_limits_hold_an_outage_gives_on_state_error_and_service_resumes) {
    mailwarden::test::RedisTestServer redis;
    const std::string state = "[state]\nstate_backend = redis\nredis_servers = " + redis.address() +
                              "\nredis_prefix = policyd-test:\n" +
                              "[limits]\nratelimit = per_client client_ip 2/1h\n";
    start(state);
    Socket socket = connect();
    auto rcpt = [&](const std::string& instance) {
        return ask(socket, request("RCPT", "192.0.2.7", "a@pass.test", "b@x.test", instance));
    };
    BOOST_TEST(rcpt("m1").starts_with("PREPEND"));
    BOOST_TEST(rcpt("m2").starts_with("PREPEND"));
    BOOST_TEST(rcpt("m3") == "451 4.7.1 rate limit per_client exceeded, try again in 1800 s");
    BOOST_TEST(redis.command({"KEYS", "policyd-test:rate:per_client:*"}).size() ==
               std::string("policyd-test:rate:per_client:").size() + 32);

    redis.stop(); // on_state_error = accept: limits are skipped, mail flows
    for (int i = 0; i < 20; ++i) {
        const auto begun = std::chrono::steady_clock::now();
        BOOST_TEST(rcpt("down" + std::to_string(i)).starts_with("PREPEND"));
        BOOST_TEST((std::chrono::steady_clock::now() - begun < 2s)); // a refused connect is quick
    }
    BOOST_TEST(count(log(), "warning: state store failed (redis): redis " + redis.address()) == 1,
               log());
    BOOST_TEST(log().find("rate=error action=PREPEND") != std::string::npos, log());

    redis.start(); // empty again: the client starts over, once the breaker lets a probe through
    int probes = 0;
    BOOST_TEST(eventually(
        [&] {
            rcpt("probe" + std::to_string(++probes)); // a new message each time
            return log().find("notice: state store is back backend=redis") != std::string::npos;
        },
        15s));
    BOOST_TEST(rcpt("m4").starts_with("PREPEND")); // the probe was the first of two
    BOOST_TEST(rcpt("m5").starts_with("451 4.7.1 rate limit per_client exceeded"));

    // With on_state_error = tempfail the same outage defers the mail instead.
    policyd->signal(SIGTERM);
    BOOST_TEST(policyd->wait_exit(10s).value_or(-1) == 0);
    redis.stop();
    start(state + "[actions]\non_state_error = tempfail\n");
    Socket again = connect();
    BOOST_TEST(ask(again, request("RCPT", "192.0.2.8", "a@pass.test", "b@x.test", "t1")) ==
               "451 4.3.0 temporary problem with the rate-limit store, try again later");
}

BOOST_AUTO_TEST_CASE(pipelined_requests_are_answered_in_order) {
    start("[actions]\nspf_fail_action = reject\n");
    Socket socket = connect();
    asio::write(socket, asio::buffer(request("RCPT", "192.0.2.7", "a@pass.test", "b@x.test", "p1") +
                                     request("RCPT", "192.0.2.7", "a@fail.test", "b@x.test", "p2") +
                                     request("CONNECT", "192.0.2.7", "", "", "p3")));
    asio::streambuf buffer;
    BOOST_TEST(read_reply(socket, buffer).starts_with("PREPEND Received-SPF: pass"));
    BOOST_TEST(read_reply(socket, buffer).starts_with("550 5.7.23"));
    BOOST_TEST(read_reply(socket, buffer) == "DUNNO");
}

// Bounded: 500 connections, each one request, answered within 60 s in all.
BOOST_AUTO_TEST_CASE(five_hundred_concurrent_connections_are_all_answered) {
    start();
    std::vector<Socket> sockets;
    for (int i = 0; i < 500; ++i) {
        sockets.push_back(connect());
        asio::write(sockets.back(),
                    asio::buffer(request("RCPT", "192.0.2." + std::to_string(i % 250),
                                         "a@pass.test", "b@x.test", "c" + std::to_string(i))));
    }
    int answered = 0;
    for (auto& socket : sockets) {
        asio::streambuf buffer;
        answered += read_reply(socket, buffer).starts_with("PREPEND Received-SPF: pass");
    }
    BOOST_TEST(answered == 500);
}

BOOST_AUTO_TEST_CASE(a_malformed_request_gets_the_default_action_and_the_server_keeps_serving) {
    start("[policy]\npolicy_default_action = 451 4.3.5 policy request refused\n");
    {
        Socket bad = connect();
        asio::write(bad,
                    asio::buffer(std::string("request=smtpd_access_policy\nno equals sign\n\n")));
        asio::streambuf buffer;
        BOOST_TEST(read_reply(bad, buffer) == "451 4.3.5 policy request refused");
        boost::system::error_code error;
        char byte = 0;
        bad.read_some(asio::buffer(&byte, 1), error);
        BOOST_TEST(error.failed()); // closed
    }
    {
        Socket gone = connect(); // half a request, then gone
        asio::write(gone, asio::buffer(std::string("request=smtpd_access_policy\nprotocol_sta")));
    }
    Socket socket = connect();
    BOOST_TEST(ask(socket, request("RCPT", "192.0.2.7", "a@pass.test", "b@x.test", "m1"))
                   .starts_with("PREPEND"));
    BOOST_TEST(
        log().find(
            "policy request refused, closing the connection error=\"not a name=value line\"") !=
            std::string::npos,
        log());
}

BOOST_AUTO_TEST_CASE(stdio_mode_answers_on_stdout_as_under_spawn) {
    write_config("[actions]\nspf_fail_action = reject\n");
    const std::string input = request("RCPT", "192.0.2.7", "a@fail.test", "b@x.test", "s1") +
                              request("RCPT", "192.0.2.7", "a@pass.test", "b@x.test", "s2");
    std::ofstream(dir + "/input") << input;
    const std::string command =
        (mailwarden::test::build_directory() / "policy/mailwarden-policyd").string() +
        " --stdio -c " + dir + "/mailwarden.conf < " + dir + "/input > " + dir + "/output 2>" +
        dir + "/stderr";
    BOOST_REQUIRE(std::system(command.c_str()) == 0);
    std::ifstream output(dir + "/output");
    const std::string answers((std::istreambuf_iterator<char>(output)), {});
    BOOST_TEST(answers.starts_with("action=550 5.7.23 SPF check failed for fail.test"), answers);
    BOOST_TEST(answers.find("\n\naction=PREPEND Received-SPF: pass") != std::string::npos, answers);
}

BOOST_AUTO_TEST_SUITE_END()
