// See client.hh. A client's socket may be non-blocking (the listener's) or blocking (spawn's
// stdin/stdout): either way reads wait in poll() with the deadline of the moment, and writes
// that would block wait there too, so no client holds a thread past its timeouts.
#include "policy/client.hh"

#include "util/log.hh"

#include <array>
#include <cerrno>
#include <poll.h>
#include <string>
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

bool write_all(int fd, std::string_view text, std::chrono::milliseconds timeout) {
    const Clock::time_point deadline = Clock::now() + timeout;
    while (!text.empty()) {
        const ssize_t written = ::write(fd, text.data(), text.size());
        if (written > 0) {
            text.remove_prefix(static_cast<std::size_t>(written));
        } else if (written < 0 && errno == EINTR) {
            continue;
        } else if (written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (!wait_ready(fd, POLLOUT, deadline))
                return false;
        } else {
            return false;
        }
    }
    return true;
}

// The time a connection may wait for its client now: the idle timeout between requests, what
// is left of the request timeout once a request has begun.
class ClientClock {
public:
    explicit ClientClock(const ClientLimits& limits) : limits_(limits) {}
    Clock::time_point deadline() const {
        return in_request_ ? request_deadline_ : Clock::now() + limits_.idle_timeout;
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
}

ClientEnd serve_client(int in_fd, int out_fd, const engine::EngineHolder& engines,
                       const ClientLimits& limits) {
    RequestParser parser;
    PolicySession session(engines);
    ClientClock clock(limits);
    std::array<char, 8192> buffer{};
    for (;;) {
        if (!wait_ready(in_fd, POLLIN, clock.deadline()))
            return clock.in_request() ? ClientEnd::unfinished : ClientEnd::idle;
        const ssize_t length = ::read(in_fd, buffer.data(), buffer.size());
        if (length < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
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
                (void)write_all(out_fd, format_reply(default_action(engines)),
                                limits.request_timeout);
                return ClientEnd::protocol_error;
            }
            if (status != RequestParser::Status::complete)
                break;
            const PolicyAnswer answer = session.answer(request);
            log_answer(request, answer);
            if (!write_all(out_fd, format_reply(answer.action), limits.request_timeout))
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
