// Keys of the reputation and greylist state, shared by the engine and `mailwarden
// reputation|greylist` so that the admin tool reads and writes exactly what the engine does.
// Their durations are parameters (ReputationPolicy, Greylisting). Rate-limit keys are in
// limits.hh (rate_key). Never throws.
#pragma once

#include "state/store.hh"

#include <string>
#include <string_view>

namespace mailwarden::engine {

// Reputation keys: the client address (util::canonical_ip), its subnet (/24, /64), an
// authenticated domain (domain_key_text, limits.hh). "" when the address does not parse or the
// domain is empty.
std::string reputation_ip_key(std::string_view client_ip);
std::string reputation_net_key(std::string_view client_ip);
std::string reputation_domain_key(std::string_view domain);

// The key of a triplet: the client's subnet, the sender and the recipient (address_key_text,
// limits.hh; the null sender is ""). "" when the client address does not parse.
std::string greylist_key(std::string_view client_ip, std::string_view sender,
                         std::string_view recipient);

} // namespace mailwarden::engine
