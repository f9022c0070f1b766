// See limits.hh.
#include "engine/limits.hh"

#include "auth/idna.hh"
#include "util/ascii.hh"
#include "util/cidr.hh"

#include <set>
#include <stdexcept>

namespace mailwarden::engine {

namespace {

using config::RateKey;

// The text of the message a rule counts by, "" when the message has none for it.
std::string_view subject_text(const config::RateLimitRule& rule, const LimitSubject& subject) {
    switch (rule.key) {
    case RateKey::client_ip:
    case RateKey::client_subnet:
        return subject.inbound ? subject.client_ip : "";
    case RateKey::sasl_user:
        return subject.sasl_user;
    case RateKey::sender:
        return subject.sender;
    case RateKey::sender_domain: // a sender without a domain counts for no domain
        return subject.sender.find('@') == std::string_view::npos ? "" : subject.sender;
    case RateKey::recipient:
        return subject.recipient;
    }
    return "";
}

// The normalized text a rule's key is made of, "" when there is none.
std::string rate_key_text(const config::RateLimitRule& rule, std::string_view raw) {
    switch (rule.key) {
    case RateKey::client_ip:
        return util::canonical_ip(raw);
    case RateKey::sasl_user:
        return std::string(raw);
    case RateKey::client_subnet:
        return client_subnet(raw);
    case RateKey::sender:
    case RateKey::recipient:
        return address_key_text(raw);
    case RateKey::sender_domain: {
        const std::size_t at = raw.rfind('@');
        return domain_key_text(at == std::string_view::npos ? raw : raw.substr(at + 1));
    }
    }
    return "";
}

// What one message costs a rule: 1, or its recipients for count=recipients.
std::int64_t cost_of(const config::RateLimitRule& rule, const LimitSubject& subject) {
    return rule.count == config::RateCount::recipients ? subject.recipients : 1;
}

} // namespace

std::string domain_key_text(std::string_view domain) {
    return auth::domain_to_ascii(domain).value_or(util::ascii_lowered(domain));
}

std::string address_key_text(std::string_view address) {
    const std::size_t at = address.rfind('@');
    if (at == std::string_view::npos)
        return util::ascii_lowered(address);
    return util::ascii_lowered(address.substr(0, at + 1)) + domain_key_text(address.substr(at + 1));
}

std::string rate_key(const config::RateLimitRule& rule, std::string_view raw) {
    const std::string text = rate_key_text(rule, raw);
    return text.empty() ? "" : state::state_key(state::KeyKind::rate, rule.name, text);
}

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

std::optional<state::RateCheck> RateLimits::check(std::size_t index,
                                                  const LimitSubject& subject) const {
    const config::RateLimitRule& rule = rules_.at(index);
    std::string key = rate_key(rule, subject_text(rule, subject));
    const std::int64_t cost = cost_of(rule, subject);
    if (key.empty() || cost <= 0)
        return std::nullopt;
    return state::RateCheck{.key = std::move(key),
                            .interval = rule.interval().count(),
                            .burst = rule.burst,
                            .cost = cost};
}

std::optional<Verdict> RateLimits::never_passes(std::size_t index,
                                                const LimitSubject& subject) const {
    const config::RateLimitRule& rule = rules_.at(index);
    const std::int64_t cost = cost_of(rule, subject);
    if (cost <= rule.burst || rate_key(rule, subject_text(rule, subject)).empty())
        return std::nullopt;
    return rate_limit_unreachable_verdict(rule.name, cost, rule.burst);
}

std::optional<Verdict> RateLimits::verdict(std::size_t index,
                                           const state::RateOutcome& outcome) const {
    if (!outcome.limited || index >= rules_.size())
        return std::nullopt;
    return rate_limited_verdict(rules_[index].name, rules_[index].reject, outcome.retry_after);
}

} // namespace mailwarden::engine
