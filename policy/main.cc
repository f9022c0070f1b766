// mailwarden-policyd: binds policy_socket, drops privileges, serves policy requests on two
// Asio threads while main() waits for signals (SIGHUP reload, SIGTERM/SIGINT stop).
// Reads: policy_socket, policy_pid_file, user, allow_root, logging.
// Fails: configuration errors exit 78; socket or privilege errors are logged and exit 1.
#include "config.h"

#include "config/daemon_setup.hh"
#include "policy/server.hh"
#include "util/daemon.hh"
#include "util/log.hh"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
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
    config::ConfigHolder holder(config::load_config_or_exit(options.config_path));
    const config::ConfigPtr startup = holder.current();
    util::log_configure(config::log_settings(*startup, program, options.foreground));

    const std::string spec_text = options.socket_override.empty() ? startup->string("policy_socket")
                                                                  : options.socket_override;
    std::string error;
    const auto spec = util::parse_socket_spec(spec_text, &error);
    if (!spec)
        throw std::runtime_error("invalid policy socket " + spec_text + ": " + error);

    boost::asio::io_context io;
    policy::Server server(io, *spec, holder);
    if (!options.foreground && ::daemon(0, 0) != 0)
        throw std::runtime_error("cannot detach");
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
    config::run_signal_loop(holder, options, program);
    io.stop();
    for (auto& worker : workers)
        worker.join();
    util::LogRecord(util::Severity::notice).text("stopped");
    return EXIT_SUCCESS;
}

} // namespace

int main(int argc, char** argv) {
    const auto options = config::parse_daemon_options(argc, argv, program, "policy_socket");
    try {
        return serve(options);
    } catch (const std::exception& error) {
        util::LogRecord(util::Severity::error).text("fatal").kv("error", error.what());
        return EXIT_FAILURE;
    }
}
