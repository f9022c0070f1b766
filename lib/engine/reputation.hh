// Reputation of one configuration: the good/bad counters kept per client address ("ip"),
// client network ("net": /24, /64) and authenticated domain ("domain"), and when a client's
// score refuses it at MAIL (the check that moves them is checks/reputation.cc; the allow
// and deny lists that override it are checks/lists.cc). Parameters read:
// reputation_half_life, reputation_min_messages, reputation_tempfail_below,
// reputation_reject_below. Never throws after construction.
#pragma once

#include "config/config.hh"
#include "engine/verdict.hh"
#include "state/store.hh"

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

    static ReputationPolicy from_config(const config::Config& config);

    bool refuses() const { return tempfail_below > -100 || reject_below > -100; }

    // At MAIL, from the client's address and network records: a refusal, or nullopt.
    std::optional<Verdict> verdict(const state::Reputation& ip, const state::Reputation& net) const;
};

} // namespace mailwarden::engine
