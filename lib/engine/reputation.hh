// Reputation of one configuration: the good/bad counters kept per client address ("ip"),
// client network ("net": /24, /64) and authenticated domain ("domain"), how a message's
// outcome moves them, and when a client's score refuses it at MAIL. Also the allow and deny
// lists that override it. Parameters read: reputation_half_life, reputation_min_messages,
// reputation_tempfail_below, reputation_reject_below, allow_networks, deny_networks,
// allow_domains, deny_domains. Never throws after construction.
#pragma once

#include "config/config.hh"
#include "engine/verdict.hh"
#include "state/store.hh"
#include "util/cidr.hh"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::engine {

// 100 * (good - bad) / (good + bad), or nullopt below min_messages outcomes.
std::optional<int> reputation_score(const state::Reputation& value, double min_messages);

struct ReputationPolicy {
    state::Millis half_life = 7LL * 86'400'000;
    double min_messages = 20;
    int tempfail_below = -100;
    int reject_below = -100;
    util::CidrSet allow_networks;
    util::CidrSet deny_networks;
    std::vector<std::string> allow_domains; // lowercase
    std::vector<std::string> deny_domains;  // lowercase

    static ReputationPolicy from_config(const config::Config& config);

    bool refuses() const { return tempfail_below > -100 || reject_below > -100; }
    bool denied_network(std::string_view client_ip) const;
    bool allowed_network(std::string_view client_ip) const;
    bool denied_domain(std::string_view domain) const;
    bool allowed_domain(std::string_view domain) const;

    // At MAIL, from the client's address and network records: a refusal, or nullopt.
    std::optional<Verdict> verdict(const state::Reputation& ip, const state::Reputation& net) const;
};

// How one message moves the counters.
enum class ReputationOutcome { good, bad, neutral };

} // namespace mailwarden::engine
