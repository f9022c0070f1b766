// The state store's DMARC reporting operations (RFC 9990 aggregate rows, the once-only
// sending of each report, the RFC 9991 failure-report queue). Unlike the other operations,
// each touches several entries (an interval's index, a domain's rows, a claim), so the
// backends run them in code of their own (lmdb_report.cc, redis_report.cc with the
// lib/state/redis/report_*.lua and failure_*.lua scripts); the meaning is the same in both,
// and tests/unit/test-store-report.cc holds both to it.
//
// Keys: made here from the interval, a hash of the domain and a hash of the row, never from
// raw text; the backends prepend their prefix as for every key. Every entry expires at the
// operation's expires_at (ms, the caller's clock).
//
// Bounds: a domain has at most max_domain_rows rows and an interval at most
// max_interval_rows; a row past either bound is not counted (outcome says which). The failure
// queue holds at most max_queued reports, and a domain queues at most per_hour reports per
// clock hour.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace mailwarden::state {

using Millis = std::int64_t;

// Counts one message under (interval, domain, row).
struct ReportCount {
    Millis interval = 0; // the interval's start, ms since the epoch
    std::string domain;  // the DMARC Policy Domain, lower-case
    std::string policy;  // what the report says about the policy (the last one counted wins)
    std::string row;     // the row's text; equal texts are one row
    std::int64_t max_domain_rows = 1000;
    std::int64_t max_interval_rows = 10000;
    Millis expires_at = 0;
};
enum class ReportCountOutcome { counted, domain_full, interval_full };

// The domains counted in an interval.
struct ReportDomains {
    Millis interval = 0;
};
struct ReportDomainEntry {
    std::string domain, policy;
    std::int64_t rows = 0;
    friend bool operator==(const ReportDomainEntry&, const ReportDomainEntry&) = default;
};

// A domain's rows in an interval.
struct ReportRows {
    Millis interval = 0;
    std::string domain;
};
struct ReportRowEntry {
    std::string row;
    std::int64_t count = 0;
    friend bool operator==(const ReportRowEntry&, const ReportRowEntry&) = default;
};

// Once-only sending of one report (domain, interval), shared by every host of a store:
//   claim    absent, or claimed by another whose lease ran out, or by the owner → claimed
//            (lease until now + lease); claimed by another within its lease → busy;
//            sending → sending; sent → sent.
//   sending  claimed by the owner within its lease → claimed (now "sending OWNER"),
//            otherwise what it is (busy, sending, sent) or lost.
//   sent     claimed or sending by the owner → sent; otherwise lost.
//   release  claimed or sending by the owner → absent again, outcome claimed; else lost.
// A report left "sending" (the sender died while the MTA's sendmail ran) is never claimed
// again: it may have gone out, and a report must not go twice.
struct ReportClaim {
    enum class Step { claim, sending, sent, release };
    Millis interval = 0;
    std::string domain;
    std::string owner; // unique per running job, e.g. "host:pid:random"
    Step step = Step::claim;
    Millis lease = 600'000;
    Millis expires_at = 0;
};
enum class ClaimOutcome { claimed, busy, sending, sent, lost };

// Queues one failure report (RFC 9991) for the report job.
struct FailureQueue {
    std::string domain; // the DMARC Policy Domain, for the hourly limit
    std::string report; // the stored report, as the report job reads it
    std::int64_t per_hour = 10;
    std::int64_t max_queued = 200;
    Millis expires_at = 0; // of the queued report
};
enum class FailureQueueOutcome { queued, rate_limited, queue_full };

// Takes up to `max` queued failure reports, oldest first (taken = removed).
struct FailureTake {
    std::int64_t max = 50;
};

struct ReportOperation {
    std::variant<ReportCount, ReportDomains, ReportRows, ReportClaim, FailureQueue, FailureTake>
        operation;
    // The first key the operation touches, the one the generic code checks (usable_key).
    std::string key;

    template <typename Op>
    requires(!std::is_same_v<Op, ReportOperation>) explicit ReportOperation(Op op);
};

using ReportValue =
    std::variant<ReportCountOutcome, std::vector<ReportDomainEntry>, std::vector<ReportRowEntry>,
                 ClaimOutcome, FailureQueueOutcome, std::vector<std::string>>;
struct ReportOutcome {
    ReportValue value;
    friend bool operator==(const ReportOutcome&, const ReportOutcome&) = default;
};

// The keys an operation touches (without the backend's prefix), first key first:
//   ReportCount    dmarc:n:I (rows per domain and in all), dmarc:d:I (domains),
//                  dmarc:r:I:DH (the domain's rows)
//   ReportDomains  dmarc:n:I, dmarc:d:I
//   ReportRows     dmarc:r:I:DH
//   ReportClaim    dmarc:c:I
//   FailureQueue   dmarc:fq, dmarc:fr:HOUR:DH
//   FailureTake    dmarc:fq
// I: the interval start in seconds; DH: 32 hex digits of SHA-256 of the domain.
std::vector<std::string> report_keys(const ReportOperation& operation, Millis now);
// 32 hex digits of SHA-256 of a text (a domain's or a row's name in keys and fields).
std::string report_hash(std::string_view text);

template <typename Op>
requires(!std::is_same_v<Op, ReportOperation>) ReportOperation::ReportOperation(Op op)
    : operation(std::move(op)) {
    key = report_keys(*this, 0).front();
}

} // namespace mailwarden::state

namespace mailwarden::state {

// The claim rules above as a pure function over the stored claim text (nullopt: absent);
// lmdb_report.cc applies it, redis/report_claim.lua is the same rules in Lua. write: the
// text to store, "" to erase, nullopt to leave the entry as it is.
struct ClaimApplied {
    ClaimOutcome outcome = ClaimOutcome::lost;
    std::optional<std::string> write;
};
ClaimApplied apply_claim(const ReportClaim& claim, const std::optional<std::string_view>& stored,
                         Millis now);

} // namespace mailwarden::state
