// state/breaker: a dead store costs its timeout a few times, not on every message; it is
// probed after the cooldown and used again as soon as it answers.
#include "state/breaker.hh"

#include <boost/test/unit_test.hpp>

using namespace mailwarden::state;
using namespace std::chrono_literals;

namespace {

struct FlakyStore final : Store {
    bool down = false;
    int calls = 0;
    BatchResult run(std::span<const Operation> operations, Millis) override {
        ++calls;
        if (down)
            return {.ok = false, .error = "connection refused", .outcomes = {}};
        return {.ok = true, .error = "", .outcomes = std::vector<Outcome>(operations.size(), true)};
    }
    std::string_view backend() const override { return "flaky"; }
};

struct Fixture {
    Fixture() {
        auto backend = std::make_unique<FlakyStore>();
        flaky = backend.get();
        store = std::make_unique<BreakerStore>(
            std::move(backend), BreakerOptions{.failures_to_open = 3, .cooldown = 5s},
            [this] { return now; });
    }
    bool run() {
        const Operation read = Inspect{"k"};
        return store->run({&read, 1}, 0).ok;
    }
    std::chrono::steady_clock::time_point now{};
    FlakyStore* flaky = nullptr;
    std::unique_ptr<BreakerStore> store;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(state_breaker, Fixture)

BOOST_AUTO_TEST_CASE(three_failures_open_the_circuit_and_later_batches_fail_at_once) {
    flaky->down = true;
    for (int i = 0; i < 3; ++i)
        BOOST_TEST(!run());
    BOOST_TEST(store->open());
    BOOST_TEST(flaky->calls == 3);
    for (int i = 0; i < 100; ++i)
        BOOST_TEST(!run());
    BOOST_TEST(flaky->calls == 3); // none of them waited for the dead backend
}

BOOST_AUTO_TEST_CASE(after_the_cooldown_one_probe_closes_the_circuit_when_the_store_is_back) {
    flaky->down = true;
    for (int i = 0; i < 3; ++i)
        run();
    now += 4999ms;
    BOOST_TEST(!run());
    BOOST_TEST(flaky->calls == 3);
    now += 1ms;
    flaky->down = false;
    BOOST_TEST(run()); // the probe
    BOOST_TEST(!store->open());
    BOOST_TEST(run());
    BOOST_TEST(flaky->calls == 5);
}

BOOST_AUTO_TEST_CASE(a_failed_probe_opens_the_circuit_for_another_cooldown) {
    flaky->down = true;
    for (int i = 0; i < 3; ++i)
        run();
    now += 5s;
    BOOST_TEST(!run()); // probe fails
    BOOST_TEST(flaky->calls == 4);
    now += 4s;
    BOOST_TEST(!run());
    BOOST_TEST(flaky->calls == 4);
    now += 1s;
    run();
    BOOST_TEST(flaky->calls == 5);
}

BOOST_AUTO_TEST_CASE(isolated_failures_below_the_threshold_keep_the_circuit_closed) {
    for (int i = 0; i < 10; ++i) {
        flaky->down = true;
        run();
        run();
        flaky->down = false;
        BOOST_TEST(run());
    }
    BOOST_TEST(!store->open());
}

BOOST_AUTO_TEST_SUITE_END()
