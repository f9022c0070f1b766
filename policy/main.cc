// mailwarden-policyd: binds policy_socket, detaches (unless -f), drops privileges, serves
// policy requests on a thread per connection (server.hh) while main() waits for signals (SIGHUP
// reload, SIGTERM/SIGINT stop); with --stdio it answers on stdin/stdout for Postfix spawn(8).
// Reads: policy_socket, policy_socket_mode, policy_socket_owner, policy_pid_file,
// policy_default_action, user, allow_root, logging, and everything the engine reads. Fails:
// configuration errors (what `mailwarden config check` refuses) exit 78; socket, privilege or
// engine start errors are logged and exit 1.
#include "config.h"

#include "config/daemon_setup.hh"
#include "engine/config_check.hh"
#include "engine/engine_holder.hh"
#include "policy/server.hh"
#include "util/daemon.hh"
#include "util/log.hh"

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <unistd.h>

namespace {

using namespace mailwarden;

const std::string program = "mailwarden-policyd";

int serve(const config::DaemonOptions& options) {
    util::block_daemon_signals(); // before any thread exists, so that all inherit the mask
    config::ConfigHolder holder(
        config::load_config_or_exit(options.config_path, engine::check_configuration),
        engine::check_configuration);
    const config::ConfigPtr startup = holder.current();
    util::log_configure(config::log_settings(*startup, program, options.foreground));
    // Never destroyed: decisions may still hold it when serve() returns; see main().
    auto& engines = *new engine::EngineHolder(startup);

    if (options.stdio) { // spawn(8) runs us as the configured user already
        if (util::running_as_root() && !startup->boolean("allow_root"))
            util::drop_privileges(startup->string("user"));
        return policy::serve_stream(STDIN_FILENO, STDOUT_FILENO, engines);
    }

    const std::string spec_text = options.socket_override.empty() ? startup->string("policy_socket")
                                                                  : options.socket_override;
    std::string error;
    const auto spec = util::parse_socket_spec(spec_text, &error);
    if (!spec)
        throw std::runtime_error("invalid policy socket " + spec_text + ": " + error);

    // Bound before detaching (a socket that cannot be bound is the starting command's exit
    // status); no thread starts before fork, neither ours nor the resolver's.
    policy::Server server(*spec, engines, config::unix_socket_setup(*startup, "policy_socket"));
    if (!options.foreground && ::daemon(0, 0) != 0)
        throw std::runtime_error("cannot detach");
    util::PidFile pid_file(startup->string("policy_pid_file"));
    if (util::running_as_root() && !startup->boolean("allow_root"))
        util::drop_privileges(startup->string("user"));

    server.start(); // before main unblocks the signals: its threads keep them blocked
    util::start_signal_handling();
    util::LogRecord(util::Severity::notice)
        .text("started")
        .kv("socket", spec_text)
        .kv("version", PACKAGE_VERSION);
    config::run_signal_loop(holder, options, program, [&engines](const config::ConfigPtr& config) {
        return engines.reload(config);
    });
    server.stop();
    util::LogRecord(util::Severity::notice).text("stopped");
    return EXIT_SUCCESS;
}

} // namespace

int main(int argc, char** argv) {
    const auto options =
        config::parse_daemon_options(argc, argv, program, "policy_socket", /*allow_stdio=*/true);
    int status = EXIT_FAILURE;
    try {
        status = serve(options);
    } catch (const std::exception& error) {
        util::LogRecord(util::Severity::error).text("fatal").kv("error", error.what());
    }
    std::fflush(nullptr);
    std::_Exit(status); // no static destructors while connection threads may still run
}
