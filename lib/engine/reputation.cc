// See reputation.hh.
#include "engine/reputation.hh"

#include <algorithm>
#include <cmath>

namespace mailwarden::engine {

std::optional<int> reputation_score(const state::Reputation& value, double min_messages) {
    const double total = value.good + value.bad;
    if (total < min_messages || total <= 0)
        return std::nullopt;
    return static_cast<int>(std::lround(100 * (value.good - value.bad) / total));
}

ReputationPolicy ReputationPolicy::from_config(const config::Config& config) {
    ReputationPolicy policy;
    policy.half_life = config.duration("reputation_half_life").count();
    policy.min_messages = static_cast<double>(config.integer("reputation_min_messages"));
    policy.tempfail_below = static_cast<int>(config.integer("reputation_tempfail_below"));
    policy.reject_below = static_cast<int>(config.integer("reputation_reject_below"));
    return policy;
}

std::optional<Verdict> ReputationPolicy::verdict(const state::Reputation& ip,
                                                 const state::Reputation& net) const {
    const auto ip_score = reputation_score(ip, min_messages);
    const auto net_score = reputation_score(net, min_messages);
    if (!ip_score && !net_score)
        return std::nullopt;
    const int score = std::min(ip_score.value_or(100), net_score.value_or(100));
    if (score < reject_below)
        return Verdict::reject(
            "5.7.1", "client has a poor reputation here (score " + std::to_string(score) + ")",
            "reputation");
    if (score < tempfail_below)
        return Verdict::tempfail("4.7.1",
                                 "client has a poor reputation here (score " +
                                     std::to_string(score) + "), try again later",
                                 "reputation");
    return std::nullopt;
}

} // namespace mailwarden::engine
