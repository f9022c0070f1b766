// See client.hh. The listener's sockets are blocking and wait inside read() and write() with
// SO_RCVTIMEO/SO_SNDTIMEO (the timeout of the moment); spawn's stdin/stdout wait in poll().
// Either way no client holds a thread past its timeouts.
#include "policy/client.hh"
#include "engine/timing.hh"

#include "util/log.hh"

#include <array>
#include <cerrno>
#include <fcntl.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

namespace mailwarden::policy {

namespace {

using Clock = std::chrono::steady_clock;

// The configured answer to a request that breaks the protocol.
std::string default_action(const engine::EngineHolder& engines) {
    return engines.current()->config().string("policy_default_action");
}

void log_protocol_error(const std::string& error) {
    util::LogRecord(util::Severity::warning)
        .text("policy request refused, closing the connection")
        .kv("error", error);
}

std::string first_word(std::string_view text) {
    return std::string(text.substr(0, text.find(' ')));
}

// Waits until fd is ready for `events` or the deadline passes; false on timeout or error.
bool wait_ready(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0)
            return false;
        pollfd ready{.fd = fd, .events = events, .revents = 0};
        const int result =
            ::poll(&ready, 1, static_cast<int>(std::min<long>(left.count(), 60'000)));
        if (result > 0)
            return true; // readable, writable, or hung up: the read or write says which
        if (result < 0 && errno != EINTR)
            return false;
    }
}

timeval to_timeval(std::chrono::milliseconds time) {
    return {.tv_sec = static_cast<time_t>(time.count() / 1000),
            .tv_usec = static_cast<suseconds_t>(time.count() % 1000 * 1000)};
}

// How a client's descriptors wait. A (blocking) socket waits inside read() and write()
// (SO_RCVTIMEO, SO_SNDTIMEO): one system call per read. Anything else (spawn's pipes, a
// non-blocking socket) waits in poll() first.
class ClientIo {
public:
    ClientIo(int in_fd, int out_fd, const ClientLimits& limits)
        : in_fd_(in_fd), out_fd_(out_fd), send_timeout_(limits.request_timeout) {
        const timeval send = to_timeval(send_timeout_);
        const int flags = ::fcntl(in_fd, F_GETFL);
        socket_timeouts_ = in_fd == out_fd && flags >= 0 && (flags & O_NONBLOCK) == 0 &&
                           ::setsockopt(in_fd, SOL_SOCKET, SO_SNDTIMEO, &send, sizeof send) == 0;
    }

    // What read() gives, waiting at most `timeout`; -1 with errno EAGAIN when it passed.
    ssize_t read(char* buffer, std::size_t size, std::chrono::milliseconds timeout) {
        timeout = std::max(timeout, std::chrono::milliseconds(1));
        if (!socket_timeouts_) {
            if (!wait_ready(in_fd_, POLLIN, Clock::now() + timeout)) {
                errno = EAGAIN;
                return -1;
            }
        } else if (timeout != receive_timeout_) { // changes only when a request is split
            const timeval receive = to_timeval(timeout);
            if (::setsockopt(in_fd_, SOL_SOCKET, SO_RCVTIMEO, &receive, sizeof receive) != 0)
                return -1;
            receive_timeout_ = timeout;
        }
        for (;;) {
            const ssize_t length = ::read(in_fd_, buffer, size);
            if (length >= 0 || errno != EINTR)
                return length;
        }
    }

    bool write(std::string_view text) {
        const Clock::time_point deadline = Clock::now() + send_timeout_;
        while (!text.empty()) {
            const ssize_t written = ::write(out_fd_, text.data(), text.size());
            if (written > 0) {
                text.remove_prefix(static_cast<std::size_t>(written));
                continue;
            }
            if (written < 0 && errno == EINTR)
                continue;
            const bool would_block = written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
            // On a socket EAGAIN means SO_SNDTIMEO passed; anything else may wait in poll().
            if (!would_block || socket_timeouts_ || !wait_ready(out_fd_, POLLOUT, deadline))
                return false;
        }
        return true;
    }

private:
    int in_fd_;
    int out_fd_;
    std::chrono::milliseconds send_timeout_;
    std::chrono::milliseconds receive_timeout_{-1};
    bool socket_timeouts_ = false;
};

// The time a connection may wait for its client now: the idle timeout between requests, what
// is left of the request timeout once a request has begun.
class ClientClock {
public:
    explicit ClientClock(const ClientLimits& limits) : limits_(limits) {}
    std::chrono::milliseconds timeout() const {
        return in_request_
                   ? std::chrono::ceil<std::chrono::milliseconds>(request_deadline_ - Clock::now())
                   : limits_.idle_timeout;
    }
    bool in_request() const { return in_request_; }
    void update(bool in_request) {
        if (in_request && !in_request_)
            request_deadline_ = Clock::now() + limits_.request_timeout;
        in_request_ = in_request;
    }

private:
    const ClientLimits& limits_;
    bool in_request_ = false;
    Clock::time_point request_deadline_;
};

} // namespace

ClientLimits ClientLimits::from_config(const config::Config& config) {
    return {.max_connections = static_cast<std::size_t>(config.integer("policy_max_connections")),
            .idle_timeout = config.duration("policy_idle_timeout"),
            .request_timeout = config.duration("policy_request_timeout")};
}

void log_answer(const PolicyRequest& request, const PolicyAnswer& answer) {
    if (!util::log_enabled(util::Severity::info))
        return;
    const std::string queue_id = request.get("queue_id");
    util::LogRecord record(util::Severity::info);
    record.text((queue_id.empty() ? std::string("NOQUEUE") : queue_id) + ":")
        .kv("state", request.get("protocol_state"))
        .kv("client", request.get("client_name") + "[" + request.get("client_address") + "]")
        .kv("from", "<" + request.get("sender") + ">")
        .kv("to", "<" + request.get("recipient") + ">");
    if (!answer.spf.empty())
        record.kv("spf", answer.spf);
    if (!answer.rate.empty())
        record.kv("rate", answer.rate);
    record.kv("action", first_word(answer.action)).kv("reason", answer.verdict.reason);
    record.kv("ms", engine::timing_field(answer.ms, answer.timing));
}

ClientEnd serve_client(int in_fd, int out_fd, const engine::EngineHolder& engines,
                       const ClientLimits& limits) {
    RequestParser parser;
    PolicySession session(engines);
    ClientClock clock(limits);
    ClientIo io(in_fd, out_fd, limits);
    std::array<char, 8192> buffer{};
    for (;;) {
        const ssize_t length = io.read(buffer.data(), buffer.size(), clock.timeout());
        if (length < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return clock.in_request() ? ClientEnd::unfinished : ClientEnd::idle;
        if (length == 0)
            return ClientEnd::left; // a client gone mid-request leaves nothing behind
        if (length < 0)
            return ClientEnd::io_error;
        std::string_view data(buffer.data(), static_cast<std::size_t>(length));
        while (!data.empty()) {
            PolicyRequest request;
            std::string error;
            const auto status = parser.feed(data, &request, &error);
            if (status == RequestParser::Status::error) {
                log_protocol_error(error);
                (void)io.write(format_reply(default_action(engines)));
                return ClientEnd::protocol_error;
            }
            if (status != RequestParser::Status::complete)
                break;
            const PolicyAnswer answer = session.answer(request);
            log_answer(request, answer);
            if (!io.write(format_reply(answer.action)))
                return ClientEnd::unfinished;
        }
        clock.update(parser.in_request());
    }
}

int serve_stream(int in_fd, int out_fd, const engine::EngineHolder& engines) {
    switch (serve_client(in_fd, out_fd, engines,
                         ClientLimits::from_config(engines.current()->config()))) {
    case ClientEnd::left:
    case ClientEnd::idle:
        return 0;
    case ClientEnd::unfinished:
    case ClientEnd::protocol_error:
    case ClientEnd::io_error:
        break;
    }
    return 1;
}

} // namespace mailwarden::policy
