// mailwarden-milter: binds the milter socket, drops privileges, and serves libmilter
// callbacks in a thread while main() waits for signals (SIGHUP reload, SIGTERM/SIGINT stop).
// On stop it lets the messages in progress end (up to drain_limit) before it exits.
// Reads: milter_socket, milter_socket_mode, milter_socket_owner, milter_pid_file, user,
// allow_root, logging, and everything the engine reads.
// Fails: configuration errors (what `mailwarden config check` refuses) exit 78; socket, privilege
// or engine start errors are logged and exit 1.
#include "config.h"

#include "config/daemon_setup.hh"
#include "engine/config_check.hh"
#include "engine/engine_holder.hh"
#include "milter/callbacks.hh"
#include "milter/session.hh"
#include "util/daemon.hh"
#include "util/log.hh"
#include "util/socket_spec.hh"

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <libmilter/mfapi.h>
#include <memory>
#include <optional>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

// libmilter's signal thread sigwait()s for SIGHUP, SIGTERM and SIGINT and takes SIGHUP for
// "stop". The main thread keeps the three unblocked (util/daemon.cc) so that Linux hands them
// to it, but a SIGHUP that finds main momentarily not wanting it (another signal pending and
// main not on a CPU) goes to libmilter's thread instead, and a reload request stops the milter.
// This sigwait(), which the dynamic linker binds libmilter's call to (the executable comes
// first), waits for the same set without SIGHUP: SIGHUP is only ever ours. Nothing else in the
// program calls sigwait().
extern "C" int sigwait(const sigset_t* set, int* signal_number) {
    sigset_t without_hup = *set;
    sigdelset(&without_hup, SIGHUP);
    for (;;) {
        const int got = ::sigwaitinfo(&without_hup, nullptr);
        if (got > 0) {
            *signal_number = got;
            return 0;
        }
        if (errno != EINTR)
            return errno;
    }
}

namespace {

using namespace mailwarden;

const std::string program = "mailwarden-milter";

// How long a stop waits for messages in progress. Postfix's own milter timeouts for one
// message are longer (milter_content_timeout 300s), but a stop must not hang a reboot.
constexpr std::chrono::seconds drain_limit{30};

// The spelling libmilter wants: an IPv6 address in brackets (inet6:PORT@[ADDR]; without
// them it cannot listen), the others as written.
std::string libmilter_socket(const util::SocketSpec& spec) {
    switch (spec.kind) {
    case util::SocketSpec::Kind::inet:
        return "inet:" + std::to_string(spec.port) + "@" + spec.address;
    case util::SocketSpec::Kind::inet6:
        return "inet6:" + std::to_string(spec.port) + "@[" + spec.address + "]";
    case util::SocketSpec::Kind::unix_path:
        return "unix:" + spec.path;
    }
    return "";
}

void bind_socket(const std::string& text, const config::Config& config) {
    std::string error;
    const auto spec = util::parse_socket_spec(text, &error);
    if (!spec)
        throw std::runtime_error("invalid milter socket " + text + ": " + error);
    std::string libmilter_spec = libmilter_socket(*spec);
    if (smfi_setconn(libmilter_spec.data()) != MI_SUCCESS)
        throw std::runtime_error("invalid milter socket " + text);
    if (smfi_opensocket(true) != MI_SUCCESS)
        throw std::runtime_error("cannot listen on " + text);
    if (spec->kind == util::SocketSpec::Kind::unix_path) {
        const auto mode =
            static_cast<mode_t>(std::stoul(config.string("milter_socket_mode"), nullptr, 8));
        if (::chmod(spec->path.c_str(), mode) != 0)
            throw std::runtime_error("cannot chmod " + spec->path);
        util::set_owner(spec->path, config.string("milter_socket_owner"),
                        config.boolean("allow_root") ? "" : config.string("user"));
    }
}

// Waits until no message is in progress, or drain_limit. New messages meanwhile get 451 4.3.2.
// libmilter keeps serving open connections only until smfi_stop (its worker pool stops
// polling them), so this runs before it.
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
    else // the last answers were decided; give libmilter the moment to write them
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
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
    // Never destroyed: libmilter's worker threads are detached and may still be inside a
    // callback when serve() returns; the process ends with _Exit right after.
    auto& engines = *new engine::EngineHolder(startup);
    const auto parsed = util::parse_socket_spec(spec);
    smfiDesc description = milter::make_milter_description(
        engines, parsed && parsed->kind != util::SocketSpec::Kind::unix_path);
    if (smfi_register(description) != MI_SUCCESS)
        throw std::runtime_error("smfi_register failed");
    bind_socket(spec, *startup);
    if (!options.foreground && ::daemon(0, 0) != 0)
        throw std::runtime_error("cannot detach");
    util::PidFile pid_file(startup->string("milter_pid_file"));
    if (util::running_as_root() && !startup->boolean("allow_root"))
        util::drop_privileges(startup->string("user"));

    int milter_status = MI_SUCCESS;
    util::start_signal_handling();
    std::thread milter_thread = util::spawn_thread_without_signals([&] {
        milter_status = smfi_main();
        util::post_signal(SIGTERM); // libmilter stopped by itself: main must not wait on
    });
    util::LogRecord(util::Severity::notice)
        .text("started")
        .kv("socket", spec)
        .kv("version", PACKAGE_VERSION);
    config::run_signal_loop(holder, options, program, [&engines](const config::ConfigPtr& config) {
        engines.reload(config);
    });
    drain_transactions();
    smfi_stop();
    milter_thread.join();
    util::LogRecord(util::Severity::notice).text("stopped");
    return milter_status == MI_SUCCESS ? EXIT_SUCCESS : EXIT_FAILURE;
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
    // No static destructors: detached libmilter threads may still run (see serve()).
    std::fflush(nullptr);
    std::_Exit(status);
}
