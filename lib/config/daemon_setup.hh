// What both daemons do the same way before and around serving: command-line options,
// loading the configuration (errors to stderr, exit EX_CONFIG), logging settings from the
// configuration, and the signal loop (SIGHUP reloads, SIGTERM/SIGINT stop).
#pragma once

#include "config/config.hh"
#include "util/listen.hh"
#include "util/log.hh"

#include <functional>
#include <string>
#include <string_view>

namespace mailwarden::config {

struct DaemonOptions {
    std::string config_path;     // -c
    bool foreground = false;     // -f: do not detach, also log to stderr
    std::string socket_override; // -p: replaces milter_socket / policy_socket
    bool stdio = false;          // --stdio (mailwarden-policyd under Postfix spawn(8))
};

// Parses -c FILE, -f, -p SOCKET, -h, -V (and --stdio when allow_stdio). Prints help or
// version and exits 0 for -h/-V; prints the error and exits 64 (EX_USAGE) on a bad command
// line.
DaemonOptions parse_daemon_options(int argc, char** argv, std::string_view program,
                                   std::string_view socket_parameter, bool allow_stdio = false);

// Checks path as `mailwarden config check` does (check_config_file with validator); on any
// error prints every error to stderr (the journal, under systemd) and exits 78 (EX_CONFIG).
ConfigPtr load_config_or_exit(const std::string& path, const ConfigCheck& validator);

util::LogSettings log_settings(const Config& config, std::string ident, bool foreground);

// The preparation of the daemon's unix socket (util::mode_and_owner) from its parameters:
// socket_parameter ("milter_socket", "policy_socket") + "_mode" and + "_owner", an empty owner
// meaning user unless allow_root.
util::PrepareUnixSocket unix_socket_setup(const Config& config, std::string_view socket_parameter);

// Runs in main() after block_daemon_signals() and after the server threads started.
// SIGHUP: reload the file into holder, with on_reload building what the daemon runs on (its
// Engine) before "config reloaded" is logged (an invalid file, or one on_reload refuses, keeps
// the old snapshot), then apply the new logging settings. Returns on SIGTERM or SIGINT.
void run_signal_loop(ConfigHolder& holder, const DaemonOptions& options, const std::string& ident,
                     const ConfigHolder::Apply& on_reload = {});

} // namespace mailwarden::config
