// bench-store: the state store alone and as the engine uses it. Reports
//   1. store operations per second: one rate-limit check per batch, over many keys;
//   2. batches per second of four checks each (one message's MAIL stage with four limits);
//   3. round trips per message through the engine, counted by a wrapper around the store,
//      with limits at MAIL (3, and the reputation check's 2 reads), RCPT (1, two recipients)
//      and end of message (1): one per stage that uses state, whatever checks share it.
//   4. with --threads N, batches of four from N threads at once (Redis: N pooled connections).
// With --redis ADDR (a redis-server to use; tests/bench/store-bench.sh starts one on loopback)
// the Redis store is measured after LMDB, under a prefix of its own (keys expire by themselves).
// Bounded in count and time; the LMDB file lives in a temporary directory, removed at exit.
//
// usage: bench-store [--seconds S] [--keys N] [--threads N] [--redis HOST:PORT]
#include "dns/fake_resolver.hh"
#include "engine/engine.hh"
#include "engine/message_text.hh"
#include "state/lmdb_store.hh"
#include "state/redis_store.hh"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace mailwarden;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
    double seconds = 3;
    std::size_t keys = 10'000;
    std::size_t threads = 8;
    std::string redis; // HOST:PORT; empty: LMDB only
};

Options parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string name = argv[i];
        if (name == "--seconds")
            options.seconds = std::min(30.0, std::max(0.5, std::stod(argv[i + 1])));
        else if (name == "--threads")
            options.threads = std::min<std::size_t>(64, std::max(1UL, std::stoul(argv[i + 1])));
        else if (name == "--redis")
            options.redis = argv[i + 1];
        else if (name == "--keys")
            options.keys = std::min<std::size_t>(1'000'000, std::max(1UL, std::stoul(argv[i + 1])));
        else
            throw std::invalid_argument("unknown option " + name);
    }
    return options;
}

// Counts the round trips (batches) the engine makes.
struct CountingStore final : state::Store {
    explicit CountingStore(std::shared_ptr<state::Store> backend) : inner(std::move(backend)) {}
    state::BatchResult run(std::span<const state::Operation> operations,
                           state::Millis now) override {
        ++batches;
        operation_count += operations.size();
        return inner->run(operations, now);
    }
    std::string_view backend() const override { return inner->backend(); }
    std::shared_ptr<state::Store> inner;
    std::atomic<std::size_t> batches{0};
    std::atomic<std::size_t> operation_count{0};
};

state::Millis now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Runs batch(i) for about `seconds` (at most 50 million times); returns calls per second.
template <typename Fn> double calls_per_second(double seconds, Fn&& batch) {
    std::size_t calls = 0;
    const auto start = Clock::now();
    const auto stop = start + std::chrono::duration<double>(seconds);
    while (Clock::now() < stop && calls < 50'000'000)
        batch(calls++);
    return static_cast<double>(calls) / std::chrono::duration<double>(Clock::now() - start).count();
}

void bench_backend(const std::string& name, state::Store& store, const Options& options) {
    std::vector<std::string> keys;
    for (std::size_t i = 0; i < options.keys; ++i)
        keys.push_back(state::state_key(state::KeyKind::rate, "bench", std::to_string(i)));
    const double single = calls_per_second(options.seconds, [&](std::size_t i) {
        const state::Operation check =
            state::RateCheck{.key = keys[i % keys.size()], .interval = 1, .burst = 1'000'000};
        if (!store.run({&check, 1}, now_ms()).ok)
            throw std::runtime_error("store failed");
    });
    const double batched = calls_per_second(options.seconds, [&](std::size_t i) {
        std::vector<state::Operation> batch;
        for (std::size_t k = 0; k < 4; ++k)
            batch.push_back(state::RateCheck{
                .key = keys[(i * 4 + k) % keys.size()], .interval = 1, .burst = 1'000'000});
        if (!store.run(batch, now_ms()).ok)
            throw std::runtime_error("store failed");
    });
    std::printf("%s: %.0f operations/s one per batch; %.0f batches/s of 4 (%.0f operations/s)\n",
                name.c_str(), single, batched, batched * 4);
    std::atomic<std::size_t> concurrent{0};
    std::vector<std::thread> threads;
    const auto start = Clock::now();
    for (std::size_t t = 0; t < options.threads; ++t)
        threads.emplace_back([&, t] {
            const double rate = calls_per_second(options.seconds, [&](std::size_t i) {
                std::vector<state::Operation> batch;
                for (std::size_t k = 0; k < 4; ++k)
                    batch.push_back(
                        state::RateCheck{.key = keys[(t * 7919 + i * 4 + k) % keys.size()],
                                         .interval = 1,
                                         .burst = 1'000'000});
                if (!store.run(batch, now_ms()).ok)
                    throw std::runtime_error("store failed");
            });
            concurrent += static_cast<std::size_t>(rate * options.seconds);
        });
    for (auto& thread : threads)
        thread.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("%s: %zu threads: %.0f batches/s of 4 (%.0f operations/s)\n", name.c_str(),
                options.threads, static_cast<double>(concurrent) / elapsed,
                static_cast<double>(concurrent) * 4 / elapsed);
}

void bench_round_trips(std::shared_ptr<state::Store> backend) {
    const auto counting = std::make_shared<CountingStore>(std::move(backend));
    const auto loaded = config::parse_config_text(
        "[general]\nauthserv_id = bench.test\ninternal_networks =\n[limits]\n"
        "ratelimit = per_client client_ip 1000/1s burst=1000000\n"
        "ratelimit = per_net client_subnet 1000/1s burst=1000000\n"
        "ratelimit = per_sender sender 1000/1s burst=1000000\n"
        "ratelimit = per_rcpt recipient 1000/1s burst=1000000\n"
        "ratelimit = quota sender_domain 1000/1s burst=1000000 count=recipients\n"
        "reputation_tempfail_below = -90\n", // the client's records are read at MAIL too
        "bench");
    if (!loaded.ok())
        throw std::runtime_error(loaded.errors.front().to_string());
    dns::FakeResolver resolver = dns::FakeResolver::from_text("");
    const auto suffixes =
        std::make_shared<const auth::PublicSuffixList>(auth::PublicSuffixList::from_text("test\n"));
    const engine::Engine checks(loaded.config, resolver, suffixes, counting);
    const std::size_t messages = 1000;
    for (std::size_t i = 0; i < messages; ++i) {
        auto message = checks.evaluate({.client_ip = "192.0.2." + std::to_string(i % 200),
                                        .client_name = "",
                                        .helo = "h.test"});
        message.mail_from("sender" + std::to_string(i % 50) + "@other.test", "");
        message.recipient("a@example.net");
        message.recipient("b@example.net");
        engine::feed_message(message, "From: a@other.test\nSubject: x\n\nbody\n");
        if (message.end_of_message().rate != "ok")
            throw std::runtime_error("a message was limited or the store failed");
    }
    std::printf("engine (%s): %.2f round trips per message: MAIL 1 (3 limits and 2 reputation "
                "reads, two checks), RCPT 1 per recipient (2), end of message 1; %.2f operations\n",
                std::string(counting->backend()).c_str(),
                static_cast<double>(counting->batches) / messages,
                static_cast<double>(counting->operation_count) / messages);
}

} // namespace

int main(int argc, char** argv) try {
    const Options options = parse_options(argc, argv);
    char pattern[] = "/tmp/mw-bench-store-XXXXXX";
    const std::string dir = ::mkdtemp(pattern);
    struct Cleanup {
        std::string dir;
        ~Cleanup() { std::filesystem::remove_all(dir); }
    } cleanup{dir};
    auto lmdb = std::make_shared<state::LmdbStore>(state::LmdbOptions{.path = dir + "/state.mdb"});
    bench_backend("lmdb", *lmdb, options);
    bench_round_trips(lmdb);
    if (!options.redis.empty()) {
        const std::string prefix = "mw-bench-" + std::to_string(::getpid()) + ":";
        auto redis = std::make_shared<state::RedisStore>(
            state::RedisOptions{.servers = {options.redis},
                                .sentinels = {},
                                .master_name = "",
                                .password = "",
                                .database = 0,
                                .prefix = prefix,
                                .connect_timeout = std::chrono::seconds(1),
                                .command_timeout = std::chrono::seconds(1)});
        bench_backend("redis", *redis, options);
        bench_round_trips(redis);
    }
    return 0;
} catch (const std::exception& error) {
    std::fprintf(stderr, "bench-store: %s\n", error.what());
    return 2;
}
