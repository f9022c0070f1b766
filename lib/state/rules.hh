// The meaning of every Store operation, as one pure function over the stored value: what the
// operation answers and what is written back. The LMDB store runs it inside a write
// transaction; the Redis store's Lua scripts (redis_scripts.hh) implement the same rules and
// the shared test suite holds both to them.
//
// Stored values are short texts, the same in both backends, so that the admin tool shows them
// as they are:
//   rate        "TAT"                 theoretical arrival time, ms since the epoch
//   reputation  "GOOD BAD UPDATED"    counters as of UPDATED (ms)
//   greylist    "seen FIRST" | "pass"
// A value that does not parse counts as absent (and is overwritten). Never throws.
#pragma once

#include "state/store.hh"

#include <optional>
#include <string>
#include <string_view>

namespace mailwarden::state {

// Reputation counters are kept for this many half-lives after their last change (below 0.4%).
inline constexpr int reputation_lifetime_half_lives = 8;

struct Applied {
    Outcome outcome;
    enum class Write { none, put, erase } write = Write::none;
    std::string value;     // for put
    Millis expires_at = 0; // for put: after this instant the value counts as absent
};

// stored: the current value, nullopt when absent or expired.
Applied apply(const Operation& operation, const std::optional<std::string_view>& stored,
              Millis now);

// The key an operation works on.
const std::string& key_of(const Operation& operation);

// Whether a backend takes the key: not empty, at most 400 bytes (below LMDB's 511-byte limit
// with room for a prefix). state_key() always makes one; anything else fails the batch.
bool usable_key(std::string_view key);

// Parsed forms (for the admin tool); nullopt when the text does not parse.
std::optional<Millis> parse_rate(std::string_view value);
std::optional<std::pair<Reputation, Millis>> parse_reputation(std::string_view value);
// FIRST of a greylist "seen FIRST"; nullopt for "pass" and for text that does not parse.
std::optional<Millis> parse_greylist_seen(std::string_view value);

// The counters decayed from `updated` to `now` with half_life.
Reputation decayed(Reputation value, Millis updated, Millis now, Millis half_life);

} // namespace mailwarden::state
