// Listening socket specifications as Postfix and libmilter write them:
// inet:PORT@ADDR, inet6:PORT@ADDR, unix:/path (local:/path is a synonym).
// Parsing never throws: a bad specification yields std::nullopt and an error text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailwarden::util {

struct SocketSpec {
    enum class Kind { inet, inet6, unix_path };
    Kind kind = Kind::inet;
    std::string address; // inet/inet6: numeric address
    std::uint16_t port = 0;
    std::string path; // unix_path
};

std::optional<SocketSpec> parse_socket_spec(std::string_view text, std::string* error = nullptr);

// A server to talk to, written ADDR or ADDR@PORT (unbound's forward-addr spelling), ADDR an
// IPv4 or IPv6 literal. port is 0 when not given.
struct ServerAddress {
    std::string address;
    std::uint16_t port = 0;
};

std::optional<ServerAddress> parse_server_address(std::string_view text,
                                                  std::string* error = nullptr);

// A server to connect to, written as Redis clients write it: HOST:PORT, HOST alone (the
// default port), [IPV6]:PORT, an IPv6 literal alone, or /path/of/a/unix.sock. HOST is an IP
// literal or a host name (letters, digits, '-', '.').
struct Endpoint {
    std::string host; // empty for a unix socket
    std::uint16_t port = 0;
    std::string path;         // unix socket
    std::string text() const; // "host:port", "[v6]:port" or the path, for logs
};

std::optional<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port,
                                       std::string* error = nullptr);

} // namespace mailwarden::util
