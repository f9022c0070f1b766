// mailwarden: the admin tool. For now: `config check [FILE]` validates a configuration file and
// lists every error; `config dump [--non-default] [-c FILE]` prints the effective configuration.
// Reads the configuration file given (default SYSCONFDIR/mailwarden/mailwarden.conf).
// Exit status: 0 ok, 1 configuration errors, 64 usage error.
#include "config.h"

#include "config/config.hh"

#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace {

namespace po = boost::program_options;
using mailwarden::config::LoadResult;

constexpr int exit_ok = 0;
constexpr int exit_config_error = 1;
constexpr int exit_usage = 64;

constexpr const char* usage_text = "usage: mailwarden config check [FILE]\n"
                                   "       mailwarden config dump [--non-default] [-c FILE]\n"
                                   "       mailwarden --help | --version\n";

int usage_error(const std::string& message) {
    std::cerr << "mailwarden: " << message << '\n' << usage_text;
    return exit_usage;
}

int print_errors(const LoadResult& result) {
    for (const auto& error : result.errors)
        std::cerr << error.to_string() << '\n';
    return exit_config_error;
}

// Parses a subcommand's arguments; returns false (after reporting) on a usage error.
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

int config_check(const std::vector<std::string>& arguments) {
    po::options_description options;
    options.add_options()("file", po::value<std::string>(), "configuration file");
    po::positional_options_description positional;
    positional.add("file", 1);
    po::variables_map values;
    if (!parse_arguments(arguments, options, positional, values))
        return exit_usage;
    const std::string path = values.count("file") ? values["file"].as<std::string>()
                                                  : mailwarden::config::default_config_path();
    const LoadResult result = mailwarden::config::load_config_file(path);
    if (!result.ok())
        return print_errors(result);
    std::cout << path << ": configuration OK\n";
    return exit_ok;
}

int config_dump(const std::vector<std::string>& arguments) {
    po::options_description options;
    options.add_options()("non-default,n", "print only parameters that differ from the default")(
        "config,c", po::value<std::string>(), "configuration file");
    po::variables_map values;
    if (!parse_arguments(arguments, options, {}, values))
        return exit_usage;
    std::string path = mailwarden::config::default_config_path();
    if (values.count("config")) {
        path = values["config"].as<std::string>();
    } else if (std::error_code ignored; !std::filesystem::exists(path, ignored)) {
        // No file at the default place means every parameter is at its default.
        std::cerr << "mailwarden: " << path << " does not exist; showing defaults\n";
        std::cout << mailwarden::config::dump_config(*mailwarden::config::default_config(),
                                                     values.count("non-default") > 0);
        return exit_ok;
    }
    const LoadResult result = mailwarden::config::load_config_file(path);
    if (!result.ok())
        return print_errors(result);
    std::cout << mailwarden::config::dump_config(*result.config, values.count("non-default") > 0);
    return exit_ok;
}

int config_command(const std::vector<std::string>& arguments) {
    if (arguments.empty())
        return usage_error("config: missing subcommand (check or dump)");
    const std::vector<std::string> rest(arguments.begin() + 1, arguments.end());
    if (arguments[0] == "check")
        return config_check(rest);
    if (arguments[0] == "dump")
        return config_dump(rest);
    return usage_error("config: unknown subcommand '" + arguments[0] + "'");
}

} // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> arguments(argv + 1, argv + argc);
    if (arguments.empty())
        return usage_error("missing command");
    const std::string& command = arguments[0];
    if (command == "--help" || command == "-h") {
        std::cout << usage_text;
        return exit_ok;
    }
    if (command == "--version" || command == "-V") {
        std::cout << "mailwarden " PACKAGE_VERSION "\n";
        return exit_ok;
    }
    if (command == "config")
        return config_command({arguments.begin() + 1, arguments.end()});
    return usage_error("unknown command '" + command + "'");
}
