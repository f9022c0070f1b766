// mailwarden-policyd: detaches (unless -f), binds policy_socket, drops privileges, serves
// policy requests on two
// Asio threads (decisions on the server's pool) while main() waits for signals (SIGHUP
// reload, SIGTERM/SIGINT stop); with --stdio it answers on stdin/stdout for Postfix spawn(8).
// Reads: policy_socket, policy_pid_file, policy_default_action, user, allow_root, logging,
// and everything the engine reads.
// Fails: configuration errors (what `mailwarden config check` refuses) exit 78; socket, privilege
// or engine start errors are logged and exit 1.
#include "config.h"

#include "config/daemon_setup.hh"
#include "engine/config_check.hh"
#include "engine/engine_holder.hh"
#include "policy/server.hh"
#include "util/daemon.hh"
#include "util/log.hh"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace mailwarden;

const std::string program = "mailwarden-policyd";
constexpr int worker_threads = 2;

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

    // Detach before the server exists: it starts its decision threads, which fork would leave
    // behind in the parent (the detached server then never answered and crashed on SIGTERM).
    if (!options.foreground && ::daemon(0, 0) != 0)
        throw std::runtime_error("cannot detach");
    boost::asio::io_context io;
    policy::Server server(io, *spec, engines);
    util::PidFile pid_file(startup->string("policy_pid_file"));
    if (util::running_as_root() && !startup->boolean("allow_root"))
        util::drop_privileges(startup->string("user"));

    auto work = boost::asio::make_work_guard(io);
    std::vector<std::thread> workers;
    util::start_signal_handling();
    for (int i = 0; i < worker_threads; ++i)
        workers.push_back(util::spawn_thread_without_signals([&io] { io.run(); }));
    util::LogRecord(util::Severity::notice)
        .text("started")
        .kv("socket", spec_text)
        .kv("version", PACKAGE_VERSION);
    config::run_signal_loop(holder, options, program, [&engines](const config::ConfigPtr& config) {
        engines.reload(config);
    });
    io.stop();
    for (auto& worker : workers)
        worker.join();
    server.join();
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
    std::_Exit(status); // no static destructors while pool threads may still run
}
