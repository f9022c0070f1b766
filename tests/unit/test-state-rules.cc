// lib/state/rules: the meaning of each Store operation, at its boundaries, with the clock in
// the test's hand.
#include "state/rules.hh"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <ostream>

using namespace mailwarden::state;

namespace {

// Runs operations against one stored value the way a backend does.
struct Cell {
    std::optional<std::string> value;
    Millis expires_at = 0;

    Outcome run(const Operation& operation, Millis now) {
        const bool live = value && now < expires_at;
        const Applied applied =
            apply(operation, live ? std::optional<std::string_view>(*value) : std::nullopt, now);
        if (applied.write == Applied::Write::put) {
            value = applied.value;
            expires_at = applied.expires_at;
        } else if (applied.write == Applied::Write::erase) {
            value.reset();
        }
        return applied.outcome;
    }
    RateOutcome rate(const RateCheck& check, Millis now) {
        return std::get<RateOutcome>(run(check, now));
    }
};

const Millis t0 = 1'800'000'000'000; // an instant in 2027

} // namespace

namespace mailwarden::state {
std::ostream& operator<<(std::ostream& out, const Reputation& value) {
    return out << "{good " << value.good << ", bad " << value.bad << "}";
}
} // namespace mailwarden::state

BOOST_AUTO_TEST_SUITE(state_rules)

BOOST_AUTO_TEST_CASE(rate_allows_exactly_burst_then_limits_until_one_interval_refills) {
    Cell cell;
    const RateCheck check{.key = "k", .interval = 36'000, .burst = 100};
    for (int i = 0; i < 100; ++i)
        BOOST_TEST_REQUIRE(!cell.rate(check, t0).limited, "request " << i + 1);
    const RateOutcome limited = cell.rate(check, t0);
    BOOST_TEST(limited.limited);
    BOOST_TEST(limited.retry_after == 36'000);
    BOOST_TEST(cell.rate(check, t0 + 35'999).limited);
    BOOST_TEST(!cell.rate(check, t0 + 36'000).limited); // one refilled
    BOOST_TEST(cell.rate(check, t0 + 36'000).limited);  // and only one
    BOOST_TEST(!cell.rate(check, t0 + 36'000 * 3).limited);
    BOOST_TEST(!cell.rate(check, t0 + 36'000 * 3).limited);
    BOOST_TEST(cell.rate(check, t0 + 36'000 * 3).limited);
}

BOOST_AUTO_TEST_CASE(a_limited_request_takes_nothing_from_the_bucket) {
    Cell cell;
    const RateCheck check{.key = "k", .interval = 1000, .burst = 2};
    BOOST_TEST(!cell.rate(check, t0).limited);
    BOOST_TEST(!cell.rate(check, t0).limited);
    for (int i = 0; i < 50; ++i)
        BOOST_TEST(cell.rate(check, t0 + 500).limited);
    BOOST_TEST(!cell.rate(check, t0 + 1000).limited);
}

BOOST_AUTO_TEST_CASE(rate_cost_counts_recipients_and_a_cost_over_burst_never_passes) {
    Cell cell;
    const RateCheck ten{.key = "k", .interval = 1000, .burst = 10, .cost = 10};
    BOOST_TEST(!cell.rate(ten, t0).limited);
    BOOST_TEST(cell.rate(RateCheck{.key = "k", .interval = 1000, .burst = 10}, t0).limited);
    Cell other;
    BOOST_TEST(
        other.rate(RateCheck{.key = "k", .interval = 1000, .burst = 10, .cost = 11}, t0).limited);
}

BOOST_AUTO_TEST_CASE(a_full_bucket_expires_when_it_would_be_empty_anyway) {
    Cell cell;
    const RateCheck check{.key = "k", .interval = 1000, .burst = 5};
    cell.rate(check, t0);
    cell.rate(check, t0);
    BOOST_TEST(cell.expires_at == t0 + 2000);
}

BOOST_AUTO_TEST_CASE(reputation_halves_every_half_life_and_adds_after_decay) {
    Cell cell;
    const Millis day = 86'400'000;
    auto reputation = [&](double good, double bad, Millis now) {
        return std::get<Reputation>(cell.run(
            ReputationChange{.key = "k", .good = good, .bad = bad, .half_life = day}, now));
    };
    BOOST_TEST(reputation(8, 2, t0) == (Reputation{8, 2}));
    const Reputation later = reputation(0, 0, t0 + day);
    BOOST_TEST(later.good == 4, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(later.bad == 1, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(cell.expires_at == t0 + 8 * day); // a read does not write
    const Reputation added = reputation(0, 1, t0 + 2 * day);
    BOOST_TEST(added.good == 2, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(added.bad == 1.5, boost::test_tools::tolerance(1e-9));
    BOOST_TEST(cell.expires_at == t0 + 10 * day);
}

BOOST_AUTO_TEST_CASE(greylist_refuses_first_and_early_retries_then_passes_and_remembers) {
    Cell cell;
    const GreylistCheck check{
        .key = "k", .delay = 300'000, .retry_window = 14'400'000, .pass_lifetime = 86'400'000};
    auto outcome = [&](Millis now) { return std::get<GreylistOutcome>(cell.run(check, now)); };
    BOOST_TEST((outcome(t0) == GreylistOutcome::first_seen));
    BOOST_TEST((outcome(t0 + 299'999) == GreylistOutcome::too_early));
    BOOST_TEST((outcome(t0 + 300'000) == GreylistOutcome::passed));
    BOOST_TEST((outcome(t0 + 400'000) == GreylistOutcome::known));
    BOOST_TEST(cell.expires_at == t0 + 400'000 + 86'400'000); // each use extends it
}

BOOST_AUTO_TEST_CASE(greylist_retry_after_the_window_starts_over) {
    Cell cell;
    const GreylistCheck check{.key = "k", .delay = 300'000, .retry_window = 14'400'000};
    cell.run(check, t0);
    BOOST_TEST((std::get<GreylistOutcome>(cell.run(check, t0 + 14'400'000)) ==
                GreylistOutcome::first_seen));
}

BOOST_AUTO_TEST_CASE(values_that_do_not_parse_count_as_absent) {
    for (const std::string garbage :
         {"", "x", "12a", "-", "seen", "seen x", "1 2", "a b c", "nan 1 2", "-1 0 5", "pass "}) {
        BOOST_TEST_CONTEXT(garbage) {
            const std::optional<std::string_view> stored = garbage;
            BOOST_TEST(
                !std::get<RateOutcome>(apply(RateCheck{.key = "k"}, stored, t0).outcome).limited);
            BOOST_TEST(
                std::get<Reputation>(apply(ReputationChange{.key = "k"}, stored, t0).outcome) ==
                Reputation{});
            BOOST_TEST(
                (std::get<GreylistOutcome>(apply(GreylistCheck{.key = "k"}, stored, t0).outcome) ==
                 GreylistOutcome::first_seen));
        }
    }
}

BOOST_AUTO_TEST_CASE(admin_operations_forget_inspect_set_and_allow) {
    Cell cell;
    BOOST_TEST(!std::get<bool>(cell.run(Forget{"k"}, t0)));
    cell.run(SetReputation{.key = "k", .value = {3, 1}, .half_life = 1000}, t0);
    BOOST_TEST(std::get<std::string>(cell.run(Inspect{"k"}, t0)) == "3 1 " + std::to_string(t0));
    BOOST_TEST(std::get<bool>(cell.run(Forget{"k"}, t0)));
    BOOST_TEST(std::get<std::string>(cell.run(Inspect{"k"}, t0)).empty());
    cell.run(AllowGreylist{.key = "k", .pass_lifetime = 1000}, t0);
    BOOST_TEST((std::get<GreylistOutcome>(cell.run(GreylistCheck{.key = "k"}, t0 + 1)) ==
                GreylistOutcome::known));
}

BOOST_AUTO_TEST_CASE(the_admin_tool_parses_the_stored_texts_the_rules_write) {
    BOOST_TEST((parse_rate(std::to_string(t0)) == t0));
    BOOST_TEST(!parse_rate("x"));
    const auto reputation = parse_reputation("3 1.5 " + std::to_string(t0));
    BOOST_REQUIRE(reputation);
    BOOST_TEST(reputation->first == (Reputation{3, 1.5}));
    BOOST_TEST(reputation->second == t0);
    BOOST_TEST((parse_greylist_seen("seen " + std::to_string(t0)) == t0));
    for (const std::string other : {"pass", "seen", "seen x", "seen 12 ", "x 12"})
        BOOST_TEST(!parse_greylist_seen(other), other);
}

BOOST_AUTO_TEST_CASE(state_keys_are_hashed_bounded_and_never_contain_the_raw_text) {
    const std::string raw = "alice@example.org\r\nDEL *";
    const std::string key = state_key(KeyKind::rate, "sender", raw);
    BOOST_TEST(key.starts_with("rate:sender:"));
    BOOST_TEST(key.size() == std::string("rate:sender:").size() + 32);
    BOOST_TEST(key.find("alice") == std::string::npos);
    BOOST_TEST(key == state_key(KeyKind::rate, "sender", raw));
    BOOST_TEST(key != state_key(KeyKind::rate, "sender", raw + "x"));
    BOOST_TEST(key != state_key(KeyKind::greylist, "sender", raw));
    // Names come from the configuration ([a-z0-9_]); anything else becomes '_'.
    BOOST_TEST(state_key(KeyKind::reputation, "bad name!", "x").starts_with("rep:bad_name_:"));
    BOOST_TEST(state_key(KeyKind::rate, std::string(100, 'n'), "x").size() == 5 + 32 + 1 + 32);
}

BOOST_AUTO_TEST_SUITE_END()
