// See rules.hh.
#include "state/rules.hh"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <type_traits>

namespace mailwarden::state {

namespace {

std::optional<Millis> parse_millis(std::string_view text) {
    Millis value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty())
        return std::nullopt;
    return value;
}

std::optional<double> parse_double(std::string_view text) {
    // std::from_chars for double is in libstdc++ 11+; strtod would depend on the locale.
    double value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size() || text.empty() ||
        !std::isfinite(value) || value < 0)
        return std::nullopt;
    return value;
}

std::string reputation_text(const Reputation& value, Millis updated) {
    char text[96];
    std::snprintf(text, sizeof text, "%.17g %.17g %lld", value.good, value.bad,
                  static_cast<long long>(updated));
    return text;
}

Applied rate(const RateCheck& check, const std::optional<std::string_view>& stored, Millis now) {
    Applied applied;
    const Millis interval = std::max<Millis>(check.interval, 1);
    const std::int64_t cost = std::max<std::int64_t>(check.cost, 0);
    const std::int64_t burst = std::max<std::int64_t>(check.burst, 1);
    Millis tat = now;
    if (stored)
        if (const auto previous = parse_rate(*stored))
            tat = std::max(*previous, now);
    const Millis new_tat = tat + interval * cost;
    const Millis allow_at = new_tat - interval * burst;
    if (now < allow_at) {
        applied.outcome = RateOutcome{.limited = true, .retry_after = allow_at - now};
        return applied;
    }
    applied.outcome = RateOutcome{};
    applied.write = Applied::Write::put;
    applied.value = std::to_string(new_tat);
    applied.expires_at = new_tat;
    return applied;
}

Applied reputation(const ReputationChange& change, const std::optional<std::string_view>& stored,
                   Millis now) {
    Applied applied;
    Reputation value;
    if (stored)
        if (const auto previous = parse_reputation(*stored))
            value = decayed(previous->first, previous->second, now, change.half_life);
    if (change.good > 0 || change.bad > 0) {
        value.good += std::max(change.good, 0.0);
        value.bad += std::max(change.bad, 0.0);
        applied.write = Applied::Write::put;
        applied.value = reputation_text(value, now);
        applied.expires_at = now + reputation_lifetime_half_lives * change.half_life;
    }
    applied.outcome = value;
    return applied;
}

Applied greylist(const GreylistCheck& check, const std::optional<std::string_view>& stored,
                 Millis now) {
    Applied applied;
    applied.write = Applied::Write::put;
    if (stored && *stored == "pass") {
        applied.outcome = GreylistOutcome::known;
        applied.value = "pass";
        applied.expires_at = now + check.pass_lifetime;
        return applied;
    }
    const std::optional<Millis> first_seen = stored ? parse_greylist_seen(*stored) : std::nullopt;
    if (!first_seen || *first_seen > now) {
        applied.outcome = GreylistOutcome::first_seen;
        applied.value = "seen " + std::to_string(now);
        applied.expires_at = now + check.retry_window;
    } else if (now - *first_seen < check.delay) {
        applied.outcome = GreylistOutcome::too_early;
        applied.write = Applied::Write::none;
    } else {
        applied.outcome = GreylistOutcome::passed;
        applied.value = "pass";
        applied.expires_at = now + check.pass_lifetime;
    }
    return applied;
}

} // namespace

std::optional<Millis> parse_rate(std::string_view value) {
    return parse_millis(value);
}

std::optional<std::pair<Reputation, Millis>> parse_reputation(std::string_view value) {
    const std::size_t first = value.find(' ');
    const std::size_t second = first == std::string_view::npos ? first : value.find(' ', first + 1);
    if (second == std::string_view::npos)
        return std::nullopt;
    const auto good = parse_double(value.substr(0, first));
    const auto bad = parse_double(value.substr(first + 1, second - first - 1));
    const auto updated = parse_millis(value.substr(second + 1));
    if (!good || !bad || !updated)
        return std::nullopt;
    return std::pair{Reputation{*good, *bad}, *updated};
}

std::optional<Millis> parse_greylist_seen(std::string_view value) {
    if (!value.starts_with("seen "))
        return std::nullopt;
    return parse_millis(value.substr(5));
}

Reputation decayed(Reputation value, Millis updated, Millis now, Millis half_life) {
    if (now <= updated || half_life <= 0)
        return value;
    const double factor =
        std::exp2(-static_cast<double>(now - updated) / static_cast<double>(half_life));
    return {value.good * factor, value.bad * factor};
}

const std::string& key_of(const Operation& operation) {
    return std::visit([](const auto& op) -> const std::string& { return op.key; }, operation);
}

bool usable_key(std::string_view key) {
    return !key.empty() && key.size() <= 400;
}

Applied apply(const Operation& operation, const std::optional<std::string_view>& stored,
              Millis now) {
    return std::visit(
        [&](const auto& op) -> Applied {
            using Op = std::decay_t<decltype(op)>;
            if constexpr (std::is_same_v<Op, RateCheck>) {
                return rate(op, stored, now);
            } else if constexpr (std::is_same_v<Op, ReputationChange>) {
                return reputation(op, stored, now);
            } else if constexpr (std::is_same_v<Op, GreylistCheck>) {
                return greylist(op, stored, now);
            } else if constexpr (std::is_same_v<Op, ReportOperation>) {
                return {}; // several entries: the backends run these themselves
            } else {
                Applied applied;
                if constexpr (std::is_same_v<Op, Forget>) {
                    applied.outcome = stored.has_value();
                    applied.write = Applied::Write::erase;
                } else if constexpr (std::is_same_v<Op, Inspect>) {
                    applied.outcome = std::string(stored.value_or(""));
                } else if constexpr (std::is_same_v<Op, SetReputation>) {
                    applied.outcome = op.value;
                    applied.write = Applied::Write::put;
                    applied.value = reputation_text(op.value, now);
                    applied.expires_at = now + reputation_lifetime_half_lives * op.half_life;
                } else {
                    static_assert(std::is_same_v<Op, AllowGreylist>);
                    applied.outcome = GreylistOutcome::known;
                    applied.write = Applied::Write::put;
                    applied.value = "pass";
                    applied.expires_at = now + op.pass_lifetime;
                }
                return applied;
            }
        },
        operation);
}

} // namespace mailwarden::state
