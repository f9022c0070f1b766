// The policy delegation listener: accepts Postfix smtpd connections on policy_socket (inet or
// unix) with Boost.Asio, reads requests with RequestParser and answers each with the
// connection's PolicySession. Decisions (which wait for DNS and the state store) run on a pool
// of decision_threads threads, never on the threads that read and write sockets, so a slow
// lookup delays only its own connection. Requests on one connection are answered in order,
// pipelined ones included. A protocol error (line or attribute bound, a line that is not
// name=value) is answered with policy_default_action and closes that connection; the server
// keeps running. One log line per request.
#pragma once

#include "engine/engine_holder.hh"
#include "policy/decision.hh"
#include "util/socket_spec.hh"

#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

namespace mailwarden::policy {

inline constexpr int decision_threads = 32;

class Server {
public:
    Server(boost::asio::io_context& io, const util::SocketSpec& spec,
           const engine::EngineHolder& engines);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Lets decisions in progress finish (call after the io_context stopped).
    void join();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Postfix spawn(8) mode: requests read from in_fd, answers written to out_fd, until end of
// input or a protocol error. Returns 0 at end of input, 1 after a protocol error or a failed
// write.
int serve_stream(int in_fd, int out_fd, const engine::EngineHolder& engines);

// One log line for a request and its answer.
void log_answer(const PolicyRequest& request, const PolicyAnswer& answer);

} // namespace mailwarden::policy
