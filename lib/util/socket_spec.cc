// See socket_spec.hh.
#include "util/socket_spec.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <charconv>
#include <netinet/in.h>
#include <sys/un.h>

namespace mailwarden::util {

namespace {

constexpr std::string_view usage =
    "expected inet:PORT@ADDR, inet6:PORT@ADDR, unix:/PATH or local:/PATH";

std::nullopt_t fail(std::string* error, std::string_view text) {
    if (error != nullptr)
        *error = std::string(text);
    return std::nullopt;
}

// 1..65535, digits only.
std::optional<std::uint16_t> parse_port(std::string_view text) {
    unsigned port = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
    if (ec != std::errc() || end != text.data() + text.size() || port == 0 || port > 65535)
        return std::nullopt;
    return static_cast<std::uint16_t>(port);
}

bool is_ip_literal(int family, const std::string& address) {
    unsigned char probe[sizeof(in6_addr)];
    return inet_pton(family, address.c_str(), probe) == 1;
}

} // namespace

std::optional<ServerAddress> parse_server_address(std::string_view text, std::string* error) {
    const auto at = text.find('@');
    ServerAddress server{std::string(text.substr(0, at)), 0};
    if (!is_ip_literal(AF_INET, server.address) && !is_ip_literal(AF_INET6, server.address))
        return fail(error, "not an IP address: '" + server.address + "'");
    if (at != std::string_view::npos) {
        const auto port = parse_port(text.substr(at + 1));
        if (!port)
            return fail(error,
                        "port '" + std::string(text.substr(at + 1)) + "' out of range 1..65535");
        server.port = *port;
    }
    return server;
}

std::string Endpoint::text() const {
    if (!path.empty())
        return path;
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

std::optional<Endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port,
                                       std::string* error) {
    Endpoint endpoint;
    if (text.starts_with('/')) {
        if (text.size() > sizeof(sockaddr_un{}.sun_path) - 1)
            return fail(error, "unix socket path too long");
        endpoint.path = std::string(text);
        return endpoint;
    }
    std::string_view host = text;
    std::string_view port_text;
    if (text.starts_with('[')) {
        const auto close = text.find(']');
        if (close == std::string_view::npos || (close + 1 < text.size() && text[close + 1] != ':'))
            return fail(error, "expected [IPV6]:PORT: '" + std::string(text) + "'");
        host = text.substr(1, close - 1);
        if (close + 1 < text.size())
            port_text = text.substr(close + 2);
        if (!is_ip_literal(AF_INET6, std::string(host)))
            return fail(error, "not an IPv6 address: '" + std::string(host) + "'");
    } else if (std::count(text.begin(), text.end(), ':') == 1) {
        host = text.substr(0, text.find(':'));
        port_text = text.substr(text.find(':') + 1);
    } else if (text.find(':') != std::string_view::npos &&
               !is_ip_literal(AF_INET6, std::string(text))) {
        return fail(error, "not HOST:PORT, [IPV6]:PORT or /PATH: '" + std::string(text) + "'");
    }
    const bool host_ok = !host.empty() && host.size() <= 253 &&
                         (host.find(':') != std::string_view::npos ||
                          std::all_of(host.begin(), host.end(), [](char c) {
                              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                     (c >= '0' && c <= '9') || c == '-' || c == '.';
                          }));
    if (!host_ok)
        return fail(error, "not a host name or address: '" + std::string(host) + "'");
    endpoint.host = std::string(host);
    endpoint.port = default_port;
    if (!port_text.empty() || text.ends_with(':')) {
        const auto port = parse_port(port_text);
        if (!port)
            return fail(error, "port '" + std::string(port_text) + "' out of range 1..65535");
        endpoint.port = *port;
    }
    return endpoint;
}

std::optional<SocketSpec> parse_socket_spec(std::string_view text, std::string* error) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return fail(error, usage);
    const std::string_view scheme = text.substr(0, colon);
    const std::string_view rest = text.substr(colon + 1);
    SocketSpec spec;
    if (scheme == "unix" || scheme == "local") {
        if (rest.empty() || rest.front() != '/')
            return fail(error, "not an absolute path: '" + std::string(rest) + "'");
        if (rest.size() > sizeof(sockaddr_un{}.sun_path) - 1)
            return fail(error, "unix socket path too long");
        spec.kind = SocketSpec::Kind::unix_path;
        spec.path = std::string(rest);
        return spec;
    }
    if (scheme != "inet" && scheme != "inet6")
        return fail(error, usage);
    spec.kind = scheme == "inet" ? SocketSpec::Kind::inet : SocketSpec::Kind::inet6;
    const auto at = rest.find('@');
    if (at == std::string_view::npos) // no "all interfaces" by omission: the address is explicit
        return fail(error, "expected " + std::string(scheme) + ":PORT@ADDR");
    const std::string_view port_text = rest.substr(0, at);
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port == 0 ||
        port > 65535)
        return fail(error, "port '" + std::string(port_text) + "' out of range 1..65535");
    spec.port = static_cast<std::uint16_t>(port);
    spec.address = std::string(rest.substr(at + 1));
    const int family = spec.kind == SocketSpec::Kind::inet ? AF_INET : AF_INET6;
    if (!is_ip_literal(family, spec.address))
        return fail(error, std::string("not an ") + (family == AF_INET ? "IPv4" : "IPv6") +
                               " address: '" + spec.address + "'");
    return spec;
}

} // namespace mailwarden::util
