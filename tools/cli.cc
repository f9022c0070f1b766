// See cli.hh.
#include "tools/cli.hh"

#include "engine/resolver_options.hh"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace mailwarden::tools {

const char* const usage_text =
    "usage: mailwarden check --client-ip IP [--helo NAME] [--mail-from ADDR] [--rcpt ADDR]...\n"
    "                        [--auth-user USER] [-c FILE] [--dns ADDR[@PORT]]\n"
    "                        [--format text|json] [--no-state] [MESSAGE|-]\n"
    "       mailwarden config check [FILE]\n"
    "       mailwarden config dump [--non-default] [-c FILE]\n"
    "       mailwarden dns lookup NAME [TYPE] [-c FILE] [--dns ADDR[@PORT]]\n"
    "       mailwarden dkim keygen DOMAIN SELECTOR [--type rsa|ed25519] [--bits N]\n"
    "                              [--directory DIR] [-c FILE]\n"
    "       mailwarden dkim testkey [DOMAIN] [-c FILE] [--dns ADDR[@PORT]]\n"
    "       mailwarden ratelimit show|reset [LIMIT] KEY [-c FILE]\n"
    "       mailwarden reputation show|forget IP|DOMAIN [-c FILE]\n"
    "       mailwarden reputation set IP|DOMAIN GOOD BAD [-c FILE]\n"
    "       mailwarden greylist show|allow CLIENT_IP SENDER RECIPIENT [-c FILE]\n"
    "       mailwarden dmarc report --print|--send [--interval DAY] [--domain DOMAIN]\n"
    "                               [--output DIR] [-c FILE] [--dns ADDR[@PORT]]\n"
    "       mailwarden --help | --version\n";

int usage_error(const std::string& message) {
    std::cerr << "mailwarden: " << message << '\n' << usage_text;
    return exit_usage;
}

int command_help(const std::string& command) {
    // Every line of usage_text starts with "usage: " or seven spaces; a line naming the
    // program starts a command's usage, the others continue it.
    std::istringstream lines(usage_text);
    std::string line, text;
    bool wanted = false;
    while (std::getline(lines, line)) {
        if (const std::size_t program = line.find("mailwarden "); program != std::string::npos) {
            const std::string_view rest = std::string_view(line).substr(program + 11);
            wanted = rest.substr(0, rest.find(' ')) == command;
        }
        if (wanted)
            text += (text.empty() ? "usage: " : "       ") +
                    line.substr(std::min<std::size_t>(7, line.size())) + '\n';
    }
    if (text.empty())
        return usage_error("unknown command '" + command + "'");
    std::cout << text;
    return exit_ok;
}

bool asks_for_help(const std::vector<std::string>& arguments) {
    return std::any_of(arguments.begin(), arguments.end(),
                       [](const std::string& word) { return word == "--help" || word == "-h"; });
}

void print_errors(const config::LoadResult& result) {
    for (const auto& error : result.errors)
        std::cerr << error.to_string() << '\n';
}

bool parse_arguments(const std::vector<std::string>& arguments,
                     const po::options_description& options,
                     const po::positional_options_description& positional,
                     po::variables_map& values) {
    try {
        po::store(po::command_line_parser(arguments).options(options).positional(positional).run(),
                  values);
        po::notify(values);
        return true;
    } catch (const po::error& error) {
        usage_error(error.what());
        return false;
    }
}

std::optional<config::ConfigPtr> load_or_defaults(const std::optional<std::string>& path) {
    const std::string file = path.value_or(config::default_config_path());
    if (std::error_code ignored; !path && !std::filesystem::exists(file, ignored))
        return config::default_config();
    config::LoadResult result = config::load_config_file(file);
    if (!result.ok()) {
        print_errors(result);
        return std::nullopt;
    }
    return result.config;
}

std::optional<engine::Signing> load_signing_or_report(const config::Config& config) {
    std::vector<std::string> errors;
    auto signing = engine::load_signing(config, &errors);
    if (!signing)
        for (const auto& error : errors)
            std::cerr << "mailwarden: " << error << '\n';
    return signing;
}

std::optional<std::string> config_path(const po::variables_map& values) {
    if (values.count("config"))
        return values["config"].as<std::string>();
    return std::nullopt;
}

std::unique_ptr<dns::Resolver> make_resolver(const config::Config& config,
                                             const po::variables_map& values) {
    auto settings = engine::resolver_options(config);
    if (values.count("dns")) {
        settings.servers = {values["dns"].as<std::string>()};
        settings.forward_documentation_zones = true;
    }
    try {
        return dns::make_unbound_resolver(settings);
    } catch (const std::exception& error) {
        std::cerr << "mailwarden: " << error.what() << '\n';
        return nullptr;
    }
}

} // namespace mailwarden::tools
