// Rate limits of one configuration applied to one message: which `ratelimit =` rules apply at
// a stage, the store operations that check them (keys hashed by state::state_key), and the
// verdict of their outcomes. Client limits (client_ip, client_subnet) apply to inbound mail
// only; sender and SASL-user limits to all mail, outbound quotas above all. Never throws
// for any message; RateLimits' constructor throws std::runtime_error for two limits with one
// name.
#pragma once

#include "config/config.hh"
#include "config/rate_limit.hh"
#include "engine/decision.hh"
#include "state/store.hh"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::engine {

// What a message offers as limit keys; "" where it has none (no SASL login, null sender).
// Views of the message's facts, valid for the stage that made it.
struct LimitSubject {
    bool inbound = true;
    std::string_view client_ip;
    std::string_view sasl_user;
    std::string_view sender;
    std::string_view recipient;  // at RCPT
    std::int64_t recipients = 0; // at end of message
};

// "192.0.2.0/24" or "2001:db8:1:2::/64" for an address; "" when it does not parse.
std::string client_subnet(std::string_view client_ip);

// A mail domain as state keys hold it: lower case, and an internationalized one as its
// A-labels (auth/idna.hh), so that every spelling of one domain (U-labels in either case,
// A-labels) is one key and no sender escapes a limit by respelling its domain. A name that
// is not a valid domain is kept as written, lower-cased.
std::string domain_key_text(std::string_view domain);
// An address (or a bare local part) likewise: the local part lower-cased, the domain after
// the last '@' as domain_key_text writes it.
std::string address_key_text(std::string_view address);

// The stored key of `rule`'s bucket for the text it counts by: the client address (client_ip;
// client_subnet computes the subnet), the SASL user, the sender or recipient address
// (address_key_text), or for sender_domain the domain of an address or a domain
// (domain_key_text). "" when the text gives the rule nothing to count. The engine and
// `mailwarden ratelimit` both use it, so that they cannot disagree on a key.
std::string rate_key(const config::RateLimitRule& rule, std::string_view raw);

class RateLimits {
public:
    explicit RateLimits(const config::Config& config);
    bool empty() const { return rules_.empty(); }
    const std::vector<config::RateLimitRule>& rules() const { return rules_; }
    bool any_at(config::RateStage stage) const;

    // The store operation that checks rules()[index] for `subject`; nullopt when the message
    // gives that rule nothing to count (no key, or a cost of 0 recipients).
    std::optional<state::RateCheck> check(std::size_t index, const LimitSubject& subject) const;
    // The refusal of a message rules()[index] can never let through, however long the sender
    // waits: it counts more (recipients) than the limit's burst, which is all an empty bucket
    // holds. A permanent 550 5.5.3 naming the limit, not a 451 retried until the message
    // bounces days later; nullopt when the message may pass.
    std::optional<Verdict> never_passes(std::size_t index, const LimitSubject& subject) const;
    // The verdict of rules()[index] when its outcome is limited; nullopt otherwise.
    std::optional<Verdict> verdict(std::size_t index, const state::RateOutcome& outcome) const;

private:
    std::vector<config::RateLimitRule> rules_;
};

} // namespace mailwarden::engine
