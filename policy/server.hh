// The policy delegation listener: accepts Postfix smtpd connections on policy_socket (inet or
// unix) and serves each on a thread of its own, which reads requests with RequestParser,
// decides them with the connection's PolicySession and writes each answer: no hand-over
// between threads on the way, so a request costs its client's wake-up and nothing more, and a
// slow lookup delays only its own connection. Requests on one connection are answered in
// order, pipelined ones included. A protocol error (line or attribute bound, a line that is not
// name=value) is answered, after the requests before it, with policy_default_action and closes
// that connection; the server keeps running. One log line per request.
// Bounds, read from the live configuration: policy_max_connections (beyond it new clients wait
// in the listen queue until one leaves), policy_idle_timeout (no request in progress),
// policy_request_timeout (a request begun and not ended, or an answer the client does not
// take). When accept() fails for want of descriptors (EMFILE, ENFILE, ENOBUFS, ENOMEM) or a
// thread cannot be started, accepting pauses until a connection ends or a second passes, with
// one warning, not a busy loop.
#pragma once

#include "engine/engine_holder.hh"
#include "policy/decision.hh"
#include "util/listen.hh"
#include "util/socket_spec.hh"

#include <chrono>
#include <memory>

namespace mailwarden::policy {

// The client bounds of a configuration snapshot.
struct ClientLimits {
    std::size_t max_connections = 1000;
    std::chrono::milliseconds idle_timeout{600'000};
    std::chrono::milliseconds request_timeout{30'000};
    static ClientLimits from_config(const config::Config& config);
};

class Server {
public:
    // Binds and listens; throws std::runtime_error naming the socket when it cannot. Serves
    // nothing before start(), and starts no thread, so the process may still fork (detach).
    // A unix socket gets `prepare` (mode, owner) before clients can find it.
    Server(const util::SocketSpec& spec, const engine::EngineHolder& engines,
           const util::PrepareUnixSocket& prepare = {});
    ~Server(); // stop(), then removes a unix socket's file
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    void start();
    // Stops accepting and ends the connections: idle ones at once, one with a request in
    // progress once it is answered. Returns when all ended, or after `grace`.
    void stop(std::chrono::milliseconds grace = std::chrono::seconds(25));

private:
    struct Impl;
    std::shared_ptr<Impl> impl_; // shared with the connection threads
};

// Postfix spawn(8) mode: requests read from in_fd, answers written to out_fd, until end of
// input, a protocol error or a timeout. Returns 0 at end of input or after the idle timeout, 1
// after a protocol error, a failed write or an unfinished request.
int serve_stream(int in_fd, int out_fd, const engine::EngineHolder& engines);

// One log line for a request and its answer.
void log_answer(const PolicyRequest& request, const PolicyAnswer& answer);

} // namespace mailwarden::policy
