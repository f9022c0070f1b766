// The Store contract, run against every backend (store_backends(): LMDB, and Redis on a private
// redis-server): outcomes equal the rules of lib/state/rules.cc on the same operations and
// clock, operations are atomic under concurrent threads, batches keep their order, bad keys
// fail the batch. LMDB-specific cases follow: sharing the file between processes, expiry
// sweeping, a full map, a damaged file. Redis-specific ones are in test-redis-store.cc.
#include "log_capture.hh"
#include "redis_server.hh"
#include "state/lmdb_store.hh"
#include "state/redis_store.hh"
#include "state/rules.hh"
#include "store_backends.hh"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sys/wait.h>
#include <syslog.h>
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

// LMDB's page size here, and where the meta page keeps MAIN_DBI's root page number (lmdb's
// MDB_meta after the 16-byte page header: magic, version, address, mapsize, FREE_DBI's MDB_db,
// then MAIN_DBI's, whose md_root is its last field).
const std::size_t page_size = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
constexpr std::size_t main_root_offset = 16 + 4 + 4 + 8 + 8 + 48 + 40;

void fill(Store& store, int keys) {
    std::vector<Operation> batch;
    for (int i = 0; i < keys; ++i)
        batch.push_back(RateCheck{.key = "rate:" + std::to_string(i), .interval = 60'000});
    BOOST_REQUIRE(store.run(batch, t0).ok);
}

void fill_store(const std::string& path, int keys) {
    LmdbStore store({.path = path});
    fill(store, keys);
}

void write_at(const std::string& path, std::size_t offset, const std::string& bytes) {
    const int fd = ::open(path.c_str(), O_WRONLY);
    BOOST_REQUIRE(fd >= 0);
    BOOST_REQUIRE(::pwrite(fd, bytes.data(), bytes.size(), static_cast<off_t>(offset)) ==
                  static_cast<ssize_t>(bytes.size()));
    ::close(fd);
}

int damaged_files(const std::string& dir) {
    int count = 0;
    for (const auto& entry : fs::directory_iterator(dir))
        count += entry.path().filename().string().starts_with("state.mdb.damaged-");
    return count;
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

// Each commit grows the file while other threads check it before their batch: a file that is
// only growing is never judged shorter than its pages and moved aside.
BOOST_AUTO_TEST_CASE(a_growing_lmdb_file_is_never_taken_for_damaged_by_its_own_writers) {
    TempDir dir;
    LmdbStore store(LmdbOptions{.path = dir.path + "/state.mdb"});
    constexpr int threads_n = 4, keys_per_thread = 1500;
    std::atomic<int> failed{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < threads_n; ++t)
        threads.emplace_back([&, t] {
            const std::string padding(300, 'p'); // a dozen keys fill a page
            for (int i = 0; i < keys_per_thread; ++i) {
                const Operation check = RateCheck{.key = "rate:" + std::to_string(t) + ":" +
                                                         std::to_string(i) + padding,
                                                  .interval = 3'600'000,
                                                  .burst = 10};
                if (!store.run({&check, 1}, t0).ok)
                    ++failed;
            }
        });
    for (auto& thread : threads)
        thread.join();
    BOOST_TEST(failed.load() == 0);
    BOOST_TEST(damaged_files(dir.path) == 0);
    BOOST_TEST(store.entries() == static_cast<std::size_t>(threads_n * keys_per_thread));
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

// The daemons open the store, then detach (fork; the parent exits). fcntl locks are not
// inherited: a child that went on with the parent's environment held no lock on PATH-lock, and
// the next process to open the file took itself for the first and reset the writer mutex. The
// child opens the file again on its first batch, and holds its lock.
BOOST_AUTO_TEST_CASE(a_store_opened_before_a_fork_is_opened_again_in_the_child) {
    TempDir dir;
    const std::string path = dir.path + "/state.mdb";
    auto store = std::make_unique<LmdbStore>(LmdbOptions{.path = path});
    int ready[2], done[2];
    BOOST_REQUIRE(::pipe(ready) == 0 && ::pipe(done) == 0);
    const pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
        const Operation check = RateCheck{.key = "rate:k", .interval = 60'000};
        char byte = store->run({&check, 1}, t0).ok ? 'y' : 'n';
        if (::write(ready[1], &byte, 1) != 1 || ::read(done[0], &byte, 1) != 1)
            ::_exit(3);
        ::_exit(0);
    }
    store.reset(); // as the daemon's parent exits: only the child may hold a lock now
    char byte = 0;
    BOOST_REQUIRE(::read(ready[0], &byte, 1) == 1);
    BOOST_TEST(byte == 'y');
    const int lock_file = ::open((path + "-lock").c_str(), O_RDWR);
    BOOST_REQUIRE(lock_file >= 0);
    struct flock probe {};
    probe.l_type = F_WRLCK;
    probe.l_whence = SEEK_SET;
    BOOST_REQUIRE(::fcntl(lock_file, F_GETLK, &probe) == 0);
    BOOST_TEST(probe.l_type != F_UNLCK); // the child's shared lock
    BOOST_TEST(probe.l_pid == child);
    ::close(lock_file);
    BOOST_TEST(::write(done[1], &byte, 1) == 1);
    int status = 0;
    BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
    BOOST_TEST((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    for (const int fd : {ready[0], ready[1], done[0], done[1]})
        ::close(fd);
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

// state_max_size = 1M holds 1024 entries. 1,100 one-per-hour buckets overflow it: the store
// makes room (the buckets nearest their end go, 1/64 of the limit at a time) instead of failing,
// and every bucket it still holds keeps counting exactly.
BOOST_AUTO_TEST_CASE(a_full_lmdb_store_makes_room_and_keeps_counting_what_it_holds) {
    TempDir dir;
    LmdbStore store({.path = dir.path + "/state.mdb", .max_size = 1024 * 1024});
    auto bucket = [](int i) {
        return RateCheck{.key = "rate:rcpt:" + std::to_string(i), .interval = 3'600'000};
    };
    auto limited = [&](int i, Millis now) {
        const Operation check = bucket(i);
        const BatchResult result = store.run({&check, 1}, now);
        BOOST_TEST_REQUIRE(result.ok, result.error);
        return std::get<RateOutcome>(result.outcomes[0]).limited;
    };
    for (int i = 0; i < 1100; ++i) // one a millisecond: the first is the nearest its end
        BOOST_TEST_REQUIRE(!limited(i, t0 + i));
    BOOST_TEST(store.entries() <= 1024U);
    int held = 0;
    for (int i = 1099; i >= 0 && limited(i, t0 + 2000); --i)
        ++held;
    BOOST_TEST(held >= 1024 - 1024 / 64); // evicted: only the oldest, at most one pass's worth
    BOOST_TEST(held < 1100);
    // Expired entries go before any live one: after an hour the old buckets make the room.
    BOOST_TEST(!limited(5000, t0 + 3'600'000 + 5000));
    BOOST_TEST(limited(5000, t0 + 3'600'000 + 5001));
}

// What goes first when the store is full: the expired entries, even when they are younger than
// the live ones (not the oldest written, not the least used).
BOOST_AUTO_TEST_CASE(a_full_lmdb_store_drops_expired_entries_before_older_live_ones) {
    TempDir dir;
    LmdbStore store({.path = dir.path + "/state.mdb", .max_size = 1024 * 1024});
    auto limited = [&](const std::string& key, Millis interval, Millis now) {
        const Operation check = RateCheck{.key = key, .interval = interval};
        const BatchResult result = store.run({&check, 1}, now);
        BOOST_TEST_REQUIRE(result.ok, result.error);
        return std::get<RateOutcome>(result.outcomes[0]).limited;
    };
    const auto live = [](int i) { return "rate:rcpt:live:" + std::to_string(i); };
    for (int i = 0; i < 500; ++i) // an hour each, written first
        BOOST_TEST_REQUIRE(!limited(live(i), 3'600'000, t0 + i));
    for (int i = 0; i < 450; ++i) // a second each, written later: expired ten seconds on
        BOOST_TEST_REQUIRE(!limited("rate:rcpt:short:" + std::to_string(i), 1000, t0 + 1000 + i));
    for (int i = 500; i < 800; ++i) // more than the store holds with the short ones kept
        BOOST_TEST_REQUIRE(!limited(live(i), 3'600'000, t0 + 10'000 + i));
    BOOST_TEST(store.entries() <= 1024U);
    int held = 0;
    for (int i = 0; i < 800; ++i)
        held += limited(live(i), 3'600'000, t0 + 20'000) ? 1 : 0;
    BOOST_TEST(held == 800); // every live bucket still counts
}

// The entry budget leaves LMDB the pages it needs: the largest keys (400 bytes) in the smallest
// state file (1M) never meet LMDB's own MDB_MAP_FULL.
BOOST_AUTO_TEST_CASE(the_entry_budget_keeps_pages_for_the_largest_keys_in_the_smallest_file) {
    TempDir dir;
    LmdbStore store({.path = dir.path + "/state.mdb", .max_size = 1024 * 1024});
    for (int i = 0; i < 3000; ++i) {
        std::string key = "rate:" + std::to_string(i);
        key.resize(400, 'x');
        const Operation check = RateCheck{.key = key, .interval = 3'600'000};
        const BatchResult result = store.run({&check, 1}, t0 + i);
        BOOST_TEST_REQUIRE(result.ok, "key " << i << ": " << result.error);
    }
    BOOST_TEST(store.entries() <= 1024U);
}

// state_sync = yes (LmdbSync::data) and the bench's full flush count the same; only the cost
// differs (tests/bench/bench-store --sync-rounds).
BOOST_AUTO_TEST_CASE(every_lmdb_sync_setting_counts_the_same) {
    for (const LmdbSync sync : {LmdbSync::none, LmdbSync::data, LmdbSync::full}) {
        TempDir dir;
        LmdbStore store({.path = dir.path + "/state.mdb", .sync = sync});
        const Operation check = RateCheck{.key = "rate:k", .interval = 60'000, .burst = 2};
        std::vector<bool> limited;
        for (int i = 0; i < 3; ++i)
            limited.push_back(
                std::get<RateOutcome>(store.run({&check, 1}, t0).outcomes.at(0)).limited);
        BOOST_TEST((limited == std::vector<bool>{false, false, true}));
    }
}

BOOST_AUTO_TEST_CASE(an_unreadable_lmdb_file_is_moved_aside_and_the_store_starts_empty) {
    TempDir dir;
    const std::string path = dir.path + "/state.mdb";
    std::ofstream(path, std::ios::binary) << std::string(64 * 1024, 'Z');
    LmdbStore store({.path = path});
    const Operation read = Inspect{"rate:x"};
    BOOST_TEST(store.run({&read, 1}, t0).ok);
    BOOST_TEST(damaged_files(dir.path) == 1);
}

// A file cut short (a disk full, a bad copy) names pages it no longer has; reading one is
// SIGBUS. Found at open: the daemons move it aside, the admin tool leaves it and says why.
BOOST_AUTO_TEST_CASE(a_truncated_lmdb_file_is_found_at_open_before_any_page_is_read) {
    TempDir dir;
    const std::string path = dir.path + "/state.mdb";
    fill_store(path, 2000);
    BOOST_REQUIRE(fs::file_size(path) > 64 * 1024);
    fs::resize_file(path, 16 * 1024);
    BOOST_CHECK_EXCEPTION(LmdbStore({.path = path, .on_damage = OnDamage::refuse}),
                          StateFileDamaged, [](const StateFileDamaged& error) {
                              return std::string(error.what()).find("shorter than its last page") !=
                                     std::string::npos;
                          });
    BOOST_TEST(damaged_files(dir.path) == 0);
    BOOST_TEST(fs::file_size(path) == 16U * 1024);
    LmdbStore store({.path = path});
    BOOST_TEST(damaged_files(dir.path) == 1);
    const Operation read = Inspect{"rate:1"};
    const BatchResult result = store.run({&read, 1}, t0);
    BOOST_TEST_REQUIRE(result.ok);
    BOOST_TEST(std::get<std::string>(result.outcomes[0]).empty());
}

// Damage met by a running store: each kind is found before a page is read (a short file) or
// reported by LMDB (a page that does not parse, a page beyond the last); the file is moved aside
// and the batch runs again on an empty one. A crash here would end the test run (SIGBUS).
BOOST_AUTO_TEST_CASE(damage_met_while_running_moves_the_file_aside_and_the_batch_goes_on) {
    const std::vector<std::pair<std::string, std::function<void(const std::string&)>>> damages{
        {"truncated while open", [](const std::string& path) { fs::resize_file(path, 16384); }},
        {"pages zeroed (MDB_CORRUPTED)",
         [](const std::string& path) {
             const std::string zeros(fs::file_size(path) - 2 * page_size, '\0');
             write_at(path, 2 * page_size, zeros);
         }},
        {"root beyond the last page (MDB_PAGE_NOTFOUND)",
         [](const std::string& path) {
             for (std::size_t meta = 0; meta < 2; ++meta) // MAIN_DBI's md_root in both metas
                 write_at(path, meta * page_size + main_root_offset,
                          std::string("\xff\xff\x00\x00\x00\x00\x00\x00", 8));
         }},
    };
    const mailwarden::test::DefaultLogSettings restore;
    for (const auto& [name, damage] : damages) {
        BOOST_TEST_CONTEXT(name) {
            TempDir dir;
            const std::string path = dir.path + "/state.mdb";
            LmdbStore store({.path = path});
            fill(store, 2000);
            damage(path);
            const Operation check = RateCheck{.key = "rate:1", .interval = 60'000};
            std::string logged;
            {
                const mailwarden::test::StderrCapture capture;
                mailwarden::util::log_configure(mailwarden::util::LogSettings{
                    .ident = "mw-test",
                    .facility = LOG_MAIL,
                    .also_stderr = true,
                    .threshold = mailwarden::util::Severity::warning});
                const BatchResult result = store.run({&check, 1}, t0 + 1);
                BOOST_TEST_REQUIRE(result.ok, result.error);
                BOOST_TEST(!std::get<RateOutcome>(result.outcomes[0]).limited); // a new file
                BOOST_TEST(store.run({&check, 1}, t0 + 2).ok);
                BOOST_TEST(store.run({&check, 1}, t0 + 3).ok);
                mailwarden::util::log_configure(mailwarden::util::LogSettings{});
                logged = capture.captured();
            }
            BOOST_TEST(damaged_files(dir.path) == 1);
            BOOST_TEST(store.entries() == 1U);
            // One error line says so, nothing else is logged.
            BOOST_TEST(std::count(logged.begin(), logged.end(), '\n') == 1, logged);
            BOOST_TEST(logged.find("state file damaged: moved aside, going on with an empty one") !=
                           std::string::npos,
                       logged);
        }
    }
}

// The admin tool's store (OnDamage::refuse) leaves a file damaged under it as it is.
BOOST_AUTO_TEST_CASE(a_refusing_store_fails_the_batch_on_damage_and_moves_nothing) {
    TempDir dir;
    const std::string path = dir.path + "/state.mdb";
    LmdbStore store({.path = path, .on_damage = OnDamage::refuse});
    fill(store, 2000);
    fs::resize_file(path, 16384);
    const Operation read = Inspect{"rate:1"};
    const BatchResult result = store.run({&read, 1}, t0);
    BOOST_TEST(!result.ok);
    BOOST_TEST(result.error.find("is damaged") != std::string::npos, result.error);
    BOOST_TEST(damaged_files(dir.path) == 0);
}

// Both daemons share the file: when one meets damage and moves the file aside, the other follows
// to the new file (it sees the old one turn read-only) instead of writing on in the old one,
// and only one error is logged (one file moved).
BOOST_AUTO_TEST_CASE(a_process_sharing_the_file_follows_when_another_moves_it_aside) {
    TempDir dir;
    const std::string path = dir.path + "/state.mdb";
    fill_store(path, 2000);
    int to_child[2], to_parent[2];
    BOOST_REQUIRE(::pipe(to_child) == 0 && ::pipe(to_parent) == 0);
    const pid_t child = ::fork();
    BOOST_REQUIRE(child >= 0);
    if (child == 0) {
        LmdbStore store({.path = path});
        char byte = 'r';
        if (::write(to_parent[1], &byte, 1) != 1 || ::read(to_child[0], &byte, 1) != 1)
            ::_exit(3); // (open; then the parent moved the file aside)
        const Operation check = RateCheck{.key = "rate:shared", .interval = 60'000};
        const BatchResult result = store.run({&check, 1}, t0);
        ::_exit(!result.ok ? 2 : std::get<RateOutcome>(result.outcomes[0]).limited ? 1 : 0);
    }
    char byte = 0;
    BOOST_REQUIRE(::read(to_parent[0], &byte, 1) == 1);
    {
        LmdbStore store({.path = path});
        write_at(path, 2 * page_size, std::string(fs::file_size(path) - 2 * page_size, '\0'));
        const Operation check = RateCheck{.key = "rate:shared", .interval = 60'000};
        BOOST_TEST(store.run({&check, 1}, t0).ok); // counted in the new file
        BOOST_TEST(::write(to_child[1], &byte, 1) == 1);
        int status = 0;
        BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
        BOOST_TEST(WIFEXITED(status));
        BOOST_TEST(WEXITSTATUS(status) == 1); // the child saw the count of the new file
    }
    BOOST_TEST(damaged_files(dir.path) == 1);
    for (const int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]})
        ::close(fd);
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
