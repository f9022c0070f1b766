// See limits.hh.
#include "engine/limits.hh"

#include "util/ascii.hh"
#include "util/cidr.hh"

#include <set>
#include <stdexcept>

namespace mailwarden::engine {

namespace {

using config::RateKey;

// The raw text a rule counts by, "" when the message has none for it.
std::string raw_key(const config::RateLimitRule& rule, const LimitSubject& subject) {
    switch (rule.key) {
    case RateKey::client_ip:
        return subject.inbound ? subject.client_ip : "";
    case RateKey::client_subnet:
        return subject.inbound ? client_subnet(subject.client_ip) : "";
    case RateKey::sasl_user:
        return subject.sasl_user;
    case RateKey::sender:
        return util::ascii_lowered(subject.sender);
    case RateKey::sender_domain: {
        const std::size_t at = subject.sender.rfind('@');
        return at == std::string::npos ? "" : util::ascii_lowered(subject.sender.substr(at + 1));
    }
    case RateKey::recipient:
        return util::ascii_lowered(subject.recipient);
    }
    return "";
}

} // namespace

std::string client_subnet(std::string_view client_ip) {
    const auto address = util::parse_ip(client_ip);
    if (!address)
        return "";
    util::Cidr network{.network = *address, .prefix_length = address->is_v6 ? 64 : 24};
    const int host_bytes_from = address->is_v6 ? 8 : 3;
    for (int i = host_bytes_from; i < 16; ++i)
        network.network.bytes[static_cast<std::size_t>(i)] = 0;
    return network.to_string();
}

RateLimits::RateLimits(const config::Config& config) {
    std::set<std::string, std::less<>> names;
    for (const std::string& line : config.list("ratelimit")) {
        std::string error;
        auto rule = config::parse_rate_limit(line, &error);
        if (!rule) // the configuration checked it already
            throw std::runtime_error("ratelimit: " + error);
        if (!names.insert(rule->name).second)
            throw std::runtime_error("ratelimit: two limits are named " + rule->name);
        rules_.push_back(std::move(*rule));
    }
}

bool RateLimits::any_at(config::RateStage stage) const {
    for (const auto& rule : rules_)
        if (rule.stage() == stage)
            return true;
    return false;
}

RateLimits::Checks RateLimits::checks_at(config::RateStage stage,
                                         const LimitSubject& subject) const {
    Checks checks;
    for (const auto& rule : rules_) {
        if (rule.stage() != stage)
            continue;
        const std::string raw = raw_key(rule, subject);
        if (raw.empty())
            continue;
        const std::int64_t cost =
            rule.count == config::RateCount::recipients ? subject.recipients : 1;
        if (cost <= 0)
            continue;
        checks.operations.push_back(
            state::RateCheck{.key = state::state_key(state::KeyKind::rate, rule.name, raw),
                             .interval = rule.interval().count(),
                             .burst = rule.burst,
                             .cost = cost});
        checks.rules.push_back(&rule);
    }
    return checks;
}

std::optional<Verdict> RateLimits::verdict(const Checks& checks, const state::BatchResult& result) {
    for (std::size_t i = 0; i < checks.rules.size() && i < result.outcomes.size(); ++i) {
        const auto* outcome = std::get_if<state::RateOutcome>(&result.outcomes[i]);
        if (outcome != nullptr && outcome->limited)
            return rate_limited_verdict(checks.rules[i]->name, checks.rules[i]->reject,
                                        outcome->retry_after);
    }
    return std::nullopt;
}

} // namespace mailwarden::engine
