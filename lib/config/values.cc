// Per-type value rules of the parameter table: parse one value with bounds, allowed words and
// validators applied, and format it back canonically. Reads no parameters itself; failures are
// returned as messages ("value out of range 1s..60s"), never thrown.
#include "config/params.hh"

#include "util/parse.hh"

#include <array>
#include <climits>

namespace mailwarden::config {

namespace {

constexpr std::array<std::string_view, 6> action_names{"accept",     "tempfail", "reject",
                                                       "quarantine", "discard",  "none"};

std::string join_words(std::span<const std::string_view> words, std::string_view separator) {
    std::string text;
    for (std::string_view word : words) {
        if (!text.empty())
            text += separator;
        text += word;
    }
    return text;
}

std::string bound_text(ParamType type, long long bound) {
    if (type == ParamType::size)
        return util::format_size(static_cast<std::uint64_t>(bound));
    return std::to_string(bound);
}

// Both duration bounds in one unit, the largest that divides both: "1s..60s", not "1s..1m".
std::string duration_bounds_text(long long min, long long max) {
    constexpr std::array<std::pair<long long, std::string_view>, 6> units{{{604'800'000, "w"},
                                                                           {86'400'000, "d"},
                                                                           {3'600'000, "h"},
                                                                           {60'000, "m"},
                                                                           {1000, "s"},
                                                                           {1, "ms"}}};
    for (const auto& [factor, suffix] : units) {
        if (min % factor == 0 && max % factor == 0 && (min != 0 || max != 0))
            return std::to_string(min / factor) + std::string(suffix) + ".." +
                   std::to_string(max / factor) + std::string(suffix);
    }
    return "";
}

bool bounded(const ParamDef& param) {
    return param.min != 0 || param.max != 0;
}

// The numeric value of a scalar for bounds checking; sizes above LLONG_MAX are always too big.
std::optional<Value> check_range(const ParamDef& param, long long number, Value value,
                                 std::string* error) {
    if (bounded(param) && (number < param.min || number > param.max)) {
        *error = "value out of range " + bounds_text(param);
        return std::nullopt;
    }
    return value;
}

std::optional<Value> parse_word(const ParamDef& param, std::string_view text, std::string* error) {
    for (std::string_view allowed : param.allowed) {
        if (text != allowed)
            continue;
        if (param.type == ParamType::choice)
            return Value(std::string(text));
        for (std::size_t index = 0; index < action_names.size(); ++index) {
            if (action_names[index] == text)
                return Value(static_cast<Action>(index));
        }
    }
    *error = "invalid value '" + std::string(text) +
             "' (expected one of: " + join_words(param.allowed, ", ") + ")";
    return std::nullopt;
}

std::optional<Value> parse_list(const ParamDef& param, std::string_view text, std::string* error) {
    std::vector<std::string> items;
    util::CidrSet networks;
    for (std::string_view item : util::split_words(text)) {
        if (param.type == ParamType::cidr_list) {
            if (!networks.add(item, error))
                return std::nullopt;
            continue;
        }
        if (param.validator) {
            if (auto message = param.validator(item); !message.empty()) {
                *error = message;
                return std::nullopt;
            }
        }
        items.emplace_back(item);
    }
    if (param.type == ParamType::cidr_list)
        return Value(std::move(networks));
    return Value(std::move(items));
}

std::optional<Value> parse_scalar(const ParamDef& param, std::string_view text,
                                  std::string* error) {
    switch (param.type) {
    case ParamType::boolean:
        if (auto value = util::parse_bool(text))
            return Value(*value);
        *error = "not a boolean: '" + std::string(text) + "' (expected yes or no)";
        return std::nullopt;
    case ParamType::integer:
        if (auto value = util::parse_int(text))
            return check_range(param, *value, Value(*value), error);
        *error = "not an integer: '" + std::string(text) + "'";
        return std::nullopt;
    case ParamType::duration:
        if (auto value = util::parse_duration(text))
            return check_range(param, value->count(), Value(*value), error);
        *error = "not a duration: '" + std::string(text) + "' (expected e.g. 500ms, 30s, 5m, 1h)";
        return std::nullopt;
    case ParamType::size:
        if (auto value = util::parse_size(text)) {
            const auto clamped = *value > static_cast<std::uint64_t>(LLONG_MAX)
                                     ? LLONG_MAX
                                     : static_cast<long long>(*value);
            return check_range(param, clamped, Value(*value), error);
        }
        *error = "not a size: '" + std::string(text) + "' (expected e.g. 512k, 10M, 1G)";
        return std::nullopt;
    default:
        return std::nullopt;
    }
}

} // namespace

std::string_view action_name(Action action) {
    const auto index = static_cast<std::size_t>(action);
    return index < action_names.size() ? action_names[index] : "none";
}

std::string_view type_name(ParamType type) {
    constexpr std::array<std::string_view, 10> names{"boolean", "integer", "duration", "size",
                                                     "string",  "choice",  "list",     "CIDR list",
                                                     "action",  "rules"};
    return names[static_cast<std::size_t>(type)];
}

std::string bounds_text(const ParamDef& param) {
    if (!bounded(param))
        return "";
    if (param.type == ParamType::duration)
        return duration_bounds_text(param.min, param.max);
    return bound_text(param.type, param.min) + ".." + bound_text(param.type, param.max);
}

std::string expand_directories(std::string_view text) {
    static const std::array<std::pair<std::string_view, std::string_view>, 3> directories{{
        {"${runstatedir}", RUNSTATEDIR},
        {"${localstatedir}", LOCALSTATEDIR},
        {"${sysconfdir}", SYSCONFDIR},
    }};
    std::string expanded(text);
    for (const auto& [variable, directory] : directories) {
        for (auto at = expanded.find(variable); at != std::string::npos;
             at = expanded.find(variable, at + directory.size()))
            expanded.replace(at, variable.size(), directory);
    }
    return expanded;
}

std::optional<Value> parse_value(const ParamDef& param, std::string_view text, std::string* error) {
    switch (param.type) {
    case ParamType::rules: {
        std::vector<std::string> rules;
        if (text.empty())
            return Value(std::move(rules)); // "key =" clears the list
        if (param.validator) {
            if (auto message = param.validator(text); !message.empty()) {
                *error = message;
                return std::nullopt;
            }
        }
        rules.emplace_back(text);
        return Value(std::move(rules));
    }
    case ParamType::list:
    case ParamType::cidr_list:
        return parse_list(param, text, error);
    case ParamType::choice:
    case ParamType::action:
        return parse_word(param, text, error);
    case ParamType::string: {
        std::string expanded = expand_directories(text);
        if (param.validator) {
            if (auto message = param.validator(expanded); !message.empty()) {
                *error = message;
                return std::nullopt;
            }
        }
        return Value(std::move(expanded));
    }
    default:
        if (text.empty()) {
            *error = "empty value";
            return std::nullopt;
        }
        return parse_scalar(param, text, error);
    }
}

std::string format_value(const ParamDef& param, const Value& value) {
    if (param.type == ParamType::rules) {
        std::string text;
        for (const std::string& rule : std::get<std::vector<std::string>>(value))
            text += (text.empty() ? "" : "; ") + rule;
        return text;
    }
    struct Formatter {
        std::string operator()(bool flag) const { return util::format_bool(flag); }
        std::string operator()(long long number) const { return std::to_string(number); }
        std::string operator()(std::chrono::milliseconds time) const {
            return util::format_duration(time);
        }
        std::string operator()(std::uint64_t bytes) const { return util::format_size(bytes); }
        std::string operator()(const std::string& text) const { return text; }
        std::string operator()(const std::vector<std::string>& items) const {
            return join_words(std::vector<std::string_view>(items.begin(), items.end()), " ");
        }
        std::string operator()(const util::CidrSet& networks) const { return networks.to_string(); }
        std::string operator()(Action action) const { return std::string(action_name(action)); }
    };
    return std::visit(Formatter{}, value);
}

} // namespace mailwarden::config
