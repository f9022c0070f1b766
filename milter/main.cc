// mailwarden-milter: binds the milter socket, drops privileges, and serves libmilter
// callbacks in a thread while main() waits for signals (SIGHUP reload, SIGTERM/SIGINT stop).
// Reads: milter_socket, milter_socket_mode, milter_pid_file, user, allow_root, logging.
// Fails: configuration errors exit 78; socket or privilege errors are logged and exit 1.
#include "config.h"

#include "config/daemon_setup.hh"
#include "milter/callbacks.hh"
#include "util/daemon.hh"
#include "util/log.hh"

#include <cstdlib>
#include <exception>
#include <libmilter/mfapi.h>
#include <memory>
#include <optional>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

namespace {

using namespace mailwarden;

const std::string program = "mailwarden-milter";

// "unix:/path" or "local:/path" → "/path"; otherwise empty.
std::string unix_socket_path(const std::string& spec) {
    for (const std::string prefix : {"unix:", "local:"})
        if (spec.rfind(prefix, 0) == 0)
            return spec.substr(prefix.size());
    return {};
}

void bind_socket(const std::string& spec, const config::Config& config) {
    if (smfi_setconn(const_cast<char*>(spec.c_str())) != MI_SUCCESS)
        throw std::runtime_error("invalid milter socket " + spec);
    if (smfi_opensocket(true) != MI_SUCCESS)
        throw std::runtime_error("cannot listen on " + spec);
    if (const std::string path = unix_socket_path(spec); !path.empty()) {
        const auto mode =
            static_cast<mode_t>(std::stoul(config.string("milter_socket_mode"), nullptr, 8));
        if (::chmod(path.c_str(), mode) != 0)
            throw std::runtime_error("cannot chmod " + path);
    }
}

int serve(const config::DaemonOptions& options) {
    util::block_daemon_signals(); // before any thread exists, so that all inherit the mask
    config::ConfigHolder holder(config::load_config_or_exit(options.config_path));
    const config::ConfigPtr startup = holder.current();
    util::log_configure(config::log_settings(*startup, program, options.foreground));

    const std::string spec = options.socket_override.empty() ? startup->string("milter_socket")
                                                             : options.socket_override;
    smfiDesc description = milter::make_milter_description(holder);
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
    std::thread milter_thread =
        util::spawn_thread_without_signals([&] { milter_status = smfi_main(); });
    util::LogRecord(util::Severity::notice)
        .text("started")
        .kv("socket", spec)
        .kv("version", PACKAGE_VERSION);
    config::run_signal_loop(holder, options, program);
    smfi_stop();
    milter_thread.join();
    util::LogRecord(util::Severity::notice).text("stopped");
    return milter_status == MI_SUCCESS ? EXIT_SUCCESS : EXIT_FAILURE;
}

} // namespace

int main(int argc, char** argv) {
    const auto options = config::parse_daemon_options(argc, argv, program, "milter_socket");
    try {
        return serve(options);
    } catch (const std::exception& error) {
        util::LogRecord(util::Severity::error).text("fatal").kv("error", error.what());
        return EXIT_FAILURE;
    }
}
