// mailwarden-milter: binds the milter socket, drops privileges, and serves the milter protocol
// (milter/server.hh) while main() waits for signals (SIGHUP reload, SIGTERM/SIGINT stop). On
// stop it lets the messages in progress end (up to drain_limit) before it exits.
// Reads: milter_socket, milter_socket_mode, milter_socket_owner, milter_pid_file,
// milter_timeout, milter_max_connections, user, allow_root, logging, and everything the engine
// reads.
// Fails: configuration errors exit 78; socket, privilege or engine start errors are logged and
// exit 1.
#include "config.h"

#include "config/daemon_setup.hh"
#include "engine/config_check.hh"
#include "engine/engine_holder.hh"
#include "milter/server.hh"
#include "milter/session.hh"
#include "util/daemon.hh"
#include "util/log.hh"
#include "util/socket_spec.hh"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace {

using namespace mailwarden;

const std::string program = "mailwarden-milter";

// How long a stop waits for messages in progress. Postfix's own milter timeouts for one
// message are longer (milter_content_timeout 300s), but a stop must not hang a reboot.
constexpr std::chrono::seconds drain_limit{30};

// Binds the socket (before privileges are dropped); a unix socket gets its mode and owner.
std::unique_ptr<milter::Server> bind_socket(const std::string& text, const config::Config& config,
                                            const engine::EngineHolder& engines) {
    std::string error;
    const auto spec = util::parse_socket_spec(text, &error);
    if (!spec)
        throw std::runtime_error("invalid milter socket " + text + ": " + error);
    // The mode and owner are set before the socket appears under its name (see Server).
    return std::make_unique<milter::Server>(*spec, engines,
                                            config::unix_socket_setup(config, "milter_socket"));
}

// Waits until no message is in progress, or drain_limit. New messages meanwhile get 451 4.3.2.
// Open connections are served until the server stops, so this runs before it.
void drain_transactions() {
    milter::stopping = true;
    const auto deadline = std::chrono::steady_clock::now() + drain_limit;
    long open = milter::transactions_in_progress.load();
    if (open > 0)
        util::LogRecord(util::Severity::notice)
            .text("waiting for messages in progress")
            .kv("open", open);
    while ((open = milter::transactions_in_progress.load()) > 0 &&
           std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (open > 0)
        util::LogRecord(util::Severity::warning)
            .text("stopping with messages in progress (the MTA applies milter_default_action)")
            .kv("open", open);
}

int serve(const config::DaemonOptions& options) {
    util::block_daemon_signals(); // before any thread exists, so that all inherit the mask
    config::ConfigHolder holder(
        config::load_config_or_exit(options.config_path, engine::check_configuration),
        engine::check_configuration);
    const config::ConfigPtr startup = holder.current();
    util::log_configure(config::log_settings(*startup, program, options.foreground));

    const std::string spec = options.socket_override.empty() ? startup->string("milter_socket")
                                                             : options.socket_override;
    // Never destroyed: the process ends with _Exit right after serve() returns.
    auto& engines = *new engine::EngineHolder(startup);
    const std::unique_ptr<milter::Server> server = bind_socket(spec, *startup, engines);
    if (!options.foreground && ::daemon(0, 0) != 0)
        throw std::runtime_error("cannot detach");
    util::PidFile pid_file(startup->string("milter_pid_file"));
    if (util::running_as_root() && !startup->boolean("allow_root"))
        util::drop_privileges(startup->string("user"));

    util::start_signal_handling();
    server->start(); // after daemon(): threads do not survive a fork
    util::LogRecord(util::Severity::notice)
        .text("started")
        .kv("socket", spec)
        .kv("version", PACKAGE_VERSION);
    config::run_signal_loop(holder, options, program, [&engines](const config::ConfigPtr& config) {
        return engines.reload(config);
    });
    drain_transactions();
    server->stop();
    util::LogRecord(util::Severity::notice).text("stopped");
    return EXIT_SUCCESS;
}

} // namespace

int main(int argc, char** argv) {
    const auto options = config::parse_daemon_options(argc, argv, program, "milter_socket");
    int status = EXIT_FAILURE;
    try {
        status = serve(options);
    } catch (const std::exception& error) {
        util::LogRecord(util::Severity::error).text("fatal").kv("error", error.what());
    }
    // No static destructors: the engine holder is never destroyed (see serve()).
    std::fflush(nullptr);
    std::_Exit(status);
}
