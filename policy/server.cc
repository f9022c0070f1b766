// See server.hh. One acceptor thread waits in poll() on the listening socket and an eventfd
// (woken by stop() and by every connection that ends); each accepted connection gets a thread
// that runs serve_client() to the end. The acceptor stops polling the listening socket while
// the connection cap is reached or descriptors ran out, so neither can turn into a busy loop.
#include "policy/server.hh"

#include "policy/client.hh"
#include "util/listen.hh"
#include "util/lock_guarded.hh"
#include "util/log.hh"
#include "util/rate_limited_log.hh"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <set>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <system_error>
#include <thread>
#include <unistd.h>

namespace mailwarden::policy {

namespace {

using Clock = std::chrono::steady_clock;

class FileDescriptor {
public:
    explicit FileDescriptor(int fd = -1) : fd_(fd) {}
    FileDescriptor(const FileDescriptor&) = delete;
    FileDescriptor& operator=(const FileDescriptor&) = delete;
    ~FileDescriptor() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

// accept() errors that mean "no resources now": wait, do not spin.
bool out_of_resources(int error) {
    return error == EMFILE || error == ENFILE || error == ENOBUFS || error == ENOMEM;
}

// Raises the soft descriptor limit to what max_connections needs (systemd's default soft
// limit is 1024, its hard one far above), or says how many clients fit.
void make_room_for(std::size_t max_connections) {
    constexpr rlim_t reserve = 256; // DNS queries, the state store, the log, the listener
    const rlim_t wanted = static_cast<rlim_t>(max_connections) + reserve;
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= wanted)
        return;
    limit.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < wanted)
        util::LogRecord(util::Severity::warning)
            .text("the descriptor limit leaves room for fewer policy clients than "
                  "policy_max_connections; the others wait (raise LimitNOFILE)")
            .kv("limit", static_cast<unsigned long long>(limit.rlim_cur))
            .kv("policy_max_connections", max_connections);
}

} // namespace

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
    Impl(const util::SocketSpec& spec, const engine::EngineHolder& holder,
         const util::PrepareUnixSocket& prepare)
        : engines(holder), listener(util::listen_on(spec, SOCK_NONBLOCK, prepare)),
          wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)),
          tcp(spec.kind != util::SocketSpec::Kind::unix_path), unix_path(tcp ? "" : spec.path) {
        if (wake.get() < 0)
            throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
    }

    void accept_loop();
    bool accept_one();
    void serve(int fd);
    void notify() const {
        const std::uint64_t one = 1;
        [[maybe_unused]] const auto ignored = ::write(wake.get(), &one, sizeof one);
    }
    // Waits until notify(), the listening socket (when given) is readable, or the timeout.
    void wait_for_wake(int listen_fd, int timeout_ms) const {
        pollfd fds[2] = {{wake.get(), POLLIN, 0}, {listen_fd, POLLIN, 0}};
        if (::poll(fds, listen_fd >= 0 ? 2 : 1, timeout_ms) > 0 && (fds[0].revents & POLLIN)) {
            std::uint64_t count = 0;
            [[maybe_unused]] const auto ignored = ::read(wake.get(), &count, sizeof count);
        }
    }

    const engine::EngineHolder& engines;
    FileDescriptor listener;
    FileDescriptor wake;
    const bool tcp;
    const std::string unix_path;
    std::atomic<bool> stopping{false};
    std::atomic<std::size_t> open{0};                // connections with a thread
    util::LockGuarded<std::set<int>> client_sockets; // to shut them down at stop()
    std::thread acceptor;
    bool backing_off = false; // acceptor thread only
    util::RateLimitedLog warnings{std::chrono::seconds(60)};
};

void Server::Impl::accept_loop() {
    while (!stopping) {
        const ClientLimits limits = ClientLimits::from_config(engines.current()->config());
        if (open >= limits.max_connections) {
            // New clients wait in the listen queue; each ending connection wakes us.
            warnings.warn("cap", "policy_max_connections reached, new clients wait for one "
                                 "to leave max=" +
                                     std::to_string(limits.max_connections));
            wait_for_wake(-1, 1000);
            continue;
        }
        wait_for_wake(listener.get(), -1);
        while (!stopping && open < limits.max_connections && accept_one()) {
        }
        if (backing_off)
            wait_for_wake(-1, 1000); // until a connection ends or a second passed
    }
}

// Accepts one waiting client and starts its thread; false when none waits or none can be taken.
bool Server::Impl::accept_one() {
    // Blocking: the connection's thread waits in read() itself (client.cc).
    const int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
        const int error = errno;
        if (out_of_resources(error)) {
            if (!backing_off)
                warnings.warn("resources", std::string("cannot accept policy clients: ") +
                                               std::strerror(error) +
                                               "; waiting for connections to end (raise "
                                               "LimitNOFILE or lower policy_max_connections)");
            backing_off = true;
        }
        return false; // EAGAIN, ECONNABORTED, EINTR: back to poll
    }
    backing_off = false;
    if (tcp) {
        const int one = 1; // answers are one small write each: never wait for an ACK
        ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    client_sockets.lock()->insert(fd);
    ++open;
    try {
        std::thread([self = shared_from_this(), fd] { self->serve(fd); }).detach();
    } catch (const std::system_error& error) {
        client_sockets.lock()->erase(fd);
        ::close(fd);
        --open;
        warnings.warn("thread",
                      std::string("cannot start a thread for a policy client: ") + error.what());
        backing_off = true;
        return false;
    }
    return true;
}

void Server::Impl::serve(int fd) {
    const ClientEnd end =
        serve_client(fd, fd, engines, ClientLimits::from_config(engines.current()->config()));
    if (end == ClientEnd::unfinished)
        util::LogRecord(util::Severity::warning)
            .text("policy client too slow, closing the connection")
            .kv("limit", "policy_request_timeout");
    client_sockets.lock()->erase(fd);
    ::close(fd);
    --open;
    notify(); // the acceptor may be waiting for a free place
}

Server::Server(const util::SocketSpec& spec, const engine::EngineHolder& engines,
               const util::PrepareUnixSocket& prepare)
    : impl_(std::make_shared<Impl>(spec, engines, prepare)) {}

Server::~Server() {
    stop();
    if (!impl_->unix_path.empty())
        ::unlink(impl_->unix_path.c_str());
}

void Server::start() {
    if (impl_->acceptor.joinable())
        return;
    make_room_for(ClientLimits::from_config(impl_->engines.current()->config()).max_connections);
    impl_->acceptor = std::thread([impl = impl_.get()] { impl->accept_loop(); });
}

void Server::stop(std::chrono::milliseconds grace) {
    if (impl_->stopping.exchange(true))
        return;
    impl_->notify();
    if (impl_->acceptor.joinable())
        impl_->acceptor.join();
    // Idle connections see end of input at once; one being decided writes its answer first.
    {
        const auto sockets = impl_->client_sockets.lock(); // named: held for the whole loop
        for (const int fd : *sockets)
            ::shutdown(fd, SHUT_RD);
    }
    const auto deadline = Clock::now() + grace;
    while (impl_->open > 0 && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

} // namespace mailwarden::policy
