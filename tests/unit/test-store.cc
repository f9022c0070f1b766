// The Store contract, run against every backend (store_backends(): LMDB, and Redis on a private
// redis-server): outcomes equal the rules of lib/state/rules.cc on the same operations and
// clock, operations are atomic under concurrent threads, batches keep their order, bad keys
// fail the batch. LMDB-specific cases follow: sharing the file between processes, expiry
// sweeping, a full map, a damaged file. Redis-specific ones are in test-redis-store.cc.
#include "redis_server.hh"
#include "state/lmdb_store.hh"
#include "state/redis_store.hh"
#include "state/rules.hh"
#include "store_backends.hh"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace mailwarden::state;
using mailwarden::test::Backend;
using mailwarden::test::make_redis_store;
using mailwarden::test::store_backends;
using mailwarden::test::TempDir;

namespace {

const Millis t0 = 1'800'000'000'000;

// What a store must answer: rules.cc applied to an in-memory map with the same expiry rule.
struct Oracle {
    std::map<std::string, std::pair<std::string, Millis>> values;
    Outcome run(const Operation& operation, Millis now) {
        const std::string& key = key_of(operation);
        std::optional<std::string_view> current;
        if (auto found = values.find(key); found != values.end() && found->second.second > now)
            current = found->second.first;
        Applied applied = apply(operation, current, now);
        if (applied.write == Applied::Write::put)
            values[key] = {applied.value, applied.expires_at};
        else if (applied.write == Applied::Write::erase)
            values.erase(key);
        return applied.outcome;
    }
};

Operation random_operation(std::mt19937& random) {
    const std::string key = "k" + std::to_string(random() % 4);
    switch (random() % 6) {
    case 0:
    case 1:
        return RateCheck{.key = "rate:" + key,
                         .interval = 1000 + static_cast<Millis>(random() % 3) * 500,
                         .burst = 1 + static_cast<std::int64_t>(random() % 4),
                         .cost = static_cast<std::int64_t>(random() % 3)};
    case 2:
        return ReputationChange{.key = "rep:" + key,
                                .good = static_cast<double>(random() % 3),
                                .bad = static_cast<double>(random() % 2) * 0.5,
                                .half_life = 5000};
    case 3:
        return GreylistCheck{
            .key = "grey:" + key, .delay = 2000, .retry_window = 8000, .pass_lifetime = 20000};
    case 4:
        return Inspect{"rate:" + key};
    default:
        return Forget{"grey:" + key};
    }
}

void check_same(const Outcome& got, const Outcome& expected, std::size_t step) {
    BOOST_TEST_CONTEXT("step " << step) {
        BOOST_TEST_REQUIRE(got.index() == expected.index());
        if (const auto* reputation = std::get_if<Reputation>(&got)) {
            BOOST_TEST(reputation->good == std::get<Reputation>(expected).good,
                       boost::test_tools::tolerance(1e-9));
            BOOST_TEST(reputation->bad == std::get<Reputation>(expected).bad,
                       boost::test_tools::tolerance(1e-9));
        } else if (const auto* text = std::get_if<std::string>(&got)) {
            BOOST_TEST(*text == std::get<std::string>(expected));
        } else if (const auto* rate = std::get_if<RateOutcome>(&got)) {
            BOOST_TEST(rate->limited == std::get<RateOutcome>(expected).limited);
            BOOST_TEST(rate->retry_after == std::get<RateOutcome>(expected).retry_after);
        } else {
            BOOST_TEST((got == expected));
        }
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(store)

BOOST_AUTO_TEST_CASE(every_backend_answers_as_the_rules_on_a_random_sequence) {
    for (const Backend& backend : store_backends()) {
        BOOST_TEST_CONTEXT(backend.name) {
            TempDir dir;
            const auto store = backend.make(dir.path);
            BOOST_REQUIRE(store);
            Oracle oracle;
            std::mt19937 random(20261123);
            Millis now = t0;
            std::size_t step = 0;
            for (int round = 0; round < 300; ++round) {
                now += static_cast<Millis>(random() % 1500);
                std::vector<Operation> batch;
                for (std::size_t i = 0, size = 1 + random() % 5; i < size; ++i)
                    batch.push_back(random_operation(random));
                const BatchResult result = store->run(batch, now);
                BOOST_REQUIRE_MESSAGE(result.ok, result.error);
                BOOST_REQUIRE(result.outcomes.size() == batch.size());
                for (std::size_t i = 0; i < batch.size(); ++i)
                    check_same(result.outcomes[i], oracle.run(batch[i], now), step++);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(every_backend_allows_exactly_burst_to_concurrent_threads) {
    for (const Backend& backend : store_backends()) {
        BOOST_TEST_CONTEXT(backend.name) {
            TempDir dir;
            const auto store = backend.make(dir.path);
            std::atomic<int> allowed{0};
            std::vector<std::thread> threads;
            for (int t = 0; t < 8; ++t)
                threads.emplace_back([&] {
                    const Operation check =
                        RateCheck{.key = "rate:shared", .interval = 60'000, .burst = 100};
                    for (int i = 0; i < 50; ++i) {
                        const BatchResult result = store->run({&check, 1}, t0);
                        if (result.ok && !std::get<RateOutcome>(result.outcomes[0]).limited)
                            ++allowed;
                    }
                });
            for (auto& thread : threads)
                thread.join();
            BOOST_TEST(allowed.load() == 100);
        }
    }
}

BOOST_AUTO_TEST_CASE(lmdb_file_is_shared_between_processes) {
    TempDir dir;
    const std::string path = dir.path + "/state.mdb";
    const Operation check = RateCheck{.key = "rate:shared", .interval = 60'000, .burst = 60};
    auto count_allowed = [&](int attempts) {
        LmdbStore store({.path = path});
        int allowed = 0;
        for (int i = 0; i < attempts; ++i) {
            const BatchResult result = store.run({&check, 1}, t0);
            allowed += result.ok && !std::get<RateOutcome>(result.outcomes[0]).limited;
        }
        return allowed;
    };
    const pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0)
        ::_exit(count_allowed(50)); // a count below 256 fits the exit status
    const int here = count_allowed(50);
    int status = 0;
    BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
    BOOST_REQUIRE(WIFEXITED(status));
    BOOST_TEST(here + WEXITSTATUS(status) == 60);
}

BOOST_AUTO_TEST_CASE(lmdb_sweeps_expired_entries_a_few_per_run_and_all_on_request) {
    TempDir dir;
    LmdbStore store({.path = dir.path + "/state.mdb", .sweep_per_run = 16});
    std::vector<Operation> batch;
    for (int i = 0; i < 500; ++i) // each bucket expires when it would be full again: t0 + 1 s
        batch.push_back(RateCheck{.key = "rate:" + std::to_string(i), .interval = 1000});
    batch.push_back(SetReputation{.key = "rep:live", .value = {1, 0}, .half_life = 86'400'000});
    BOOST_REQUIRE(store.run(batch, t0).ok);
    BOOST_TEST(store.entries() == 501);
    const Operation read = Inspect{"rep:live"};
    for (int i = 0; i < 10; ++i)
        BOOST_REQUIRE(store.run({&read, 1}, t0 + 2000).ok);
    BOOST_TEST(store.entries() == 501 - 160); // 16 per run
    BOOST_TEST(store.sweep_all(t0 + 2000) == 340);
    BOOST_TEST(store.entries() == 1);
    const BatchResult live = store.run({&read, 1}, t0 + 2000);
    BOOST_TEST(!std::get<std::string>(live.outcomes[0]).empty());
}

BOOST_AUTO_TEST_CASE(a_full_lmdb_map_fails_the_batch_and_recovers_when_entries_expire) {
    TempDir dir;
    LmdbStore store({.path = dir.path + "/state.mdb", .max_size = 256 * 1024}); // 256 entries
    int stored = 0;
    BatchResult result;
    for (; stored < 100'000; ++stored) {
        const Operation check = RateCheck{
            .key = "rate:" + std::to_string(stored) + std::string(100, 'x'), .interval = 1000};
        result = store.run({&check, 1}, t0);
        if (!result.ok)
            break;
    }
    BOOST_TEST(!result.ok);
    BOOST_TEST(result.error == "state file full (state_max_size)");
    BOOST_TEST(stored == 256);
    // Once they expire, the next batch sweeps them and succeeds.
    const Operation next = RateCheck{.key = "rate:new", .interval = 1000};
    BOOST_TEST(store.run({&next, 1}, t0 + 5000).ok);
}

BOOST_AUTO_TEST_CASE(a_damaged_lmdb_file_is_moved_aside_and_the_store_starts_empty) {
    TempDir dir;
    const std::string path = dir.path + "/state.mdb";
    std::ofstream(path, std::ios::binary) << std::string(64 * 1024, 'Z');
    LmdbStore store({.path = path});
    const Operation read = Inspect{"rate:x"};
    BOOST_TEST(store.run({&read, 1}, t0).ok);
    int aside = 0;
    for (const auto& entry : fs::directory_iterator(dir.path))
        aside += entry.path().filename().string().starts_with("state.mdb.damaged-");
    BOOST_TEST(aside == 1);
}

BOOST_AUTO_TEST_CASE(an_unopenable_lmdb_path_is_a_clear_error) {
    BOOST_CHECK_EXCEPTION(
        LmdbStore({.path = "/nonexistent-dir/state.mdb"}), std::runtime_error,
        [](const std::runtime_error& error) {
            return std::string(error.what())
                       .find("cannot open state file /nonexistent-dir/state.mdb") == 0;
        });
}

BOOST_AUTO_TEST_CASE(every_backend_fails_a_batch_with_an_oversized_or_empty_key_without_harm) {
    for (const Backend& backend : store_backends()) {
        BOOST_TEST_CONTEXT(backend.name) {
            TempDir dir;
            const auto store = backend.make(dir.path);
            for (const std::string& key : {std::string(), std::string(1000, 'k')}) {
                const Operation check = RateCheck{.key = key};
                const BatchResult result = store->run({&check, 1}, t0);
                BOOST_TEST(!result.ok);
            }
            const Operation fine = RateCheck{.key = "rate:ok"};
            BOOST_TEST(store->run({&fine, 1}, t0).ok);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
