// The configuration parser, snapshot getters and dump. Reads every parameter of the table in
// params.cc. Bad input (syntax, unknown or misplaced keys, values out of bounds, duplicates) is
// collected as ConfigError values with file, line and key; parsing never throws on input. The
// getters throw std::logic_error when code asks for an unknown name or the wrong type.
#include "config/config.hh"

#include "config/params.hh"
#include "util/parse.hh"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mailwarden::config {

namespace {

template <typename T> const T& get_as(const Config& config, std::string_view name) {
    const Value& value = config.value(name);
    if (const T* typed = std::get_if<T>(&value))
        return *typed;
    throw std::logic_error("configuration parameter '" + std::string(name) +
                           "' read with the wrong type");
}

// A '#' starts a comment at the start of the text or after whitespace; "a#b" is a value.
std::string_view strip_comment(std::string_view text) {
    for (std::size_t at = 0; at < text.size(); ++at) {
        if (text[at] == '#' && (at == 0 || text[at - 1] == ' ' || text[at - 1] == '\t'))
            return text.substr(0, at);
    }
    return text;
}

bool known_section(std::string_view name) {
    for (std::string_view section : sections()) {
        if (section == name)
            return true;
    }
    return false;
}

class Parser {
public:
    explicit Parser(std::string_view file_name) : file_(file_name) {}

    LoadResult run(std::string_view text) {
        int line_number = 0;
        while (!text.empty()) {
            const auto newline = text.find('\n');
            parse_line(++line_number, text.substr(0, newline));
            text = newline == std::string_view::npos ? "" : text.substr(newline + 1);
        }
        if (!errors_.empty())
            return {nullptr, std::move(errors_)};
        ConfigBuilder::set_source(config_, file_);
        return {std::make_shared<const Config>(std::move(config_)), {}};
    }

private:
    void error(int line, std::string_view key, std::string message) {
        errors_.push_back({file_, line, std::string(key), std::move(message)});
    }

    void parse_line(int line, std::string_view raw) {
        const auto content = util::trim(raw);
        if (content.empty() || content.front() == '#')
            return;
        if (content.front() == '[')
            return parse_section(line, util::trim(strip_comment(content)));
        const auto equals = content.find('=');
        if (equals == std::string_view::npos)
            return error(line, "",
                         "expected 'name = value' or '[section]', got '" +
                             std::string(content.substr(0, 60)) + "'");
        const auto key = util::trim(content.substr(0, equals));
        const auto value = util::trim(strip_comment(content.substr(equals + 1)));
        parse_assignment(line, key, value);
    }

    void parse_section(int line, std::string_view header) {
        if (header.size() < 2 || header.back() != ']')
            return error(line, "", "malformed section header (expected '[name]')");
        section_ = util::trim(header.substr(1, header.size() - 2));
        if (!known_section(section_))
            error(line, "", "unknown section [" + section_ + "]");
    }

    void parse_assignment(int line, std::string_view key, std::string_view value) {
        if (key.empty())
            return error(line, "", "missing parameter name before '='");
        const ParamDef* param = find_parameter(key);
        if (param == nullptr)
            return error(line, key, "unknown parameter");
        if (section_.empty())
            return error(line, key,
                         "outside any section; it belongs in section [" +
                             std::string(param->section) + "]");
        if (section_ != param->section)
            return error(line, key,
                         "belongs in section [" + std::string(param->section) + "], not [" +
                             section_ + "]");
        const bool is_list = param->type == ParamType::list ||
                             param->type == ParamType::cidr_list || param->type == ParamType::rules;
        const auto [first, inserted] = first_line_.try_emplace(param->name, line);
        if (!inserted && !is_list)
            return error(line, key,
                         "given twice (lines " + std::to_string(first->second) + " and " +
                             std::to_string(line) + ")");
        std::string message;
        auto parsed = parse_value(*param, value, &message);
        if (!parsed)
            return error(line, key, message);
        if (param->unique_names && !name_is_new(*param, line, value))
            return;
        if (!inserted) // a repeated list key appends to what the file already set
            parsed = append(config_.value(param->name), std::move(*parsed));
        ConfigBuilder::set(config_, param->name, std::move(*parsed));
    }

    // For rules whose first word names them: that no earlier line took the name.
    bool name_is_new(const ParamDef& param, int line, std::string_view value) {
        const std::string name(value.substr(0, value.find_first_of(" \t")));
        const auto [first, inserted] =
            rule_names_.try_emplace(std::string(param.name) + " " + name, line);
        if (!inserted)
            error(line, param.name,
                  "the name '" + name + "' is taken (line " + std::to_string(first->second) +
                      "); each " + std::string(param.name) + " needs a name of its own");
        return inserted;
    }

    static Value append(const Value& earlier, Value later) {
        if (const auto* networks = std::get_if<util::CidrSet>(&earlier)) {
            util::CidrSet combined = *networks;
            for (const util::Cidr& network : std::get<util::CidrSet>(later).networks())
                combined.add(network);
            return combined;
        }
        auto combined = std::get<std::vector<std::string>>(earlier);
        for (auto& item : std::get<std::vector<std::string>>(later))
            combined.push_back(std::move(item));
        return combined;
    }

    std::string file_;
    std::string section_;
    Config config_ = ConfigBuilder::defaults();
    std::map<std::string_view, int> first_line_;
    std::map<std::string, int> rule_names_; // "PARAM NAME" -> line
    std::vector<ConfigError> errors_;
};

} // namespace

Config ConfigBuilder::defaults() {
    Config config;
    for (const ParamDef& param : parameters()) {
        std::string message;
        auto value = parse_value(param, param.default_text, &message);
        if (!value)
            throw std::logic_error("bad default for " + std::string(param.name) + ": " + message);
        config.values_.insert_or_assign(std::string(param.name), std::move(*value));
    }
    return config;
}

void ConfigBuilder::set(Config& config, std::string_view name, Value value) {
    config.values_.insert_or_assign(std::string(name), std::move(value));
}

const Value& Config::value(std::string_view name) const {
    const auto found = values_.find(name);
    if (found == values_.end())
        throw std::logic_error("unknown configuration parameter '" + std::string(name) + "'");
    return found->second;
}

bool Config::boolean(std::string_view name) const {
    return get_as<bool>(*this, name);
}
long long Config::integer(std::string_view name) const {
    return get_as<long long>(*this, name);
}
std::chrono::milliseconds Config::duration(std::string_view name) const {
    return get_as<std::chrono::milliseconds>(*this, name);
}
std::uint64_t Config::size(std::string_view name) const {
    return get_as<std::uint64_t>(*this, name);
}
const std::string& Config::string(std::string_view name) const {
    return get_as<std::string>(*this, name);
}
const std::vector<std::string>& Config::list(std::string_view name) const {
    return get_as<std::vector<std::string>>(*this, name);
}
const util::CidrSet& Config::cidrs(std::string_view name) const {
    return get_as<util::CidrSet>(*this, name);
}
Action Config::action(std::string_view name) const {
    return get_as<Action>(*this, name);
}
const std::string& Config::source_path() const {
    return source_path_;
}

std::string Config::text(std::string_view name) const {
    const ParamDef* param = find_parameter(name);
    if (param == nullptr)
        throw std::logic_error("unknown configuration parameter '" + std::string(name) + "'");
    return format_value(*param, value(name));
}

std::string ConfigError::to_string() const {
    std::string text = file;
    if (line > 0)
        text += ":" + std::to_string(line);
    text += ": ";
    if (!key.empty())
        text += key + ": ";
    return text + message;
}

LoadResult parse_config_text(std::string_view text, std::string_view file_name) {
    return Parser(file_name).run(text);
}

LoadResult load_config_file(const std::string& path) {
    std::error_code ignored;
    if (std::filesystem::is_directory(path, ignored))
        return {nullptr, {{path, 0, "", "cannot read configuration file: is a directory"}}};
    std::ifstream input(path, std::ios::binary);
    if (!input)
        return {nullptr,
                {{path, 0, "",
                  "cannot read configuration file: " + std::string(std::strerror(errno))}}};
    std::ostringstream contents;
    contents << input.rdbuf();
    if (input.bad())
        return {nullptr, {{path, 0, "", "error reading configuration file"}}};
    return parse_config_text(contents.str(), path);
}

ConfigPtr default_config() {
    static const ConfigPtr defaults = std::make_shared<const Config>(ConfigBuilder::defaults());
    return defaults;
}

std::string default_config_path() {
    return SYSCONFDIR "/mailwarden/mailwarden.conf";
}

std::string dump_config(const Config& config, bool non_default_only) {
    const ConfigPtr defaults = default_config();
    std::string dump;
    for (std::string_view section : sections()) {
        std::string lines;
        for (const ParamDef& param : parameters()) {
            if (param.section != section)
                continue;
            const std::string text = param.secret && !config.text(param.name).empty()
                                         ? std::string("********")
                                         : config.text(param.name);
            if (non_default_only && text == defaults->text(param.name))
                continue;
            if (param.type == ParamType::rules && !text.empty()) { // one line per rule
                for (const std::string& rule : config.list(param.name))
                    lines += std::string(param.name) + " = " + rule + "\n";
                continue;
            }
            lines += std::string(param.name) + (text.empty() ? " =\n" : " = " + text + "\n");
        }
        if (lines.empty())
            continue;
        dump += (dump.empty() ? "[" : "\n[") + std::string(section) + "]\n" + lines;
    }
    return dump;
}

} // namespace mailwarden::config
