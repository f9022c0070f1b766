// The state store's DMARC reporting operations (lib/state/report_ops.hh) on every backend
// (LMDB, and Redis on a private redis-server), one behaviour: rows aggregated per domain,
// interval and row, the bounds, expiry, the once-only claims of the report job (also under
// concurrent claimers, as a fleet's hosts are), and the failure-report queue with its hourly
// limit per domain.
#include "state/store.hh"
#include "store_backends.hh"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <ostream>
#include <thread>

namespace mailwarden::state {
std::ostream& operator<<(std::ostream& out, const ReportDomainEntry& entry) {
    return out << entry.domain << " [" << entry.policy << "] " << entry.rows;
}
std::ostream& operator<<(std::ostream& out, const ReportRowEntry& entry) {
    return out << "[" << entry.row << "] " << entry.count;
}
} // namespace mailwarden::state

using namespace mailwarden::state;
using mailwarden::test::store_backends;
using mailwarden::test::TempDir;

namespace {

const Millis t0 = 1'800'000'000'000; // an interval start (a multiple of a day in ms)
const Millis day = 86'400'000;
const Millis hour = 3'600'000;

template <typename Value> Value run_one(Store& store, ReportOperation operation, Millis now) {
    const Operation one = std::move(operation);
    const BatchResult result = store.run({&one, 1}, now);
    BOOST_REQUIRE_MESSAGE(result.ok, result.error);
    BOOST_REQUIRE(result.outcomes.size() == 1u);
    const auto* outcome = std::get_if<ReportOutcome>(&result.outcomes[0]);
    BOOST_REQUIRE(outcome != nullptr);
    const auto* value = std::get_if<Value>(&outcome->value);
    BOOST_REQUIRE(value != nullptr);
    return *value;
}

ReportCount count_of(const std::string& domain, const std::string& row, Millis interval = t0) {
    return ReportCount{.interval = interval,
                       .domain = domain,
                       .policy = "policy of " + domain,
                       .row = row,
                       .max_domain_rows = 3,
                       .max_interval_rows = 5,
                       .expires_at = interval + 8 * day};
}

ReportCountOutcome count(Store& store, const ReportCount& op, Millis now = t0 + hour) {
    return run_one<ReportCountOutcome>(store, ReportOperation(op), now);
}

std::vector<ReportDomainEntry> domains(Store& store, Millis interval, Millis now) {
    auto entries = run_one<std::vector<ReportDomainEntry>>(
        store, ReportOperation(ReportDomains{interval}), now);
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.domain < b.domain; });
    return entries;
}

std::vector<ReportRowEntry> rows(Store& store, const std::string& domain, Millis now) {
    auto entries =
        run_one<std::vector<ReportRowEntry>>(store, ReportOperation(ReportRows{t0, domain}), now);
    std::sort(entries.begin(), entries.end(),
              [](const auto& a, const auto& b) { return a.row < b.row; });
    return entries;
}

ClaimOutcome claim(Store& store, const std::string& owner, ReportClaim::Step step, Millis now,
                   const std::string& domain = "example.com") {
    return run_one<ClaimOutcome>(store,
                                 ReportOperation(ReportClaim{.interval = t0,
                                                             .domain = domain,
                                                             .owner = owner,
                                                             .step = step,
                                                             .lease = 600'000,
                                                             .expires_at = t0 + 9 * day}),
                                 now);
}

FailureQueueOutcome queue(Store& store, const std::string& domain, const std::string& report,
                          Millis now) {
    return run_one<FailureQueueOutcome>(store,
                                        ReportOperation(FailureQueue{.domain = domain,
                                                                     .report = report,
                                                                     .per_hour = 2,
                                                                     .max_queued = 4,
                                                                     .expires_at = now + day}),
                                        now);
}

std::vector<std::string> take(Store& store, std::int64_t max, Millis now) {
    return run_one<std::vector<std::string>>(store, ReportOperation(FailureTake{max}), now);
}

} // namespace

BOOST_AUTO_TEST_SUITE(store_report)

BOOST_AUTO_TEST_CASE(rows_are_counted_per_domain_interval_and_row) {
    for (const auto& backend : store_backends()) {
        BOOST_TEST_CONTEXT(backend.name) {
            TempDir dir;
            const auto store = backend.make(dir.path);
            for (int i = 0; i < 5; ++i)
                BOOST_TEST((count(*store, count_of("example.com", "row a")) ==
                            ReportCountOutcome::counted));
            BOOST_TEST((count(*store, count_of("example.com", "row b\nwith newline")) ==
                        ReportCountOutcome::counted));
            ReportCount latest = count_of("example.org", "row a");
            BOOST_TEST((count(*store, latest) == ReportCountOutcome::counted));
            latest.policy = "the newer policy";
            BOOST_TEST((count(*store, latest) == ReportCountOutcome::counted));
            BOOST_TEST((count(*store, count_of("example.com", "row a", t0 + day)) ==
                        ReportCountOutcome::counted));

            const std::vector<ReportDomainEntry> expected = {
                {"example.com", "policy of example.com", 2},
                {"example.org", "the newer policy", 1}};
            BOOST_TEST(domains(*store, t0, t0 + day) == expected, boost::test_tools::per_element());
            const std::vector<ReportRowEntry> com = {{"row a", 5}, {"row b\nwith newline", 1}};
            BOOST_TEST(rows(*store, "example.com", t0 + day) == com,
                       boost::test_tools::per_element());
            BOOST_TEST(domains(*store, t0 + day, t0 + day).size() == 1u); // the next interval
            BOOST_TEST(domains(*store, t0 + 2 * day, t0 + day).empty());
            BOOST_TEST(rows(*store, "unknown.example", t0 + day).empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(rows_past_the_domain_and_interval_bounds_are_not_counted) {
    for (const auto& backend : store_backends()) {
        BOOST_TEST_CONTEXT(backend.name) {
            TempDir dir;
            const auto store = backend.make(dir.path);
            for (const std::string row : {"1", "2", "3"})
                BOOST_TEST(
                    (count(*store, count_of("a.example", row)) == ReportCountOutcome::counted));
            BOOST_TEST(
                (count(*store, count_of("a.example", "4")) == ReportCountOutcome::domain_full));
            BOOST_TEST((count(*store, count_of("a.example", "1")) == ReportCountOutcome::counted));
            for (const std::string row : {"1", "2"})
                BOOST_TEST(
                    (count(*store, count_of("b.example", row)) == ReportCountOutcome::counted));
            BOOST_TEST(
                (count(*store, count_of("c.example", "1")) == ReportCountOutcome::interval_full));
            BOOST_TEST((count(*store, count_of("b.example", "2")) == ReportCountOutcome::counted));
            const auto listed = domains(*store, t0, t0 + day);
            BOOST_TEST(listed.size() == 2u);
            BOOST_TEST(listed[0].rows == 3);
            BOOST_TEST(rows(*store, "a.example", t0 + day).front().count == 2);
        }
    }
}

BOOST_AUTO_TEST_CASE(an_interval_expires_as_a_whole) {
    for (const auto& backend : store_backends()) {
        BOOST_TEST_CONTEXT(backend.name) {
            TempDir dir;
            const auto store = backend.make(dir.path);
            BOOST_TEST(
                (count(*store, count_of("example.com", "r")) == ReportCountOutcome::counted));
            BOOST_TEST(domains(*store, t0, t0 + 8 * day - 1).size() == 1u);
            BOOST_TEST(domains(*store, t0, t0 + 8 * day).empty());
            BOOST_TEST(rows(*store, "example.com", t0 + 8 * day).empty());
            // Counting again after expiry starts afresh, bounds included.
            BOOST_TEST((count(*store, count_of("example.com", "r"), t0 + 8 * day + 1) ==
                        ReportCountOutcome::counted));
        }
    }
}

BOOST_AUTO_TEST_CASE(claims_let_exactly_one_job_send_each_report) {
    using Step = ReportClaim::Step;
    for (const auto& backend : store_backends()) {
        BOOST_TEST_CONTEXT(backend.name) {
            TempDir dir;
            const auto store = backend.make(dir.path);
            const Millis now = t0 + day + 60'000;
            BOOST_TEST((claim(*store, "a", Step::claim, now) == ClaimOutcome::claimed));
            BOOST_TEST((claim(*store, "b", Step::claim, now + 1) == ClaimOutcome::busy));
            BOOST_TEST((claim(*store, "a", Step::claim, now + 2) == ClaimOutcome::claimed));
            BOOST_TEST((claim(*store, "b", Step::sending, now + 3) == ClaimOutcome::busy));
            BOOST_TEST((claim(*store, "b", Step::sent, now + 3) == ClaimOutcome::lost));
            // A crash between building and sending: the lease runs out, another job takes over.
            BOOST_TEST((claim(*store, "b", Step::claim, now + 600'002) == ClaimOutcome::claimed));
            BOOST_TEST((claim(*store, "a", Step::sending, now + 600'003) == ClaimOutcome::busy));
            BOOST_TEST((claim(*store, "b", Step::sending, now + 600'004) == ClaimOutcome::claimed));
            BOOST_TEST((claim(*store, "a", Step::claim, now + 600'005) == ClaimOutcome::sending));
            BOOST_TEST((claim(*store, "b", Step::sent, now + 600'006) == ClaimOutcome::sent));
            BOOST_TEST((claim(*store, "a", Step::claim, now + 2 * day) == ClaimOutcome::sent));
            BOOST_TEST((claim(*store, "a", Step::release, now + 2 * day) == ClaimOutcome::lost));
            // A crash while sendmail ran leaves "sending": never claimed again.
            BOOST_TEST(
                (claim(*store, "c", Step::claim, now, "other.example") == ClaimOutcome::claimed));
            BOOST_TEST(
                (claim(*store, "c", Step::sending, now, "other.example") == ClaimOutcome::claimed));
            BOOST_TEST((claim(*store, "d", Step::claim, now + 5 * day, "other.example") ==
                        ClaimOutcome::sending));
            // A failed send gives the report back.
            BOOST_TEST(
                (claim(*store, "e", Step::claim, now, "third.example") == ClaimOutcome::claimed));
            BOOST_TEST(
                (claim(*store, "e", Step::release, now, "third.example") == ClaimOutcome::claimed));
            BOOST_TEST((claim(*store, "f", Step::claim, now + 1, "third.example") ==
                        ClaimOutcome::claimed));
            // The lease ran out before sending began: the owner lost it.
            BOOST_TEST((claim(*store, "f", Step::sending, now + 700'000, "third.example") ==
                        ClaimOutcome::lost));
        }
    }
}

BOOST_AUTO_TEST_CASE(concurrent_claimers_one_wins) {
    for (const auto& backend : store_backends()) {
        BOOST_TEST_CONTEXT(backend.name) {
            TempDir dir;
            const auto first = backend.make(dir.path);
            for (int domain = 0; domain < 5; ++domain) {
                std::atomic<int> winners{0};
                std::vector<std::thread> hosts;
                for (int host = 0; host < 6; ++host)
                    hosts.emplace_back([&, host] {
                        const ClaimOutcome outcome =
                            claim(*first, "host" + std::to_string(host), ReportClaim::Step::claim,
                                  t0 + day, "d" + std::to_string(domain) + ".example");
                        if (outcome == ClaimOutcome::claimed)
                            ++winners;
                    });
                for (auto& thread : hosts)
                    thread.join();
                BOOST_TEST(winners.load() == 1);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(the_failure_queue_keeps_order_bounds_and_the_hourly_limit) {
    for (const auto& backend : store_backends()) {
        BOOST_TEST_CONTEXT(backend.name) {
            TempDir dir;
            const auto store = backend.make(dir.path);
            const Millis now = t0 + 10 * hour + 5;
            BOOST_TEST((queue(*store, "a.example", "first", now) == FailureQueueOutcome::queued));
            BOOST_TEST((queue(*store, "a.example", "second\nline", now + 1) ==
                        FailureQueueOutcome::queued));
            BOOST_TEST((queue(*store, "a.example", "third", now + 2) ==
                        FailureQueueOutcome::rate_limited));
            BOOST_TEST((queue(*store, "b.example", "b1", now + 3) == FailureQueueOutcome::queued));
            BOOST_TEST((queue(*store, "b.example", "b2", now + 4) == FailureQueueOutcome::queued));
            BOOST_TEST(
                (queue(*store, "c.example", "c1", now + 5) == FailureQueueOutcome::queue_full));
            const std::vector<std::string> two = {"first", "second\nline"};
            BOOST_TEST(take(*store, 2, now + 6) == two, boost::test_tools::per_element());
            // The next hour: a.example may queue again.
            BOOST_TEST(
                (queue(*store, "a.example", "later", now + hour) == FailureQueueOutcome::queued));
            const std::vector<std::string> rest = {"b1", "b2", "later"};
            BOOST_TEST(take(*store, 10, now + hour + 1) == rest, boost::test_tools::per_element());
            BOOST_TEST(take(*store, 10, now + hour + 2).empty());
            // A report past its expiry is dropped, not sent.
            BOOST_TEST((queue(*store, "d.example", "stale", now + 2 * hour) ==
                        FailureQueueOutcome::queued));
            BOOST_TEST(take(*store, 10, now + 2 * hour + day).empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(report_operations_share_a_batch_with_the_others) {
    for (const auto& backend : store_backends()) {
        BOOST_TEST_CONTEXT(backend.name) {
            TempDir dir;
            const auto store = backend.make(dir.path);
            const std::vector<Operation> batch = {
                RateCheck{.key = state_key(KeyKind::rate, "x", "1"), .interval = 1000, .burst = 1},
                ReportOperation(count_of("example.com", "row")),
                ReputationChange{.key = state_key(KeyKind::reputation, "ip", "192.0.2.1"),
                                 .good = 1}};
            const BatchResult result = store->run(batch, t0 + hour);
            BOOST_REQUIRE_MESSAGE(result.ok, result.error);
            BOOST_REQUIRE(result.outcomes.size() == 3u);
            BOOST_TEST(std::holds_alternative<RateOutcome>(result.outcomes[0]));
            BOOST_TEST(std::holds_alternative<ReportOutcome>(result.outcomes[1]));
            BOOST_TEST(std::holds_alternative<Reputation>(result.outcomes[2]));
            BOOST_TEST(domains(*store, t0, t0 + hour).size() == 1u);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
