// Integration tests of make_unbound_resolver() against mw-testdnsd (or MW_TEST_DNS) serving
// tests/data/zones/*.zone: record types, split TXT, large answers over EDNS0 and TCP, the
// four failure kinds, recovery after a timeout, caching, concurrency and option checks.
#include "dns/resolver.hh"
#include "dns_test_server.hh"

#include <utility> // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <boost/asio.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <random>
#include <thread>

using namespace mailwarden::dns;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

std::unique_ptr<Resolver> test_resolver(std::chrono::milliseconds timeout = 3000ms) {
    UnboundOptions options;
    options.servers = {mailwarden::test::DnsTestServer::instance().address()};
    options.timeout = timeout;
    options.forward_documentation_zones = true;
    return make_unbound_resolver(options);
}

std::vector<std::string> texts(const Answer& answer) {
    std::vector<std::string> result;
    for (const Record& record : answer.records)
        result.push_back(record.text);
    std::sort(result.begin(), result.end());
    return result;
}

void expect_ok(const Answer& answer, const std::vector<std::string>& expected) {
    BOOST_TEST_INFO("status " << status_name(answer.status) << ": " << answer.error_text);
    BOOST_TEST(status_name(answer.status) == "ok");
    BOOST_TEST(texts(answer) == expected, boost::test_tools::per_element());
}

long milliseconds_since(Clock::time_point started) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
}

// How many queries for `name` reached the server, asked through a fresh (uncached) resolver.
int server_query_count(const std::string& name) {
    Answer answer = test_resolver()->query(name + ".queries.mw-testdnsd", RrType::txt);
    BOOST_REQUIRE(status_name(answer.status) == "ok");
    BOOST_REQUIRE(answer.records.size() == 1u);
    return std::stoi(answer.records[0].text);
}

} // namespace

BOOST_AUTO_TEST_SUITE(dns_unbound)

BOOST_AUTO_TEST_CASE(address_records) {
    auto resolver = test_resolver();
    Answer a = resolver->query("example.test", RrType::a);
    expect_ok(a, {"192.0.2.1"});
    BOOST_TEST(a.ttl.count() > 0);
    BOOST_TEST(a.ttl.count() <= 300);
    BOOST_TEST(!a.secure);
    expect_ok(resolver->query("EXAMPLE.test.", RrType::aaaa), {"2001:db8::1"});
    expect_ok(resolver->query("www.example.test", RrType::a), {"192.0.2.1"}); // via CNAME
    expect_ok(resolver->query("www.example.test", RrType::cname), {"example.test"});
}

BOOST_AUTO_TEST_CASE(mx_ptr_and_txt) {
    auto resolver = test_resolver();
    Answer mx = resolver->query("example.test", RrType::mx);
    BOOST_REQUIRE(status_name(mx.status) == "ok");
    BOOST_REQUIRE(mx.records.size() == 2u);
    std::sort(mx.records.begin(), mx.records.end(),
              [](const Record& x, const Record& y) { return x.preference < y.preference; });
    BOOST_TEST(mx.records[0].preference == 10);
    BOOST_TEST(mx.records[0].text == "mx1.example.test");
    BOOST_TEST(mx.records[1].preference == 20);
    BOOST_TEST(mx.records[1].text == "mx2.example.test");
    expect_ok(resolver->query("1.2.0.192.in-addr.arpa", RrType::ptr), {"example.test"});
    expect_ok(resolver->query("example.test", RrType::txt), {"v=spf1 ip4:192.0.2.0/24 -all"});
    expect_ok(resolver->query("escaped.example.test", RrType::txt), {"say \"hi\" \\ ABC"});
    expect_ok(resolver->query("spf.example.test", RrType::spf), {"v=spf1 -all"});
}

// libunbound rotates the records of an answer it serves from its cache (rrset-roundrobin);
// ours keeps the order the server gave, so that "the first 10 PTR names" (RFC 7208 §4.6.4)
// are the same names on every query.
BOOST_AUTO_TEST_CASE(records_keep_the_servers_order) {
    std::string zone;
    std::vector<std::string> names;
    for (int i = 1; i <= 11; ++i) {
        names.push_back("h" + std::to_string(i) + ".order.test");
        zone += "10.2.0.192.in-addr.arpa PTR " + names.back() + "\n";
    }
    const auto server = mailwarden::test::DnsTestServer::with_zone(zone);
    UnboundOptions options;
    options.servers = {server->address()};
    options.forward_documentation_zones = true;
    auto resolver = make_unbound_resolver(options);
    for (int round = 0; round < 4; ++round) {
        const Answer answer = resolver->query("10.2.0.192.in-addr.arpa", RrType::ptr);
        BOOST_REQUIRE(status_name(answer.status) == "ok");
        std::vector<std::string> order;
        for (const Record& record : answer.records)
            order.push_back(record.text);
        BOOST_TEST(order == names, boost::test_tools::per_element());
    }
}

BOOST_AUTO_TEST_CASE(split_txt_longer_than_255_bytes_is_joined) {
    Answer answer = test_resolver()->query("split.example.test", RrType::txt);
    expect_ok(answer, {std::string(255, 'a') + std::string(255, 'b') + std::string(90, 'c')});
}

BOOST_AUTO_TEST_CASE(answer_above_512_bytes_over_edns) {
    std::vector<std::string> expected;
    for (int i = 1; i <= 25; ++i)
        expected.push_back("198.51.100." + std::to_string(i));
    std::sort(expected.begin(), expected.end());
    expect_ok(test_resolver()->query("many.example.test", RrType::a), expected);
}

BOOST_AUTO_TEST_CASE(truncated_udp_answer_retried_over_tcp) {
    std::vector<std::string> expected;
    for (int i = 0; i < 12; ++i)
        expected.push_back("record " + std::string(i < 10 ? "0" : "") + std::to_string(i) + " " +
                           std::string(190, 'x'));
    expect_ok(test_resolver()->query("big.example.test", RrType::txt), expected);
}

BOOST_AUTO_TEST_CASE(nxdomain_and_nodata_are_distinct) {
    auto resolver = test_resolver();
    Answer missing = resolver->query("no-such-name.example.test", RrType::a);
    BOOST_TEST(status_name(missing.status) == "nxdomain");
    BOOST_TEST(missing.records.empty());
    Answer no_aaaa = resolver->query("mx1.example.test", RrType::aaaa);
    BOOST_TEST(status_name(no_aaaa.status) == "nodata");
    BOOST_TEST(no_aaaa.records.empty());
    BOOST_TEST(missing.ttl.count() == 0);
    BOOST_TEST(no_aaaa.ttl.count() == 0);
}

BOOST_AUTO_TEST_CASE(servfail_is_servfail_before_the_deadline) {
    auto started = Clock::now();
    Answer answer = test_resolver(3000ms)->query("servfail.example.test", RrType::txt);
    BOOST_TEST(status_name(answer.status) == "servfail");
    BOOST_TEST(!answer.error_text.empty());
    BOOST_TEST(milliseconds_since(started) < 3000);
}

BOOST_AUTO_TEST_CASE(timeout_within_deadline_then_normal_queries_still_answer) {
    // Declared before the resolver: its destructor may still call the callbacks below.
    std::mutex mutex;
    std::condition_variable all_done;
    std::vector<Status> statuses;
    auto resolver = test_resolver(1000ms);
    auto started = Clock::now();
    Answer answer = resolver->query("timeout.example.test", RrType::txt);
    long elapsed = milliseconds_since(started);
    BOOST_TEST_INFO("error_text: " << answer.error_text);
    BOOST_TEST(status_name(answer.status) == "timeout");
    BOOST_TEST(elapsed >= 900);
    BOOST_TEST(elapsed < 1300);

    // The forwarder ignored one name; it must not be treated as down for the others.
    started = Clock::now();
    expect_ok(resolver->query("after-timeout.example.test", RrType::a), {"192.0.2.78"});
    BOOST_TEST(milliseconds_since(started) < 300);
    // A burst of timeouts at once: each ends by the deadline and none is an answer.
    // (libunbound may turn repeated timeouts of one name into servfail; see
    // unbound_resolver.cc.)
    started = Clock::now();
    for (int i = 0; i < 6; ++i)
        resolver->query_async("timeout.example.test", i % 2 ? RrType::a : RrType::mx,
                              [&](Answer burst) {
                                  std::lock_guard lock(mutex);
                                  statuses.push_back(burst.status);
                                  all_done.notify_all();
                              });
    {
        std::unique_lock lock(mutex);
        all_done.wait_for(lock, 5s, [&] { return statuses.size() == 6; });
        BOOST_TEST(statuses.size() == 6u);
        for (Status status : statuses)
            BOOST_TEST((status == Status::timeout || status == Status::servfail));
    }
    BOOST_TEST(milliseconds_since(started) < 1300);
    started = Clock::now();
    expect_ok(resolver->query("example.test", RrType::a), {"192.0.2.1"});
    expect_ok(resolver->query("mx1.example.test", RrType::a), {"192.0.2.10"});
    BOOST_TEST(milliseconds_since(started) < 300);
}

BOOST_AUTO_TEST_CASE(second_query_is_answered_from_cache) {
    int before = server_query_count("cached.example.test");
    auto resolver = test_resolver();
    expect_ok(resolver->query("cached.example.test", RrType::a), {"192.0.2.77"});
    expect_ok(resolver->query("cached.example.test", RrType::a), {"192.0.2.77"});
    expect_ok(resolver->query("Cached.Example.Test.", RrType::a), {"192.0.2.77"});
    BOOST_TEST(server_query_count("cached.example.test") - before == 1);
}

BOOST_AUTO_TEST_CASE(cached_answer_costs_no_thread_hop) {
    auto resolver = test_resolver();
    expect_ok(resolver->query("example.test", RrType::a), {"192.0.2.1"});
    std::thread::id answered_on;
    resolver->query_async("EXAMPLE.test.", RrType::a, [&](Answer answer) {
        expect_ok(answer, {"192.0.2.1"});
        answered_on = std::this_thread::get_id();
    });
    // Answered before query_async returned, on this thread: not by the event thread.
    BOOST_TEST((answered_on == std::this_thread::get_id()));
}

BOOST_AUTO_TEST_CASE(negative_answers_carry_the_negative_ttl_of_their_soa) {
    auto server = mailwarden::test::DnsTestServer::with_zone(
        "neg.test. 3600 SOA ns.neg.test. hostmaster.neg.test. 1 7200 900 86400 40\n"
        "host.neg.test. 300 A 192.0.2.9\n");
    UnboundOptions options;
    options.servers = {server->address()};
    options.forward_documentation_zones = true;
    auto resolver = make_unbound_resolver(options);
    const Answer missing = resolver->query("missing.neg.test", RrType::a);
    BOOST_TEST(status_name(missing.status) == "nxdomain");
    BOOST_TEST(missing.ttl.count() > 30); // 40, less what libunbound's cache counted down
    BOOST_TEST(missing.ttl.count() <= 40);
    const Answer no_txt = resolver->query("host.neg.test", RrType::txt);
    BOOST_TEST(status_name(no_txt.status) == "nodata");
    BOOST_TEST(no_txt.ttl.count() > 30);
    BOOST_TEST(no_txt.ttl.count() <= 40);
}

BOOST_AUTO_TEST_CASE(query_async_from_eight_threads) {
    constexpr int threads = 8, per_thread = 25;
    std::mutex mutex; // before the resolver, whose destructor may still call `done`
    std::condition_variable all_done;
    int answered = 0, ok = 0;
    auto resolver = test_resolver();
    auto done = [&](Answer answer) {
        std::lock_guard lock(mutex);
        ++answered;
        ok += answer.status == Status::ok && answer.records.size() == 1 &&
              answer.records[0].text == "192.0.2.1";
        all_done.notify_all();
    };
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t)
        workers.emplace_back([&] {
            for (int i = 0; i < per_thread; ++i)
                resolver->query_async(i % 2 ? "example.test" : "www.example.test", RrType::a, done);
        });
    for (auto& worker : workers)
        worker.join();
    std::unique_lock lock(mutex);
    all_done.wait_for(lock, 10s, [&] { return answered == threads * per_thread; });
    BOOST_TEST(answered == threads * per_thread);
    BOOST_TEST(ok == threads * per_thread);
}

BOOST_AUTO_TEST_CASE(blocking_query_from_eight_threads) {
    auto resolver = test_resolver();
    std::atomic<int> ok{0};
    std::vector<std::thread> workers;
    for (int t = 0; t < 8; ++t)
        workers.emplace_back([&, t] {
            for (int i = 0; i < 10; ++i) {
                Answer answer =
                    resolver->query(t % 2 ? "mx1.example.test" : "example.test", RrType::a);
                ok += answer.status == Status::ok;
            }
        });
    for (auto& worker : workers)
        worker.join();
    BOOST_TEST(ok == 80);
}

BOOST_AUTO_TEST_CASE(outstanding_queries_are_answered_once_at_destruction) {
    std::atomic<int> calls{0};
    std::atomic<int> errors{0};
    {
        auto resolver = test_resolver(5000ms);
        resolver->query_async("timeout.example.test", RrType::mx, [&](Answer answer) {
            ++calls;
            errors += answer.status == Status::error;
        });
    }
    BOOST_TEST(calls == 1);
    BOOST_TEST(errors == 1);
}

BOOST_AUTO_TEST_CASE(responder_survives_garbage) {
    namespace asio = boost::asio;
    const std::string& address = mailwarden::test::DnsTestServer::instance().address();
    auto at = address.find('@');
    asio::ip::udp::endpoint server(asio::ip::make_address(address.substr(0, at)),
                                   std::uint16_t(std::stoi(address.substr(at + 1))));
    asio::io_context io;
    asio::ip::udp::socket udp(io, asio::ip::udp::v4());
    // Two questions: FORMERR with the ID copied and QR set.
    const std::string two_questions("\x12\x34\x01\x00\x00\x02\x00\x00\x00\x00\x00\x00", 12);
    udp.send_to(asio::buffer(two_questions), server);
    std::array<unsigned char, 512> reply{};
    std::size_t size = 0;
    udp.async_receive(asio::buffer(reply),
                      [&](boost::system::error_code, std::size_t received) { size = received; });
    io.run_for(2s); // never hang the suite on a silent server
    BOOST_TEST(size == 12u);
    BOOST_TEST(reply[0] == 0x12);
    BOOST_TEST(reply[1] == 0x34);
    BOOST_TEST((reply[2] & 0x80) != 0);
    BOOST_TEST((reply[3] & 0x0f) == 1);
    std::mt19937 random(7);
    for (int i = 0; i < 2000; ++i) {
        std::string packet(std::size_t(random() % 64), '\0');
        for (char& byte : packet)
            byte = char(random());
        udp.send_to(asio::buffer(packet), server);
    }
    for (int i = 0; i < 20; ++i) {
        asio::ip::tcp::socket tcp(io);
        tcp.connect({server.address(), server.port()});
        std::string packet(std::size_t(1 + random() % 40), '\0');
        for (char& byte : packet)
            byte = char(random());
        asio::write(tcp, asio::buffer(packet));
    }
    expect_ok(test_resolver()->query("example.test", RrType::a), {"192.0.2.1"});
}

BOOST_AUTO_TEST_CASE(bad_options_throw_with_a_clear_message) {
    struct Case {
        std::vector<std::string> servers;
        std::chrono::milliseconds timeout;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {{"not-an-ip"}, 1000ms, "dns_servers: 'not-an-ip' is not an IP address"},
        {{"127.0.0.1@"}, 1000ms, "'127.0.0.1@' is not an IP address"},
        {{"127.0.0.1@70000"}, 1000ms, "'127.0.0.1@70000' is not an IP address"},
        {{"127.0.0.1@53x"}, 1000ms, "'127.0.0.1@53x' is not"},
        {{"::1@53", "192.0.2.300"}, 1000ms, "'192.0.2.300' is not an IP address"},
        {{"127.0.0.1"}, 0ms, "dns_timeout must be positive"},
    };
    for (const Case& c : cases) {
        UnboundOptions options;
        options.servers = c.servers;
        options.timeout = c.timeout;
        BOOST_TEST_INFO("expecting: " << c.expected);
        BOOST_CHECK_EXCEPTION(make_unbound_resolver(options), std::runtime_error,
                              [&](const std::runtime_error& error) {
                                  return std::string(error.what()).find(c.expected) !=
                                         std::string::npos;
                              });
    }
    UnboundOptions dnssec;
    dnssec.servers = {"127.0.0.1"};
    dnssec.dnssec = true;
    dnssec.trust_anchor_file = "/nonexistent/root.key";
    BOOST_CHECK_EXCEPTION(
        make_unbound_resolver(dnssec), std::runtime_error, [](const std::runtime_error& error) {
            return std::string(error.what()).find("/nonexistent/root.key") != std::string::npos;
        });
}

BOOST_AUTO_TEST_SUITE_END()
