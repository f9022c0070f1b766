// See daemon.hh. Signal handling: libmilter runs its own sigwait() thread for SIGHUP,
// SIGTERM and SIGINT and treats SIGHUP as "stop". Linux hands a process-directed signal to
// the thread group leader whenever the leader does not block it, so the main thread keeps
// the three unblocked with a handler that writes the signal number into a self-pipe, and
// every other thread is started with them blocked. sigwait() in main would not do: between
// two waits main blocks them, and a second SIGHUP then reaches libmilter's thread.
#include "util/daemon.hh"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdexcept>
#include <string_view>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace mailwarden::util {

namespace {

std::runtime_error system_error(std::string_view what) {
    return std::runtime_error(std::string(what) + ": " + std::strerror(errno));
}

sigset_t daemon_signal_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
}

} // namespace

void block_daemon_signals() {
    std::signal(SIGPIPE, SIG_IGN);
    sigset_t set = daemon_signal_set();
    if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0)
        throw system_error("pthread_sigmask");
}

namespace {

int signal_pipe[2] = {-1, -1};

extern "C" void forward_signal(int signal_number) {
    const int saved_errno = errno;
    const unsigned char byte = static_cast<unsigned char>(signal_number);
    [[maybe_unused]] const ssize_t written = ::write(signal_pipe[1], &byte, 1);
    errno = saved_errno;
}

} // namespace

void start_signal_handling() {
    if (::pipe2(signal_pipe, O_CLOEXEC) != 0)
        throw system_error("pipe2");
    // A full pipe drops the byte rather than blocking the handler.
    ::fcntl(signal_pipe[1], F_SETFL, ::fcntl(signal_pipe[1], F_GETFL) | O_NONBLOCK);
    struct sigaction action {};
    action.sa_handler = forward_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (int signal_number : {SIGHUP, SIGTERM, SIGINT})
        if (::sigaction(signal_number, &action, nullptr) != 0)
            throw system_error("sigaction");
    sigset_t set = daemon_signal_set();
    if (pthread_sigmask(SIG_UNBLOCK, &set, nullptr) != 0) // pending ones are delivered now
        throw system_error("pthread_sigmask");
}

void post_signal(int signal_number) {
    forward_signal(signal_number);
}

std::thread spawn_thread_without_signals(std::function<void()> fn) {
    sigset_t set = daemon_signal_set();
    sigset_t previous;
    pthread_sigmask(SIG_BLOCK, &set, &previous);
    std::thread thread(std::move(fn));
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return thread;
}

int wait_for_signal() {
    for (;;) {
        unsigned char byte = 0;
        const ssize_t got = ::read(signal_pipe[0], &byte, 1);
        if (got == 1)
            return byte;
        if (got < 0 && errno == EINTR)
            continue;
        throw system_error("reading the signal pipe");
    }
}

PidFile::PidFile(std::string path) : path_(std::move(path)) {
    if (path_.empty())
        return;
    std::string tmp = path_ + ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        throw system_error("cannot write pid file " + tmp);
    std::string text = std::to_string(::getpid()) + "\n";
    bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ok = (::close(fd) == 0) && ok;
    if (!ok || ::rename(tmp.c_str(), path_.c_str()) != 0) {
        int saved = errno;
        ::unlink(tmp.c_str());
        errno = saved;
        throw system_error("cannot write pid file " + path_);
    }
}

PidFile::~PidFile() {
    if (!path_.empty())
        ::unlink(path_.c_str()); // may fail after the privilege drop; the next start replaces it
}

bool running_as_root() {
    return ::getuid() == 0 || ::geteuid() == 0;
}

void drop_privileges(const std::string& user) {
    if (!running_as_root())
        return;
    errno = 0;
    const passwd* entry = ::getpwnam(user.c_str());
    if (entry == nullptr)
        throw std::runtime_error("cannot drop privileges: no such user '" + user + "'");
    if (entry->pw_uid == 0)
        throw std::runtime_error("cannot drop privileges: user '" + user + "' is root");
    const uid_t uid = entry->pw_uid;
    const gid_t gid = entry->pw_gid;

    int group_count = 0;
    ::getgrouplist(user.c_str(), gid, nullptr, &group_count);
    std::vector<gid_t> groups(static_cast<std::size_t>(group_count > 0 ? group_count : 1), gid);
    if (::getgrouplist(user.c_str(), gid, groups.data(), &group_count) < 0)
        group_count = 1;
    if (::setgroups(static_cast<std::size_t>(group_count), groups.data()) != 0)
        throw system_error("setgroups");
    if (::setresgid(gid, gid, gid) != 0)
        throw system_error("setresgid");
    if (::setresuid(uid, uid, uid) != 0)
        throw system_error("setresuid");

    // Verify: none of the ids is root any more, and root cannot be taken back.
    uid_t ruid = 0, euid = 0, suid = 0;
    gid_t rgid = 0, egid = 0, sgid = 0;
    if (::getresuid(&ruid, &euid, &suid) != 0 || ::getresgid(&rgid, &egid, &sgid) != 0)
        throw system_error("getresuid");
    if (ruid != uid || euid != uid || suid != uid || rgid != gid || egid != gid || sgid != gid)
        throw std::runtime_error("privilege drop incomplete: ids do not match user '" + user + "'");
    if (::setuid(0) == 0 || ::seteuid(0) == 0)
        throw std::runtime_error("privilege drop failed: root could be regained");
}

uid_t serving_uid(const std::string& user, bool allow_root) {
    if (!running_as_root() || allow_root)
        return ::geteuid();
    const passwd* entry = ::getpwnam(user.c_str());
    if (entry == nullptr)
        throw std::runtime_error("no such user '" + user + "'");
    return entry->pw_uid;
}

void set_owner(const std::string& path, const std::string& owner, const std::string& default_user) {
    if (!running_as_root())
        return;
    const std::size_t colon = owner.find(':');
    std::string user = owner.substr(0, colon);
    const std::string group = colon == std::string::npos ? "" : owner.substr(colon + 1);
    if (owner.empty())
        user = default_user;
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    if (!user.empty()) {
        const passwd* entry = ::getpwnam(user.c_str());
        if (entry == nullptr)
            throw std::runtime_error("cannot give " + path + " to user '" + user +
                                     "': no such user");
        uid = entry->pw_uid;
        if (colon == std::string::npos)
            gid = entry->pw_gid;
    }
    if (!group.empty()) {
        const struct group* entry = ::getgrnam(group.c_str());
        if (entry == nullptr)
            throw std::runtime_error("cannot give " + path + " to group '" + group +
                                     "': no such group");
        gid = entry->gr_gid;
    }
    if (::chown(path.c_str(), uid, gid) != 0)
        throw system_error("chown " + path);
}

} // namespace mailwarden::util
