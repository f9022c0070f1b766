// See server.hh. Each worker thread accepts a connection itself, serves it, and goes back to
// accept(): a connection costs no hand-over between threads. A worker that accepts while no
// other waits in accept() starts one more, up to milter_max_connections; all are joined at
// stop, which shuts the listening socket down to wake the ones in accept().
#include "milter/server.hh"

#include "milter/dispatch.hh"
#include "milter/frame.hh"
#include "util/daemon.hh"
#include "util/listen.hh"
#include "util/log.hh"
#include "util/rate_limited_log.hh"

#include <cerrno>
#include <cstring>
#include <mutex>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdexcept>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace mailwarden::milter {

namespace {

util::RateLimitedLog limit_warnings{std::chrono::seconds(60)};

std::string error_text(int error_number) {
    return std::strerror(error_number);
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

// Over TCP, Postfix sends some packets that get no answer (the DATA step's macros, alone when
// it hands the message over to cleanup), and with Nagle's algorithm on its side its next packet
// (the message's header) waits until those are acknowledged. Linux delays that ACK, up to
// 40 ms, while a connection looks interactive, even after the data was read: every message
// stalled that long (92 ms per message in one session before). Leaving that mode before each
// read makes reading the data acknowledge it. The kernel returns to the mode as we answer, so
// this is done before every read.
void acknowledge_when_read(int fd) {
    const int one = 1;
    (void)::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
}

// One MTA connection, to its end. Everything the dispatcher answers to the frames at hand is
// written in one piece before the next read.
void serve_connection(int fd, bool tcp, Dispatcher& dispatcher, FrameReader& reader) {
    set_timeouts(fd, dispatcher.engines().current()->config().duration("milter_timeout"));
    if (tcp) {
        const int one = 1;
        (void)::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    reader.reset();
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
        if (tcp)
            acknowledge_when_read(fd);
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

    void worker();
    // After an accept: true when this worker may serve (counted), false when stopping.
    bool admit(int fd);
    void release(int fd);

    const engine::EngineHolder& engines;
    int listener = -1;
    bool tcp = false;
    std::string unix_path;

    std::mutex mutex; // guards everything below
    std::vector<std::thread> workers;
    std::vector<int> served;   // shut down by stop(); no allocation once grown
    std::size_t accepting = 0; // workers in (or on their way to) accept()
    bool stopping = false, stopped = false;
};

bool Server::Impl::admit(int fd) {
    std::lock_guard lock(mutex);
    --accepting;
    if (stopping) {
        ::close(fd);
        return false;
    }
    served.push_back(fd);
    if (accepting == 0) { // nobody left to accept the next connection
        const auto limit =
            static_cast<std::size_t>(engines.current()->config().integer("milter_max_connections"));
        if (served.size() < limit) {
            ++accepting;
            workers.push_back(util::spawn_thread_without_signals([this] { worker(); }));
        } else {
            limit_warnings.warn("milter_max_connections",
                                "milter_max_connections reached: new MTA connections wait open=" +
                                    std::to_string(served.size()));
        }
    }
    return true;
}

void Server::Impl::release(int fd) {
    std::lock_guard lock(mutex);
    std::erase(served, fd);
    ::close(fd); // under the lock: stop() never shuts down a number reused meanwhile
}

void Server::Impl::worker() {
    // Kept from connection to connection, with the memory they allocated.
    FrameReader reader;
    Dispatcher dispatcher(engines);
    for (;;) {
        const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
        const int error = errno;
        if (fd < 0) {
            {
                std::lock_guard lock(mutex);
                if (stopping) {
                    --accepting;
                    return;
                }
            }
            if (error != EINTR && error != EAGAIN && error != ECONNABORTED) {
                // Out of descriptors or memory: try again shortly instead of spinning.
                limit_warnings.warn("milter-accept", "cannot accept MTA connections: " +
                                                         util::escape_log_value(error_text(error)));
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
            continue;
        }
        if (!admit(fd))
            return;
        try {
            serve_connection(fd, tcp, dispatcher, reader);
        } catch (const std::exception& failure) { // allocation failure, at worst
            util::LogRecord(util::Severity::error)
                .text("internal error, closing the MTA connection")
                .kv("error", failure.what());
        }
        dispatcher.end_connection();
        release(fd);
        std::lock_guard lock(mutex);
        if (stopping)
            return;
        ++accepting;
    }
}

Server::Server(const util::SocketSpec& spec, const engine::EngineHolder& engines,
               const std::function<void(const std::string& path)>& prepare_unix_socket)
    : impl_(std::make_unique<Impl>(engines)) {
    impl_->listener = util::listen_on(spec, 0, prepare_unix_socket);
    impl_->tcp = spec.kind != util::SocketSpec::Kind::unix_path;
    if (impl_->tcp)
        return;
    impl_->unix_path = spec.path;
}

Server::~Server() {
    stop();
    ::close(impl_->listener);
}

void Server::start() {
    std::lock_guard lock(impl_->mutex);
    ++impl_->accepting;
    impl_->workers.push_back(util::spawn_thread_without_signals([this] { impl_->worker(); }));
}

void Server::stop() {
    {
        std::lock_guard lock(impl_->mutex);
        if (impl_->stopped)
            return;
        impl_->stopping = impl_->stopped = true;
        // Wakes every worker in accept() (it fails with EINVAL) and every one blocked on its
        // connection.
        ::shutdown(impl_->listener, SHUT_RDWR);
        for (const int fd : impl_->served)
            ::shutdown(fd, SHUT_RDWR);
    }
    // No worker starts another once stopping is set, so the list no longer grows.
    for (auto& worker : impl_->workers)
        worker.join();
    if (!impl_->unix_path.empty())
        ::unlink(impl_->unix_path.c_str());
}

} // namespace mailwarden::milter
