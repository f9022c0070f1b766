// The parameter table's shape and the per-type value rules. The table itself is in params.cc;
// everything else (parser, bounds, dump, man page consistency test) is derived from it.
#pragma once

#include "config/config.hh"

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace mailwarden::config {

// rules: one entry per line, the key repeated for each (e.g. ratelimit = ...); each line is
// checked whole by the validator.
enum class ParamType {
    boolean,
    integer,
    duration,
    size,
    string,
    choice,
    list,
    cidr_list,
    action,
    rules
};
std::string_view type_name(ParamType type);

// Extra validation for string and list items: returns an error message, or "" when valid.
using Validator = std::string (*)(std::string_view value);

struct ParamDef {
    std::string_view name;
    std::string_view section;
    ParamType type;
    // As written in the configuration file. ${runstatedir}, ${localstatedir} and ${sysconfdir}
    // are expanded to the build-time directories (see expand_directories).
    std::string_view default_text;
    long long min = 0; // integer: value; duration: milliseconds; size: bytes
    long long max = 0; // min == max == 0: unbounded
    std::span<const std::string_view> allowed = {}; // choice and action values
    Validator validator = nullptr;
    bool secret = false; // a password: config dump shows ******** instead
    bool reloadable = false;
    bool unique_names = false; // rules: the first word of each names it, once in the file
    std::string_view help;     // one line
    std::string_view doc;      // a paragraph
};

std::span<const ParamDef> parameters();
const ParamDef* find_parameter(std::string_view name);
std::span<const std::string_view> sections(); // in table order

// "1s..60s" for the parameter's bounds in its own units; "" when unbounded.
std::string bounds_text(const ParamDef& param);

// Parses one value (for a list: one line's worth of items) for param, with bounds and validators
// applied. On failure returns nullopt and sets *error to a message such as "value out of range
// 1s..60s".
std::optional<Value> parse_value(const ParamDef& param, std::string_view text, std::string* error);

// Canonical text for a value of param's type.
std::string format_value(const ParamDef& param, const Value& value);

std::string expand_directories(std::string_view text);

// The only code that writes into a Config (the parser, defaults, and ConfigHolder's merge).
class ConfigBuilder {
public:
    static Config defaults(); // every parameter at its default; a bad default is a bug (throws)
    static void set(Config& config, std::string_view name, Value value);
    static void set_source(Config& config, std::string path) {
        config.source_path_ = std::move(path);
    }
};

} // namespace mailwarden::config
