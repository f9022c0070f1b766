// mailwarden: the admin tool. `check` runs the engine on one message (check_command.cc);
// `config check [FILE]` validates a configuration file and lists every error; `config dump
// [--non-default] [-c FILE]` prints the effective configuration; `dns lookup NAME [TYPE]` asks the
// resolver the daemons use, with their settings; `ratelimit`, `reputation` and `greylist` show
// and change the state store (state_commands.cc); `dmarc report` prints or sends DMARC reports
// (dmarc_command.cc). Reads the configuration file given (default
// SYSCONFDIR/mailwarden/mailwarden.conf). Exit status: 0 ok, 1 configuration errors, 2 DNS lookup
// failed (SERVFAIL, timeout), 64 usage (check and the state commands have their own).
#include "config.h"

#include "config/config.hh"
#include "dns/resolver.hh"
#include "engine/config_check.hh"
#include "engine/resolver_options.hh"
#include "engine/signing.hh"
#include "tools/cli.hh"

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

namespace {

using namespace mailwarden::tools;
using mailwarden::config::LoadResult;

constexpr int exit_config_error = 1;
constexpr int exit_dns_failure = 2;

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
    // What the daemons check when they start or reload, no less.
    const LoadResult result =
        mailwarden::config::check_config_file(path, mailwarden::engine::check_configuration);
    if (!result.ok()) {
        print_errors(result);
        return exit_config_error;
    }
    // What the daemons refuse at start beyond the syntax: unusable or unsafe signing keys.
    if (std::vector<std::string> errors;
        !mailwarden::engine::load_signing(*result.config, &errors)) {
        for (const auto& error : errors)
            std::cerr << path << ": " << error << "\n";
        return exit_config_error;
    }
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
    if (!result.ok()) {
        print_errors(result);
        return exit_config_error;
    }
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

std::optional<mailwarden::dns::RrType> rr_type_from_name(std::string name) {
    using mailwarden::dns::RrType;
    for (char& c : name)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (RrType type : {RrType::a, RrType::aaaa, RrType::mx, RrType::txt, RrType::ptr, RrType::ns,
                        RrType::cname, RrType::soa, RrType::spf})
        if (mailwarden::dns::rr_type_name(type) == name)
            return type;
    return std::nullopt;
}

int dns_lookup(const std::vector<std::string>& arguments) {
    po::options_description options;
    options.add_options()("name", po::value<std::string>()->required(), "name to look up")(
        "type", po::value<std::string>()->default_value("A"),
        "record type")("config,c", po::value<std::string>(), "configuration file")(
        "dns", po::value<std::string>(), "ask this server (ADDR or ADDR@PORT) instead");
    po::positional_options_description positional;
    positional.add("name", 1).add("type", 1);
    po::variables_map values;
    if (!parse_arguments(arguments, options, positional, values))
        return exit_usage;
    const auto type = rr_type_from_name(values["type"].as<std::string>());
    if (!type)
        return usage_error("unknown record type '" + values["type"].as<std::string>() + "'");
    const auto config = load_or_defaults(config_path(values));
    if (!config)
        return exit_config_error;
    const auto resolver = make_resolver(**config, values);
    if (!resolver)
        return exit_config_error;
    const auto started = std::chrono::steady_clock::now();
    const auto answer = resolver->query(values["name"].as<std::string>(), *type);
    const std::chrono::duration<double, std::milli> elapsed =
        std::chrono::steady_clock::now() - started;
    std::printf("status=%s ttl=%lld ms=%.1f%s\n",
                std::string(mailwarden::dns::status_name(answer.status)).c_str(),
                static_cast<long long>(answer.ttl.count()), elapsed.count(),
                answer.error_text.empty() ? "" : (" error=" + answer.error_text).c_str());
    for (const auto& record : answer.records) {
        if (*type == mailwarden::dns::RrType::mx)
            std::printf("%u %s\n", record.preference, record.text.c_str());
        else
            std::printf("%s\n", record.text.c_str());
    }
    using mailwarden::dns::Status;
    const bool answered = answer.status == Status::ok || answer.status == Status::nxdomain ||
                          answer.status == Status::nodata;
    return answered ? exit_ok : exit_dns_failure;
}

int dns_command(const std::vector<std::string>& arguments) {
    if (arguments.empty() || arguments[0] != "lookup")
        return usage_error("dns: expected 'dns lookup NAME [TYPE]'");
    return dns_lookup({arguments.begin() + 1, arguments.end()});
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
    if (asks_for_help({arguments.begin() + 1, arguments.end()}))
        return command_help(command);
    if (command == "config")
        return config_command({arguments.begin() + 1, arguments.end()});
    if (command == "check")
        return check_command({arguments.begin() + 1, arguments.end()});
    if (command == "dns")
        return dns_command({arguments.begin() + 1, arguments.end()});
    if (command == "dkim")
        return dkim_command({arguments.begin() + 1, arguments.end()});
    if (command == "ratelimit")
        return ratelimit_command({arguments.begin() + 1, arguments.end()});
    if (command == "reputation")
        return reputation_command({arguments.begin() + 1, arguments.end()});
    if (command == "greylist")
        return greylist_command({arguments.begin() + 1, arguments.end()});
    if (command == "dmarc")
        return dmarc_command({arguments.begin() + 1, arguments.end()});
    return usage_error("unknown command '" + command + "'");
}
