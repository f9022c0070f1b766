// Test helpers for tests that talk to mailwarden-policyd over a unix socket with plain
// descriptors (many connections at once, bounded waits): connect, and one exchange that never
// waits past its timeout.
#pragma once

#include <chrono>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace mailwarden::test {

// A connection to a unix socket, -1 on failure; the caller closes it.
inline int connect_unix(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    path.copy(address.sun_path, sizeof address.sun_path - 1);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Writes text (may be empty), then reads up to the empty line that ends a reply or until the
// timeout: what came, "" when nothing did.
inline std::string exchange_within(int fd, const std::string& text,
                                   std::chrono::milliseconds timeout) {
    if (fd < 0 || ::write(fd, text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return "";
    std::string reply;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (reply.find("\n\n") == std::string::npos) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        pollfd ready{.fd = fd, .events = POLLIN, .revents = 0};
        char buffer[1024];
        if (left.count() <= 0 || ::poll(&ready, 1, static_cast<int>(left.count())) != 1)
            break;
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got <= 0)
            break;
        reply.append(buffer, static_cast<std::size_t>(got));
    }
    return reply;
}

} // namespace mailwarden::test
