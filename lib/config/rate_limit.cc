// See rate_limit.hh.
#include "config/rate_limit.hh"

#include "util/parse.hh"

#include <array>
#include <utility>

namespace mailwarden::config {

namespace {

constexpr std::array<std::pair<std::string_view, RateKey>, 6> keys{{
    {"client_ip", RateKey::client_ip},
    {"client_subnet", RateKey::client_subnet},
    {"sasl_user", RateKey::sasl_user},
    {"sender", RateKey::sender},
    {"sender_domain", RateKey::sender_domain},
    {"recipient", RateKey::recipient},
}};

constexpr std::int64_t max_rate = 1'000'000'000;

bool valid_name(std::string_view name) {
    if (name.empty() || name.size() > 32)
        return false;
    for (const char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    return true;
}

std::optional<RateStage> stage_named(std::string_view option) {
    if (option == "stage=mail")
        return RateStage::mail;
    if (option == "stage=rcpt")
        return RateStage::rcpt;
    if (option == "stage=eom")
        return RateStage::end_of_message;
    return std::nullopt;
}

std::optional<RateLimitRule> fail(std::string* error, std::string message) {
    *error = std::move(message);
    return std::nullopt;
}

} // namespace

std::string_view rate_key_name(RateKey key) {
    for (const auto& [name, value] : keys)
        if (value == key)
            return name;
    return "?";
}

RateStage RateLimitRule::stage() const {
    if (configured_stage)
        return *configured_stage;
    if (count == RateCount::recipients)
        return RateStage::end_of_message;
    return key == RateKey::recipient ? RateStage::rcpt : RateStage::mail;
}

std::optional<RateLimitRule> parse_rate_limit(std::string_view line, std::string* error) {
    const std::vector<std::string_view> words = util::split_words(line);
    if (words.size() < 3)
        return fail(error, "expected NAME KEY RATE/PERIOD [burst=N] [action=tempfail|reject] "
                           "[count=messages|recipients] [stage=mail|rcpt|eom]");
    RateLimitRule rule;
    if (!valid_name(words[0]))
        return fail(error,
                    "limit name must be 1 to 32 of a-z 0-9 _: '" + std::string(words[0]) + "'");
    rule.name = words[0];
    bool known_key = false;
    for (const auto& [name, value] : keys)
        if (words[1] == name) {
            rule.key = value;
            known_key = true;
        }
    if (!known_key)
        return fail(error,
                    "unknown key '" + std::string(words[1]) +
                        "' (client_ip client_subnet sasl_user sender sender_domain recipient)");
    const std::string_view rate_text = words[2];
    const std::size_t slash = rate_text.find('/');
    const auto rate = util::parse_int(rate_text.substr(0, slash));
    std::optional<std::chrono::milliseconds> period;
    if (slash != std::string_view::npos)
        period = util::parse_duration(rate_text.substr(slash + 1));
    if (!rate || *rate < 1 || *rate > max_rate || !period || period->count() < 1 ||
        *period / *rate < std::chrono::milliseconds(1))
        return fail(error, "not RATE/PERIOD (e.g. 100/1h, at most one per millisecond): '" +
                               std::string(rate_text) + "'");
    rule.rate = *rate;
    rule.period = *period;
    rule.burst = *rate;
    for (std::size_t i = 3; i < words.size(); ++i) {
        const std::string_view option = words[i];
        if (option.starts_with("burst=")) {
            const auto burst = util::parse_int(option.substr(6));
            if (!burst || *burst < 1 || *burst > max_rate)
                return fail(error, "burst must be a number from 1: '" + std::string(option) + "'");
            rule.burst = *burst;
        } else if (option == "action=tempfail" || option == "action=reject") {
            rule.reject = option == "action=reject";
        } else if (option == "count=messages" || option == "count=recipients") {
            rule.count = option == "count=recipients" ? RateCount::recipients : RateCount::messages;
        } else if (const auto stage = stage_named(option)) {
            rule.configured_stage = *stage;
        } else {
            return fail(error, "unknown option '" + std::string(option) +
                                   "' (burst=N action=tempfail|reject count=messages|recipients "
                                   "stage=mail|rcpt|eom)");
        }
    }
    if (rule.key == RateKey::recipient && rule.stage() != RateStage::rcpt)
        return fail(error, "a recipient limit can only be checked at stage=rcpt");
    if (rule.count == RateCount::recipients && rule.stage() != RateStage::end_of_message)
        return fail(error, "count=recipients is known at stage=eom only");
    return rule;
}

} // namespace mailwarden::config
