// Unit tests of the answer cache in front of the resolver (lib/dns/answer_cache): hits, expiry
// by TTL on a clock of the test's own, negative answers kept for their SOA's negative TTL,
// failures never kept, the entry and byte bounds, and concurrent use. Upstream is a
// FakeResolver, whose query counts show what reached it. No network.
#include "dns/answer_cache.hh"
#include "dns/fake_resolver.hh"
#include "dns/wire.hh"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <random>
#include <thread>

using namespace mailwarden::dns;
using namespace std::chrono_literals;
using Clock = AnswerCache::Clock;

namespace {

const std::string zone_text = R"(
a.test.            300 A     192.0.2.1
a.test.            300 TXT   "v=spf1 -all"
zero.test.           0 A     192.0.2.2
soa.test.         3600 SOA   ns.soa.test. host.soa.test. 1 7200 900 86400 30
known.soa.test.    300 A     192.0.2.3
long-soa.test.  999999 SOA   ns.soa.test. host.soa.test. 1 7200 900 86400 999999
broken.test.       SERVFAIL
silent.test.       TIMEOUT
)";

// A caching resolver over a FakeResolver, on a clock the test moves.
struct Fixture {
    explicit Fixture(CacheOptions options = {}) {
        auto fake = std::make_unique<FakeResolver>(FakeResolver::from_text(zone_text));
        upstream = fake.get();
        resolver = make_caching_resolver(std::move(fake), options, [this] { return now; });
    }
    std::size_t asked(std::string_view name) const { return upstream->query_count(name); }

    Clock::time_point now = Clock::time_point() + 1000h;
    FakeResolver* upstream = nullptr;
    std::unique_ptr<Resolver> resolver;
};

Answer answer_with(Status status, std::size_t records, std::size_t text_bytes,
                   std::chrono::seconds ttl = 300s) {
    Answer answer;
    answer.status = status;
    answer.ttl = ttl;
    for (std::size_t i = 0; i < records; ++i)
        answer.records.push_back({std::string(text_bytes, 'x'), 0});
    return answer;
}

} // namespace

BOOST_AUTO_TEST_SUITE(dns_cache)

BOOST_AUTO_TEST_CASE(second_query_is_a_hit_whatever_the_spelling) {
    Fixture f;
    BOOST_TEST(f.resolver->query("a.test", RrType::a).records.at(0).text == "192.0.2.1");
    BOOST_TEST(f.resolver->query("A.Test.", RrType::a).records.at(0).text == "192.0.2.1");
    BOOST_TEST(status_name(f.resolver->query("a.TEST", RrType::a).status) == "ok");
    BOOST_TEST(f.asked("a.test") == 1u);
    // The type is part of the key.
    BOOST_TEST(f.resolver->query("a.test", RrType::txt).records.at(0).text == "v=spf1 -all");
    BOOST_TEST(f.asked("a.test") == 2u);
}

BOOST_AUTO_TEST_CASE(cached_answer_is_given_on_the_callers_thread) {
    Fixture f;
    f.resolver->query("a.test", RrType::a);
    std::thread::id answered_on;
    Answer answer;
    f.resolver->query_async("a.test", RrType::a, [&](Answer given) {
        answered_on = std::this_thread::get_id();
        answer = std::move(given);
    });
    BOOST_TEST((answered_on == std::this_thread::get_id()));
    BOOST_TEST(answer.records.at(0).text == "192.0.2.1");
    BOOST_TEST(f.asked("a.test") == 1u);
}

BOOST_AUTO_TEST_CASE(answer_expires_after_its_ttl_and_counts_it_down) {
    Fixture f;
    BOOST_TEST(f.resolver->query("a.test", RrType::a).ttl.count() == 300);
    f.now += 100s;
    BOOST_TEST(f.resolver->query("a.test", RrType::a).ttl.count() == 200);
    f.now += 199s;
    BOOST_TEST(f.resolver->query("a.test", RrType::a).ttl.count() == 1);
    BOOST_TEST(f.asked("a.test") == 1u);
    f.now += 1s; // 300 s after it was kept
    BOOST_TEST(f.resolver->query("a.test", RrType::a).ttl.count() == 300);
    BOOST_TEST(f.asked("a.test") == 2u);
}

BOOST_AUTO_TEST_CASE(ttl_zero_is_never_kept) {
    Fixture f;
    f.resolver->query("zero.test", RrType::a);
    f.resolver->query("zero.test", RrType::a);
    BOOST_TEST(f.asked("zero.test") == 2u);
}

BOOST_AUTO_TEST_CASE(negative_answers_are_kept_for_the_soa_negative_ttl) {
    Fixture f;
    // NXDOMAIN and NODATA below soa.test: min(SOA TTL 3600, MINIMUM 30) = 30 s.
    const Answer missing = f.resolver->query("missing.soa.test", RrType::a);
    BOOST_TEST(status_name(missing.status) == "nxdomain");
    BOOST_TEST(missing.ttl.count() == 30);
    BOOST_TEST(status_name(f.resolver->query("known.soa.test", RrType::txt).status) == "nodata");
    f.now += 29s;
    BOOST_TEST(status_name(f.resolver->query("missing.soa.test", RrType::a).status) == "nxdomain");
    BOOST_TEST(f.resolver->query("missing.soa.test", RrType::a).ttl.count() == 1);
    f.resolver->query("known.soa.test", RrType::txt);
    BOOST_TEST(f.asked("missing.soa.test") == 1u);
    BOOST_TEST(f.asked("known.soa.test") == 1u);
    f.now += 1s;
    f.resolver->query("missing.soa.test", RrType::a);
    f.resolver->query("known.soa.test", RrType::txt);
    BOOST_TEST(f.asked("missing.soa.test") == 2u);
    BOOST_TEST(f.asked("known.soa.test") == 2u);
}

BOOST_AUTO_TEST_CASE(negative_ttl_without_soa_is_the_default_and_every_ttl_is_capped) {
    CacheOptions options;
    options.default_negative_ttl = 10s;
    options.max_negative_ttl = 50s;
    options.max_ttl = 120s;
    Fixture f(options);
    BOOST_TEST(f.resolver->query("nowhere.test", RrType::a).ttl.count() == 0); // no SOA
    f.resolver->query("x.long-soa.test", RrType::a); // negative TTL 999999, capped at 50
    BOOST_TEST(f.resolver->query("a.test", RrType::a).ttl.count() == 300);
    f.now += 9s;
    f.resolver->query("nowhere.test", RrType::a);
    BOOST_TEST(f.asked("nowhere.test") == 1u);
    f.now += 1s;
    f.resolver->query("nowhere.test", RrType::a);
    BOOST_TEST(f.asked("nowhere.test") == 2u);
    f.now += 39s; // 49 s after
    f.resolver->query("x.long-soa.test", RrType::a);
    BOOST_TEST(f.asked("x.long-soa.test") == 1u);
    f.now += 1s;
    f.resolver->query("x.long-soa.test", RrType::a);
    BOOST_TEST(f.asked("x.long-soa.test") == 2u);
    f.now += 70s; // 120 s after a.test was kept, though its TTL was 300
    f.resolver->query("a.test", RrType::a);
    BOOST_TEST(f.asked("a.test") == 2u);
}

BOOST_AUTO_TEST_CASE(servfail_and_timeout_are_never_kept) {
    Fixture f;
    for (int i = 0; i < 3; ++i) {
        BOOST_TEST(status_name(f.resolver->query("broken.test", RrType::a).status) == "servfail");
        BOOST_TEST(status_name(f.resolver->query("silent.test", RrType::a).status) == "timeout");
    }
    BOOST_TEST(f.asked("broken.test") == 3u);
    BOOST_TEST(f.asked("silent.test") == 3u);
    AnswerCache cache({});
    Answer error = answer_with(Status::error, 0, 0);
    cache.store("e.test", RrType::a, error, Clock::now());
    BOOST_TEST(!cache.find("e.test", RrType::a, Clock::now()));
}

BOOST_AUTO_TEST_CASE(entry_bound_keeps_the_most_recently_used) {
    CacheOptions options;
    options.max_entries = 10;
    AnswerCache cache(options);
    const auto now = Clock::now();
    for (int i = 0; i < 50; ++i) {
        cache.store("n" + std::to_string(i) + ".test", RrType::a, answer_with(Status::ok, 1, 9),
                    now);
        BOOST_TEST(cache.stats().entries <= 10u);
        // n0 is used all the time, so it stays while the others come and go.
        BOOST_TEST(cache.find("n0.test", RrType::a, now).has_value());
    }
    BOOST_TEST(cache.stats().entries == 10u);
    BOOST_TEST(cache.stats().evictions == 40u);
    BOOST_TEST(cache.find("n49.test", RrType::a, now).has_value());
    BOOST_TEST(!cache.find("n1.test", RrType::a, now).has_value());
}

BOOST_AUTO_TEST_CASE(byte_bound_holds_and_an_answer_too_big_for_it_is_not_kept) {
    CacheOptions options;
    options.max_bytes = 8 * 1024;
    AnswerCache cache(options);
    const auto now = Clock::now();
    for (int i = 0; i < 100; ++i) {
        cache.store("big" + std::to_string(i) + ".test", RrType::txt,
                    answer_with(Status::ok, 4, 200), now);
        BOOST_TEST(cache.stats().bytes <= options.max_bytes);
    }
    BOOST_TEST(cache.stats().entries > 0u);
    BOOST_TEST(cache.stats().entries < 10u); // each answer holds over 800 bytes
    cache.store("huge.test", RrType::txt, answer_with(Status::ok, 1, 9000), now);
    BOOST_TEST(!cache.find("huge.test", RrType::txt, now).has_value());
    BOOST_TEST(cache.stats().bytes <= options.max_bytes);
}

BOOST_AUTO_TEST_CASE(bounds_hold_with_every_shard_in_use) {
    CacheOptions options; // large enough for sharding
    options.max_entries = 2000;
    options.max_bytes = 4 * 1024 * 1024;
    AnswerCache cache(options);
    const auto now = Clock::now();
    std::mt19937 random(11);
    for (int i = 0; i < 20000; ++i) {
        cache.store("r" + std::to_string(random()) + ".test", RrType::a,
                    answer_with(Status::ok, 1 + random() % 3, random() % 1000), now);
    }
    const CacheStats stats = cache.stats();
    BOOST_TEST(stats.entries <= options.max_entries);
    BOOST_TEST(stats.bytes <= options.max_bytes);
    BOOST_TEST(stats.entries > options.max_entries / 4);
}

BOOST_AUTO_TEST_CASE(disabled_cache_asks_upstream_every_time) {
    CacheOptions options;
    options.max_entries = 0;
    Fixture f(options);
    f.resolver->query("a.test", RrType::a);
    f.resolver->query("a.test", RrType::a);
    BOOST_TEST(f.asked("a.test") == 2u);
}

BOOST_AUTO_TEST_CASE(concurrent_finds_and_stores_stay_consistent) {
    CacheOptions options;
    options.max_entries = 1500; // sharded, small enough to evict all the time
    options.max_bytes = 4 * 1024 * 1024;
    AnswerCache cache(options);
    Fixture f;
    std::atomic<int> wrong{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 8; ++t)
        threads.emplace_back([&, t] {
            std::mt19937 random(static_cast<unsigned>(t));
            for (int i = 0; i < 20000; ++i) {
                const std::string name = "c" + std::to_string(random() % 3000) + ".test";
                const auto now = Clock::now();
                if (auto found = cache.find(name, RrType::txt, now)) {
                    wrong += found->records.size() != 1 || found->records[0].text != name;
                } else {
                    Answer answer = answer_with(Status::ok, 0, 0);
                    answer.records.push_back({name, 0});
                    cache.store(name, RrType::txt, answer, now);
                }
                if (i % 50 == 0) // and the resolver, both paths
                    f.resolver->query_async(
                        i % 100 ? "a.test" : "known.soa.test", RrType::a,
                        [&](Answer answer) { wrong += answer.status != Status::ok; });
            }
        });
    for (auto& thread : threads)
        thread.join();
    BOOST_TEST(wrong == 0);
    const CacheStats stats = cache.stats();
    BOOST_TEST(stats.entries <= options.max_entries);
    BOOST_TEST(stats.bytes <= options.max_bytes);
    BOOST_TEST(stats.hits > 0u);
}

BOOST_AUTO_TEST_CASE(negative_ttl_is_read_from_the_soa_of_a_reply_packet) {
    // NXDOMAIN for x.example (compressed names), authority: example SOA, TTL 600, MINIMUM 45.
    const std::string packet(
        "\x12\x34\x81\x83\x00\x01\x00\x00\x00\x01\x00\x00"
        "\x01x\x07"
        "example\x00\x00\x01\x00\x01"
        "\xc0\x0e\x00\x06\x00\x01\x00\x00\x02\x58\x00\x1e"
        "\x02ns\xc0\x0e\x02hm\xc0\x0e"
        "\x00\x00\x00\x01\x00\x00\x1c\x20\x00\x00\x03\x84\x00\x01\x51\x80\x00\x00\x00\x2d",
        12 + 15 + 12 + 30);
    const auto* bytes = reinterpret_cast<const unsigned char*>(packet.data());
    BOOST_TEST(negative_ttl(bytes, packet.size()).value_or(0) == 45u);
    // Every truncation is refused without reading past the end (ASan watches).
    for (std::size_t size = 0; size < packet.size(); ++size) {
        std::vector<unsigned char> copy(bytes, bytes + size);
        BOOST_TEST(!negative_ttl(copy.data(), copy.size()).has_value());
    }
    BOOST_TEST(!negative_ttl(nullptr, 0).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
