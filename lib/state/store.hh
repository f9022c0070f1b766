// Store: where rate-limit buckets, reputation counters and greylist entries live, shared by
// both daemons (and, on Redis, by many hosts). Two implementations, one behaviour: LMDB
// (lmdb_store.hh, embedded, the default) and Redis (redis_store.hh); tests/unit/test-store.cc
// runs one suite against both. The semantics of each operation are the pure functions of
// rules.hh; a backend only makes them atomic and durable.
//
// A stage hands all its operations to run() at once: one round trip (Redis pipeline) or one
// write transaction (LMDB). Each operation is atomic on its own; the batch is not.
//
// Keys are made by state_key() from the kind, the limit's name and the raw client data,
// hashed: raw client data never becomes a key. Backends prepend their configured prefix.
//
// Failure: run() never throws for store trouble. An unreachable, slow or full store gives
// BatchResult::ok == false with a short error text; the caller applies on_state_error.
#pragma once

#include "state/report_ops.hh"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mailwarden::state {

// Millis (report_ops.hh): a time since the Unix epoch, or a duration, in milliseconds.

enum class KeyKind { rate, reputation, greylist };

// "rate:NAME:" + 32 hex digits of SHA-256(raw) (NAME: a limit or counter name of the
// configuration, [a-z0-9_] only). The same raw text always gives the same key.
std::string state_key(KeyKind kind, std::string_view name, std::string_view raw);

// GCRA (the generic cell rate algorithm): a bucket allowing `burst` requests at once and one
// more every `interval`. cost is how many requests this one counts for (recipients).
struct RateCheck {
    std::string key;
    Millis interval = 1000;
    std::int64_t burst = 1;
    std::int64_t cost = 1;
};
struct RateOutcome {
    bool limited = false;
    Millis retry_after = 0; // when limited: how long until this request would be allowed
    friend bool operator==(const RateOutcome&, const RateOutcome&) = default;
};

// Exponentially decaying good/bad counters; add 0 and 0 to read them.
struct ReputationChange {
    std::string key;
    double good = 0;
    double bad = 0;
    Millis half_life = 86'400'000;
};
struct Reputation {
    double good = 0;
    double bad = 0;
    friend bool operator==(const Reputation&, const Reputation&) = default;
};

// A greylist triplet: the first attempt is refused; a retry after `delay` and within
// `retry_window` passes, and the triplet then passes at once for `pass_lifetime`.
struct GreylistCheck {
    std::string key;
    Millis delay = 300'000;
    Millis retry_window = 4 * 3'600'000;
    Millis pass_lifetime = 36LL * 86'400'000;
};
enum class GreylistOutcome {
    first_seen, // refused: new triplet, recorded
    too_early,  // refused: retried before delay
    passed,     // allowed: the retry that passes
    known,      // allowed: passed before, within pass_lifetime
};

// Admin operations (mailwarden ratelimit|reputation|greylist).
struct Forget { // removes the key; outcome: whether it existed
    std::string key;
};
struct Inspect { // outcome: the raw stored text, "" when absent or expired
    std::string key;
};
struct SetReputation { // outcome: the Reputation stored
    std::string key;
    Reputation value;
    Millis half_life = 86'400'000;
};
struct AllowGreylist { // marks the triplet passed; outcome: GreylistOutcome::known
    std::string key;
    Millis pass_lifetime = 36LL * 86'400'000;
};

using Operation = std::variant<RateCheck, ReputationChange, GreylistCheck, Forget, Inspect,
                               SetReputation, AllowGreylist, ReportOperation>;
using Outcome =
    std::variant<RateOutcome, Reputation, GreylistOutcome, bool, std::string, ReportOutcome>;

struct BatchResult {
    bool ok = true;
    std::string error;             // why not ok, for the log (never key material)
    std::vector<Outcome> outcomes; // one per operation, in order, when ok
};

class Store {
public:
    virtual ~Store() = default;
    // Thread-safe. `now` comes from the caller so that tests control the clock.
    virtual BatchResult run(std::span<const Operation> operations, Millis now) = 0;
    virtual std::string_view backend() const = 0; // "lmdb" or "redis"
};

} // namespace mailwarden::state
