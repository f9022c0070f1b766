// Daemon plumbing shared by mailwarden-milter and mailwarden-policyd: signal handling
// through one waiting thread, the pid file, and the privilege drop after binding.
// Knows nothing of mail. Failures are reported as std::runtime_error with a message that
// names what failed and why (errno text); the daemons log it and exit.
#pragma once

#include <csignal>
#include <functional>
#include <string>
#include <sys/types.h>
#include <thread>

namespace mailwarden::util {

// Blocks SIGHUP, SIGTERM, SIGINT (and ignores SIGPIPE) in the calling thread. Call it first
// in main(): signals that arrive during start-up stay pending until start_signal_handling().
void block_daemon_signals();

// Called once by the main thread when start-up is done: installs handlers that forward the
// three signals to wait_for_signal() and unblocks them in this thread only. Because the main
// thread then never blocks them, Linux delivers every kill(pid) to it, never to libmilter's
// own sigwait() thread, which would treat SIGHUP as "stop".
void start_signal_handling();

// Hands signal_number to wait_for_signal() as if it had arrived (after start_signal_handling).
// For a server thread that ends on its own, e.g. when libmilter's own signal thread took a
// SIGTERM meant for main: the main thread then stops instead of waiting forever.
void post_signal(int signal_number);

// Starts fn in a thread that has the three signals blocked (so that only main sees them).
std::thread spawn_thread_without_signals(std::function<void()> fn);

// Waits in the main thread for SIGHUP, SIGTERM or SIGINT and returns it.
int wait_for_signal();

// Writes the pid of this process to path on construction (creating it 0644, replacing a
// stale file), removes it on destruction. An empty path means no pid file.
class PidFile {
public:
    explicit PidFile(std::string path);
    ~PidFile();
    PidFile(const PidFile&) = delete;
    PidFile& operator=(const PidFile&) = delete;
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

// Drops root to user's uid/gid in the fixed order setgroups -> setresgid -> setresuid,
// then verifies that root cannot be regained. Throws when any step fails.
// Does nothing when not running as root.
void drop_privileges(const std::string& user);

// Started as root, gives a file made before the privilege drop (a unix socket, the state file)
// to owner: "USER", "USER:GROUP" or ":GROUP"; empty means default_user and its primary group.
// Does nothing when not running as root. Throws when a name is unknown or chown fails.
void set_owner(const std::string& path, const std::string& owner, const std::string& default_user);

// True when the real or effective uid is 0.
bool running_as_root();

// The uid a daemon started now serves as, after drop_privileges: user's when running as root
// and root is not allowed to stay, else the current effective uid. Files the daemon reads
// again on reload (DKIM keys) must be this uid's. Throws std::runtime_error when user does
// not exist.
uid_t serving_uid(const std::string& user, bool allow_root);

} // namespace mailwarden::util
