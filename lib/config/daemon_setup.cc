// See daemon_setup.hh.
#include "config.h"

#include "config/daemon_setup.hh"
#include "util/socket_spec.hh"

#include "util/daemon.hh"

#include <boost/program_options.hpp>
#include <cstdlib>
#include <iostream>
#include <sysexits.h>

namespace mailwarden::config {

namespace po = boost::program_options;

DaemonOptions parse_daemon_options(int argc, char** argv, std::string_view program,
                                   std::string_view socket_parameter, bool allow_stdio) {
    DaemonOptions options;
    po::options_description described(std::string("Usage: ") + std::string(program) +
                                      " [-f] [-c FILE] [-p SOCKET]\nOptions");
    const std::string socket_help = "listen on SOCKET (inet:PORT@ADDR, inet6:PORT@ADDR, "
                                    "unix:/path), overriding " +
                                    std::string(socket_parameter);
    described.add_options()("help,h", "print this help and exit")("version,V",
                                                                  "print the version and exit")(
        "config,c", po::value(&options.config_path)->default_value(default_config_path()),
        "configuration file")("foreground,f", po::bool_switch(&options.foreground),
                              "stay in the foreground and also log to stderr")(
        "socket,p", po::value(&options.socket_override), socket_help.c_str());
    if (allow_stdio)
        described.add_options()("stdio", po::bool_switch(&options.stdio),
                                "answer requests on stdin/stdout (Postfix spawn(8)) instead of "
                                "listening");
    po::variables_map values;
    try {
        po::store(po::command_line_parser(argc, argv).options(described).run(), values);
        po::notify(values);
    } catch (const po::error& error) {
        std::cerr << program << ": " << error.what() << "\n" << described;
        std::exit(EX_USAGE);
    }
    if (values.count("help") != 0U) {
        std::cout << described;
        std::exit(EXIT_SUCCESS);
    }
    if (std::string error; !options.socket_override.empty() &&
                           !util::parse_socket_spec(options.socket_override, &error)) {
        std::cerr << program << ": -p " << options.socket_override << ": " << error << "\n";
        std::exit(EX_USAGE);
    }
    if (values.count("version") != 0U) {
        std::cout << program << " " << PACKAGE_VERSION << "\n";
        std::exit(EXIT_SUCCESS);
    }
    return options;
}

ConfigPtr load_config_or_exit(const std::string& path, const ConfigCheck& validator) {
    LoadResult result = check_config_file(path, validator);
    if (!result.ok()) {
        for (const ConfigError& error : result.errors)
            std::cerr << error.to_string() << "\n";
        std::exit(EX_CONFIG);
    }
    return result.config;
}

util::LogSettings log_settings(const Config& config, std::string ident, bool foreground) {
    util::LogSettings settings;
    settings.ident = std::move(ident);
    settings.also_stderr = foreground;
    // Both were validated when the snapshot was built.
    if (auto facility = util::syslog_facility_from_name(config.string("syslog_facility")))
        settings.facility = *facility;
    if (auto level = util::severity_from_name(config.string("log_level")))
        settings.threshold = *level;
    return settings;
}

util::PrepareUnixSocket unix_socket_setup(const Config& config, std::string_view socket_parameter) {
    const std::string name(socket_parameter);
    return util::mode_and_owner(config.string(name + "_mode"), config.string(name + "_owner"),
                                config.boolean("allow_root") ? "" : config.string("user"));
}

void run_signal_loop(ConfigHolder& holder, const DaemonOptions& options, const std::string& ident,
                     const ConfigHolder::Apply& on_reload) {
    for (;;) {
        const int signal_number = util::wait_for_signal();
        if (signal_number != SIGHUP) {
            util::LogRecord(util::Severity::notice)
                .text("stopping")
                .kv("signal", signal_number == SIGTERM ? "TERM" : "INT");
            return;
        }
        if (holder.reload(options.config_path, on_reload))
            util::log_configure(log_settings(*holder.current(), ident, options.foreground));
    }
}

} // namespace mailwarden::config
