// See cli.hh.
#include "tools/cli.hh"

#include "engine/resolver_options.hh"

#include <filesystem>
#include <iostream>

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
    "       mailwarden --help | --version\n";

int usage_error(const std::string& message) {
    std::cerr << "mailwarden: " << message << '\n' << usage_text;
    return exit_usage;
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
