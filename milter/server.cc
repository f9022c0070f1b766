// See server.hh. One acceptor thread; worker threads each serve one connection at a time and
// then wait for the next (never more than milter_max_connections of them, all joined at stop).
#include "milter/server.hh"

#include "milter/dispatch.hh"
#include "milter/frame.hh"
#include "util/daemon.hh"
#include "util/log.hh"
#include "util/rate_limited_log.hh"

#include <arpa/inet.h>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>
#include <unordered_set>
#include <vector>

namespace mailwarden::milter {

namespace {

util::RateLimitedLog limit_warnings{std::chrono::seconds(60)};

std::string error_text(int error_number) {
    return std::strerror(error_number);
}

// A listening socket for spec; throws when it cannot bind.
int listen_on(const util::SocketSpec& spec) {
    sockaddr_storage address{};
    socklen_t length = 0;
    int family = AF_UNIX;
    if (spec.kind == util::SocketSpec::Kind::unix_path) {
        auto& local = reinterpret_cast<sockaddr_un&>(address);
        if (spec.path.size() >= sizeof local.sun_path)
            throw std::runtime_error("unix socket path too long: " + spec.path);
        local.sun_family = AF_UNIX;
        std::memcpy(local.sun_path, spec.path.c_str(), spec.path.size() + 1);
        length = sizeof local;
        ::unlink(spec.path.c_str()); // a stale socket from an earlier run
    } else if (spec.kind == util::SocketSpec::Kind::inet) {
        auto& inet = reinterpret_cast<sockaddr_in&>(address);
        family = inet.sin_family = AF_INET;
        inet.sin_port = htons(spec.port);
        if (inet_pton(AF_INET, spec.address.c_str(), &inet.sin_addr) != 1)
            throw std::runtime_error("not an IPv4 address: " + spec.address);
        length = sizeof inet;
    } else {
        auto& inet6 = reinterpret_cast<sockaddr_in6&>(address);
        family = inet6.sin6_family = AF_INET6;
        inet6.sin6_port = htons(spec.port);
        if (inet_pton(AF_INET6, spec.address.c_str(), &inet6.sin6_addr) != 1)
            throw std::runtime_error("not an IPv6 address: " + spec.address);
        length = sizeof inet6;
    }
    const int fd = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        throw std::runtime_error("socket: " + error_text(errno));
    const int one = 1;
    if (family != AF_UNIX)
        (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0 ||
        ::listen(fd, SOMAXCONN) != 0) {
        const int error = errno;
        ::close(fd);
        throw std::runtime_error("cannot listen: " + error_text(error));
    }
    return fd;
}

// Writes all of `bytes`; false when the MTA is gone or did not read for milter_timeout.
bool write_all(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t written = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0) {
            util::LogRecord(util::Severity::warning)
                .text("cannot write to the MTA, closing the connection")
                .kv("error", errno == EAGAIN || errno == EWOULDBLOCK ? std::string("timed out")
                                                                     : error_text(errno));
            return false;
        }
        bytes.remove_prefix(static_cast<std::size_t>(written));
    }
    return true;
}

void set_timeouts(int fd, std::chrono::milliseconds timeout) {
    timeval value{};
    value.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    value.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
    (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &value, sizeof value);
    (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &value, sizeof value);
}

// One MTA connection, to its end. Everything the dispatcher answers to the frames at hand is
// written in one piece before the next read.
void serve_connection(int fd, bool tcp, const engine::EngineHolder& engines) {
    set_timeouts(fd, engines.current()->config().duration("milter_timeout"));
    if (tcp) {
        const int one = 1;
        (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    Dispatcher dispatcher(engines);
    FrameReader reader;
    for (;;) {
        Frame frame;
        std::string error;
        FrameReader::Status status;
        while ((status = reader.next(frame, &error)) == FrameReader::Status::frame)
            if (!dispatcher.handle(frame)) {
                (void)write_all(fd, dispatcher.output());
                return;
            }
        if (status == FrameReader::Status::error) {
            util::LogRecord(util::Severity::warning)
                .text("milter protocol error, closing the connection")
                .kv("error", error);
            return;
        }
        if (!write_all(fd, dispatcher.output()))
            return;
        dispatcher.output().clear();
        const std::span<char> space = reader.input_space();
        const ssize_t received = ::recv(fd, space.data(), space.size(), 0);
        if (received > 0) {
            reader.commit(static_cast<std::size_t>(received));
        } else if (received < 0 && errno == EINTR) {
            continue;
        } else if (received < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            util::LogRecord(util::Severity::warning)
                .text("milter connection silent for milter_timeout, closing it")
                .kv("in_packet", reader.pending() > 0 ? "yes" : "no");
            return;
        } else { // closed by the MTA, or reset
            if (reader.pending() > 0)
                util::LogRecord(util::Severity::notice)
                    .text("milter connection closed in the middle of a packet");
            return;
        }
    }
}

} // namespace

struct Server::Impl {
    Impl(const engine::EngineHolder& engine_holder) : engines(engine_holder) {}

    void accept_loop();
    bool wait_for_slot();
    void hand_over(int fd);
    void worker();

    const engine::EngineHolder& engines;
    int listener = -1;
    int wake_pipe[2] = {-1, -1}; // stop() writes; the acceptor polls it
    bool tcp = false;
    std::string unix_path;
    std::thread acceptor;

    std::mutex mutex; // guards everything below
    std::condition_variable work_ready, slot_free;
    std::deque<int> waiting;        // accepted, not yet taken by a worker
    std::unordered_set<int> served; // taken by a worker; shut down by stop()
    std::vector<std::thread> workers;
    std::size_t idle = 0, connections = 0; // connections = waiting + served
    bool stopping = false, stopped = false;
};

// Blocks while milter_max_connections are open; false when stopping.
bool Server::Impl::wait_for_slot() {
    std::unique_lock lock(mutex);
    const auto limit = [&] {
        return static_cast<std::size_t>(
            engines.current()->config().integer("milter_max_connections"));
    };
    while (!stopping && connections >= limit()) {
        limit_warnings.warn("milter_max_connections",
                            "milter_max_connections reached: new MTA connections wait open=" +
                                std::to_string(connections));
        slot_free.wait_for(lock, std::chrono::seconds(1)); // the limit may be reloaded
    }
    return !stopping;
}

void Server::Impl::accept_loop() {
    while (wait_for_slot()) {
        pollfd watched[2] = {{listener, POLLIN, 0}, {wake_pipe[0], POLLIN, 0}};
        if (::poll(watched, 2, -1) < 0 || watched[1].revents != 0)
            continue; // EINTR, or stop(): wait_for_slot() sees it
        const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) {
            hand_over(fd);
            continue;
        }
        if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
            continue;
        // Out of descriptors or memory: try again shortly instead of spinning.
        limit_warnings.warn("milter-accept", "cannot accept MTA connections: " +
                                                 util::escape_log_value(error_text(errno)));
        pollfd wake = {wake_pipe[0], POLLIN, 0};
        (void)::poll(&wake, 1, 100);
    }
}

void Server::Impl::hand_over(int fd) {
    std::lock_guard lock(mutex);
    if (stopping) {
        ::close(fd);
        return;
    }
    ++connections;
    waiting.push_back(fd);
    if (idle >= waiting.size())
        work_ready.notify_one();
    else
        workers.push_back(util::spawn_thread_without_signals([this] { worker(); }));
}

void Server::Impl::worker() {
    std::unique_lock lock(mutex);
    for (;;) {
        ++idle;
        work_ready.wait(lock, [&] { return stopping || !waiting.empty(); });
        --idle;
        if (stopping)
            return;
        const int fd = waiting.front();
        waiting.pop_front();
        served.insert(fd);
        lock.unlock();
        try {
            serve_connection(fd, tcp, engines);
        } catch (const std::exception& error) { // allocation failure, at worst
            util::LogRecord(util::Severity::error)
                .text("internal error, closing the MTA connection")
                .kv("error", error.what());
        }
        lock.lock();
        served.erase(fd);
        ::close(fd); // under the lock: stop() never shuts down a number reused meanwhile
        --connections;
        slot_free.notify_one();
    }
}

Server::Server(const util::SocketSpec& spec, const engine::EngineHolder& engines)
    : impl_(std::make_unique<Impl>(engines)) {
    impl_->listener = listen_on(spec);
    impl_->tcp = spec.kind != util::SocketSpec::Kind::unix_path;
    if (!impl_->tcp)
        impl_->unix_path = spec.path;
    if (::pipe2(impl_->wake_pipe, O_CLOEXEC) != 0) {
        ::close(impl_->listener);
        throw std::runtime_error("pipe: " + error_text(errno));
    }
}

Server::~Server() {
    stop();
    for (const int fd : {impl_->listener, impl_->wake_pipe[0], impl_->wake_pipe[1]})
        if (fd >= 0)
            ::close(fd);
}

void Server::start() {
    impl_->acceptor = util::spawn_thread_without_signals([this] { impl_->accept_loop(); });
}

void Server::stop() {
    {
        std::lock_guard lock(impl_->mutex);
        if (impl_->stopped)
            return;
        impl_->stopping = impl_->stopped = true;
        for (const int fd : impl_->served)
            ::shutdown(fd, SHUT_RDWR); // wakes the worker blocked on it
        for (const int fd : impl_->waiting)
            ::close(fd);
        impl_->connections -= impl_->waiting.size();
        impl_->waiting.clear();
    }
    impl_->work_ready.notify_all();
    impl_->slot_free.notify_all();
    (void)!::write(impl_->wake_pipe[1], "x", 1);
    if (impl_->acceptor.joinable())
        impl_->acceptor.join();
    for (auto& worker : impl_->workers) // no new ones: the acceptor has ended
        worker.join();
    if (!impl_->unix_path.empty())
        ::unlink(impl_->unix_path.c_str());
}

} // namespace mailwarden::milter
