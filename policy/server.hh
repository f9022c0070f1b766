// The policy delegation listener: accepts Postfix smtpd connections on policy_socket and
// answers each request. Foundation behaviour: every request is answered "action=DUNNO"
// and logged; the decisions arrive with the engine (issue 6). Requests beyond the limits
// below end that connection, never the server.
#pragma once

#include "config/config.hh"
#include "util/socket_spec.hh"

#include <boost/asio/io_context.hpp>
#include <memory>

namespace mailwarden::policy {

constexpr std::size_t max_request_bytes = 64 * 1024; // Postfix requests are ~1 KB

class Server {
public:
    Server(boost::asio::io_context& io, const util::SocketSpec& spec,
           const config::ConfigHolder& holder);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace mailwarden::policy
