// Test helpers for tests that run programs: the build and source directories (exported by
// tests/local.mk), and a child process started from argv with its stdout+stderr captured to
// a file, stopped by PID (SIGTERM, then SIGKILL after a grace period) when the object goes
// away, and never outliving a crashed testrunner.
#pragma once

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace mailwarden::test {

inline std::filesystem::path build_directory() {
    const char* dir = std::getenv("MW_BUILDDIR");
    return dir != nullptr && *dir != 0 ? dir : ".";
}

inline std::filesystem::path source_directory() {
    if (const char* dir = std::getenv("MW_SRCDIR"); dir != nullptr && *dir != 0)
        return dir;
    return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
}

class ChildProcess {
public:
    ChildProcess(std::vector<std::string> argv, std::string output_path)
        : output_path_(std::move(output_path)) {
        std::vector<char*> args;
        for (auto& arg : argv)
            args.push_back(arg.data());
        args.push_back(nullptr);
        pid_ = ::fork();
        if (pid_ < 0)
            throw std::runtime_error("fork failed");
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGTERM);
            sigset_t none;
            sigemptyset(&none);
            ::sigprocmask(SIG_SETMASK, &none, nullptr);
            const int fd = ::open(output_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) {
                ::dup2(fd, 1);
                ::dup2(fd, 2);
            }
            ::execv(args[0], args.data());
            ::_exit(127);
        }
    }
    ~ChildProcess() { stop(); }
    ChildProcess(const ChildProcess&) = delete;
    ChildProcess& operator=(const ChildProcess&) = delete;

    pid_t pid() const { return pid_; }
    void signal(int signal_number) const {
        if (pid_ > 0)
            ::kill(pid_, signal_number);
    }

    // The exit status once the child ended within timeout, else nullopt (still running).
    std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (pid_ > 0) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                break;
            }
            if (std::chrono::steady_clock::now() > deadline)
                return std::nullopt;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        return exit_status_;
    }

    bool running() { return !wait_exit(std::chrono::milliseconds(0)).has_value(); }

    void stop() {
        if (pid_ <= 0)
            return;
        signal(SIGTERM);
        if (!wait_exit(std::chrono::seconds(10))) {
            signal(SIGKILL);
            wait_exit(std::chrono::seconds(5));
        }
    }

    std::string output() const {
        std::ifstream in(output_path_);
        std::stringstream text;
        text << in.rdbuf();
        return text.str();
    }

private:
    std::string output_path_;
    pid_t pid_ = -1;
    std::optional<int> exit_status_;
};

// Polls predicate every 10 ms until it holds or timeout passes.
template <typename Predicate>
bool eventually(Predicate&& predicate, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!predicate()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

} // namespace mailwarden::test
