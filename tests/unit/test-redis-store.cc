// state/redis_store against real redis-server processes (tests/unit/redis_server.hh): what the
// shared suite in test-store.cc cannot show. Scripts come back after SCRIPT FLUSH and after a
// restart; prefix, AUTH and database; a replica is never written to; an outage and a stalled
// server cost at most the configured timeouts and service resumes by itself; BreakerStore on
// top stops calling a dead server; a Sentinel failover is followed without a restart.
#include "redis_server.hh"
#include "state/breaker.hh"
#include "state/redis_store.hh"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <thread>

using namespace mailwarden::state;
using mailwarden::test::eventually;
using mailwarden::test::RedisTestServer;
using namespace std::chrono_literals;

namespace {

const Millis t0 = 1'800'000'000'000;

RedisOptions options_for(const std::string& server, std::string prefix = "mw-test:") {
    return RedisOptions{.servers = {server},
                        .sentinels = {},
                        .master_name = "",
                        .password = "",
                        .database = 0,
                        .prefix = std::move(prefix),
                        .connect_timeout = 250ms,
                        .command_timeout = 250ms};
}

// A rate check allowing 2 per minute: the third at the same instant is limited.
const Operation two_per_minute = RateCheck{.key = "rate:test", .interval = 30'000, .burst = 2};

bool limited(const BatchResult& result) {
    return result.ok && std::get<RateOutcome>(result.outcomes.at(0)).limited;
}

std::chrono::milliseconds timed(const std::function<void()>& work) {
    const auto start = std::chrono::steady_clock::now();
    work();
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 start);
}

} // namespace

BOOST_AUTO_TEST_SUITE(redis_store)

BOOST_AUTO_TEST_CASE(scripts_are_loaded_again_after_script_flush_without_counting_twice) {
    RedisTestServer server;
    RedisStore store(options_for(server.address()));
    BOOST_TEST(store.run({&two_per_minute, 1}, t0).ok);
    BOOST_TEST(server.command({"SCRIPT", "FLUSH"}) == "OK");
    // NOSCRIPT, SCRIPT LOAD, and the call again: counted once, so this is the second of two.
    const BatchResult second = store.run({&two_per_minute, 1}, t0);
    BOOST_TEST(second.ok);
    BOOST_TEST(!limited(second));
    BOOST_TEST(limited(store.run({&two_per_minute, 1}, t0)));
}

BOOST_AUTO_TEST_CASE(keys_carry_the_prefix_and_values_their_expiry) {
    RedisTestServer server;
    RedisStore store(options_for(server.address(), "fleet1:"));
    BOOST_TEST(store.run({&two_per_minute, 1}, t0).ok);
    BOOST_TEST(server.command({"KEYS", "*"}) == "fleet1:rate:test");
    // "EXPIRES TAT": the bucket's theoretical arrival time, kept until then.
    const std::string tat = std::to_string(t0 + 30'000);
    BOOST_TEST(server.command({"GET", "fleet1:rate:test"}) == tat + " " + tat);
    const long ttl = std::stol(server.command({"PTTL", "fleet1:rate:test"}));
    BOOST_TEST((ttl > 25'000 && ttl <= 30'000));
    const Operation inspect = Inspect{"rate:test"};
    BOOST_TEST(std::get<std::string>(store.run({&inspect, 1}, t0).outcomes.at(0)) == tat);
}

BOOST_AUTO_TEST_CASE(password_and_database_are_used_and_a_wrong_password_is_a_clear_error) {
    RedisTestServer server({"--requirepass", "s3cret-pw"});
    RedisOptions options = options_for(server.address());
    options.password = "wrong-pw";
    RedisStore wrong(options);
    const BatchResult refused = wrong.run({&two_per_minute, 1}, t0);
    BOOST_TEST(!refused.ok);
    BOOST_TEST(refused.error.find("redis " + server.address()) == 0, refused.error);
    BOOST_TEST(refused.error.find("pass") != std::string::npos, refused.error); // WRONGPASS
    BOOST_TEST(refused.error.find("wrong-pw") == std::string::npos);

    options.password = "s3cret-pw";
    options.database = 3;
    RedisStore right(options);
    BOOST_TEST(right.run({&two_per_minute, 1}, t0).ok);
    BOOST_TEST(server.command({"DBSIZE"}).find("NOAUTH") == 0); // it does want a password

    RedisTestServer open_server;
    options = options_for(open_server.address());
    options.database = 3;
    RedisStore selected(options);
    BOOST_TEST(selected.run({&two_per_minute, 1}, t0).ok);
    BOOST_TEST(open_server.command({"DBSIZE"}) == "0");
    BOOST_TEST(open_server.command(
                   {"EVAL", "redis.call('SELECT', 3) return redis.call('DBSIZE')", "0"}) == "1");
}

BOOST_AUTO_TEST_CASE(a_replica_listed_first_is_passed_over_for_the_master) {
    RedisTestServer master;
    RedisTestServer replica({"--replicaof", "127.0.0.1", std::to_string(master.port())});
    RedisOptions options = options_for(replica.address());
    options.servers.push_back(master.address());
    RedisStore store(options);
    BOOST_TEST(store.run({&two_per_minute, 1}, t0).ok);
    BOOST_TEST(store.current_server() == master.address());
    BOOST_TEST(master.command({"DBSIZE"}) == "1");
}

// A Redis at maxmemory under maxmemory-policy noeviction (its default) refuses writes with OOM.
// That is not an outage: the batch succeeds, a bucket over its limit still refuses, what cannot
// be counted passes uncounted, a new greylist triplet is let through (it could never pass), and
// the breaker stays closed; an admin's change that cannot be stored fails. Once Redis has room
// again, counting resumes.
BOOST_AUTO_TEST_CASE(a_full_redis_keeps_refusing_what_it_holds_and_the_breaker_stays_closed) {
    RedisTestServer server;
    BreakerStore store(std::make_unique<RedisStore>(options_for(server.address())));
    const Operation held = RateCheck{.key = "rate:held", .interval = 3'600'000};
    BOOST_TEST_REQUIRE(!limited(store.run({&held, 1}, t0)));
    BOOST_TEST(server.command({"EVAL",
                               "for i = 1, 20000 do redis.call('SET', 'junk:' .. i, "
                               "string.rep('x', 100)) end return 1",
                               "0"}) == "1");
    BOOST_TEST(server.command({"CONFIG", "SET", "maxmemory", "1mb"}) == "OK");
    BOOST_TEST_REQUIRE(server.command({"SET", "probe", "x"}).find("OOM") == 0);

    for (int i = 1; i <= 5; ++i)
        BOOST_TEST(limited(store.run({&held, 1}, t0 + i)));
    const Operation fresh = RateCheck{.key = "rate:fresh", .interval = 3'600'000};
    for (int i = 1; i <= 5; ++i) {
        const BatchResult result = store.run({&fresh, 1}, t0 + i);
        BOOST_TEST_REQUIRE(result.ok, result.error);
        BOOST_TEST(!limited(result)); // not counted: nothing to refuse it by
    }
    const std::vector<Operation> stage{
        GreylistCheck{.key = "grey:new"},
        ReputationChange{.key = "rep:ip", .good = 1, .bad = 0, .half_life = 86'400'000}};
    const BatchResult mixed = store.run(stage, t0 + 10);
    BOOST_TEST_REQUIRE(mixed.ok, mixed.error);
    BOOST_TEST((std::get<GreylistOutcome>(mixed.outcomes[0]) == GreylistOutcome::known));
    BOOST_TEST(std::get<Reputation>(mixed.outcomes[1]).good == 1.0);
    BOOST_TEST(!store.open());
    const Operation set = SetReputation{.key = "rep:x", .value = {1, 0}};
    const BatchResult refused = store.run({&set, 1}, t0 + 11);
    BOOST_TEST(!refused.ok);
    BOOST_TEST(refused.error.find("full") != std::string::npos, refused.error);

    BOOST_TEST(server.command({"CONFIG", "SET", "maxmemory", "0"}) == "OK");
    BOOST_TEST(!limited(store.run({&fresh, 1}, t0 + 20)));
    BOOST_TEST(limited(store.run({&fresh, 1}, t0 + 21)));
}

BOOST_AUTO_TEST_CASE(a_stopped_server_fails_batches_at_once_and_a_restarted_one_is_used_again) {
    RedisTestServer server;
    RedisStore store(options_for(server.address()));
    BOOST_TEST(store.run({&two_per_minute, 1}, t0).ok);
    server.stop();
    BatchResult down;
    const auto took = timed([&] { down = store.run({&two_per_minute, 1}, t0); });
    BOOST_TEST(!down.ok);
    BOOST_TEST(down.error.find("redis " + server.address()) == 0, down.error);
    BOOST_TEST(took < 250ms + 500ms); // refused at once, within the connect timeout anyway
    server.start();                   // empty again: no persistence
    // The first batch after the restart meets no stale pooled connection error.
    const BatchResult back = store.run({&two_per_minute, 1}, t0);
    BOOST_TEST(back.ok, back.error);
}

BOOST_AUTO_TEST_CASE(a_restart_between_batches_costs_no_failed_batch) {
    RedisTestServer server;
    RedisStore store(options_for(server.address()));
    // Four pooled connections, all of which the restart makes stale.
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&] {
            for (int i = 0; i < 20; ++i)
                store.run({&two_per_minute, 1}, t0);
        });
    for (auto& thread : threads)
        thread.join();
    server.start();
    for (int i = 0; i < 6; ++i) {
        const BatchResult result = store.run({&two_per_minute, 1}, t0 + i * 60'000);
        BOOST_TEST(result.ok, "batch " << i << ": " << result.error);
    }
}

BOOST_AUTO_TEST_CASE(a_server_that_does_not_answer_costs_the_command_timeout) {
    RedisTestServer server;
    RedisStore store(options_for(server.address()));
    BOOST_TEST(store.run({&two_per_minute, 1}, t0).ok);
    server.pause();
    BatchResult stalled;
    const auto took = timed([&] { stalled = store.run({&two_per_minute, 1}, t0); });
    server.resume();
    BOOST_TEST(!stalled.ok);
    BOOST_TEST(stalled.error.find("timed out") != std::string::npos, stalled.error);
    BOOST_TEST(took >= 200ms);
    BOOST_TEST(took < 250ms + 1000ms);
    BOOST_TEST(store.run({&two_per_minute, 1}, t0).ok);
}

BOOST_AUTO_TEST_CASE(the_breaker_stops_calling_a_dead_server_and_closes_when_it_is_back) {
    RedisTestServer server;
    BreakerStore store(
        std::make_unique<RedisStore>(options_for(server.address())),
        BreakerOptions{.failures_to_open = 3, .cooldown = 300ms, .log_interval = 60s});
    BOOST_TEST(store.run({&two_per_minute, 1}, t0).ok);
    server.pause(); // the worst case: every call would wait for the timeout
    int failed = 0;
    const auto took = timed([&] {
        for (int i = 0; i < 50; ++i)
            failed += store.run({&two_per_minute, 1}, t0).ok ? 0 : 1;
    });
    BOOST_TEST(failed == 50);
    BOOST_TEST(store.open());
    BOOST_TEST(took < 3 * 250ms + 1500ms); // three timeouts, not fifty
    server.resume();
    BOOST_TEST(eventually([&] { return store.run({&two_per_minute, 1}, t0).ok; }, 5s));
    BOOST_TEST(!store.open());
}

BOOST_AUTO_TEST_CASE(a_sentinel_failover_is_followed_without_a_restart) {
    RedisTestServer master;
    RedisTestServer replica({"--replicaof", "127.0.0.1", std::to_string(master.port())});
    BOOST_REQUIRE(eventually(
        [&] {
            return replica.command({"INFO", "replication"}).find("master_link_status:up") !=
                   std::string::npos;
        },
        10s));
    const auto sentinel1 = RedisTestServer::sentinel("mw", master.port(), 1);
    const auto sentinel2 = RedisTestServer::sentinel("mw", master.port(), 1);
    // Both Sentinels know the replica (and each other) before the master goes.
    BOOST_REQUIRE(eventually(
        [&] {
            for (const auto* sentinel : {sentinel1.get(), sentinel2.get()}) {
                if (sentinel->command({"SENTINEL", "replicas", "mw"}).empty() ||
                    sentinel->command({"SENTINEL", "sentinels", "mw"}).empty())
                    return false;
            }
            return true;
        },
        20s));

    RedisOptions options = options_for("");
    options.servers.clear();
    options.sentinels = {sentinel1->address(), sentinel2->address()};
    options.master_name = "mw";
    RedisStore store(options);
    BOOST_TEST(store.run({&two_per_minute, 1}, t0).ok);
    BOOST_TEST(store.run({&two_per_minute, 1}, t0).ok);
    BOOST_TEST(store.current_server() == master.address());
    BOOST_TEST(master.command({"WAIT", "1", "2000"}) == "1"); // the replica has the bucket

    master.stop();
    BOOST_TEST(eventually([&] { return store.run({&two_per_minute, 1}, t0).ok; }, 30s));
    BOOST_TEST(store.current_server() == replica.address());
    // The bucket came along: still full.
    BOOST_TEST(limited(store.run({&two_per_minute, 1}, t0)));
}

BOOST_AUTO_TEST_CASE(unusable_options_are_refused_when_the_store_is_made) {
    for (const RedisOptions& options :
         {RedisOptions{}, options_for("127.0.0.1:99999"), options_for("bad host:1")}) {
        BOOST_CHECK_THROW(RedisStore{options}, std::invalid_argument);
    }
    RedisOptions nameless = options_for("127.0.0.1:6379");
    nameless.sentinels = {"127.0.0.1:26379"};
    nameless.master_name = "";
    BOOST_CHECK_THROW(RedisStore{nameless}, std::invalid_argument);
}

BOOST_AUTO_TEST_SUITE_END()
