// Keys and fixed durations of the reputation and greylist state, shared by the engine and
// `mailwarden reputation|greylist` so that the admin tool reads and writes exactly what the
// engine does. Rate-limit keys are in limits.hh (rate_key). Never throws.
#pragma once

#include "state/store.hh"

#include <string>
#include <string_view>

namespace mailwarden::engine {

// Reputation counters halve every 7 days. Not a parameter: the engine's reputation (coming
// next) uses this same constant, and counters written with another half-life would read
// differently.
inline constexpr state::Millis reputation_half_life = 7LL * 86'400'000;

// Reputation keys: the client address, its subnet (/24, /64), an authenticated domain
// (lowercased). "" when the address does not parse or the domain is empty.
std::string reputation_ip_key(std::string_view client_ip);
std::string reputation_net_key(std::string_view client_ip);
std::string reputation_domain_key(std::string_view domain);

// Greylisting: a retry after greylist_delay passes; a passed triplet is known for
// greylist_pass_lifetime after its last message (the engine's greylisting uses these).
inline constexpr state::Millis greylist_delay = 5 * 60'000;
inline constexpr state::Millis greylist_pass_lifetime = 36LL * 86'400'000;

// The key of a triplet: the client's subnet, the sender and the recipient (lowercased; the
// null sender is ""). "" when the client address does not parse.
std::string greylist_key(std::string_view client_ip, std::string_view sender,
                         std::string_view recipient);

} // namespace mailwarden::engine
