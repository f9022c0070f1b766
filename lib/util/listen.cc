// See listen.hh.
#include "util/listen.hh"
#include "util/daemon.hh"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

namespace mailwarden::util {

namespace {

[[noreturn]] void fail(const SocketSpec& spec, const std::string& step, int error) {
    throw std::runtime_error("cannot listen on " + describe(spec) + ": " + step + ": " +
                             std::strerror(error));
}

// The address to bind for spec (a unix socket: `bound_path`); its length.
socklen_t address_of(const SocketSpec& spec, const std::string& bound_path,
                     sockaddr_storage& address) {
    if (spec.kind == SocketSpec::Kind::unix_path) {
        auto& local = reinterpret_cast<sockaddr_un&>(address);
        if (bound_path.size() >= sizeof local.sun_path)
            fail(spec, "path", ENAMETOOLONG);
        local.sun_family = AF_UNIX;
        std::memcpy(local.sun_path, bound_path.c_str(), bound_path.size() + 1);
        return sizeof local;
    }
    if (auto& inet = reinterpret_cast<sockaddr_in&>(address);
        spec.kind == SocketSpec::Kind::inet &&
        ::inet_pton(AF_INET, spec.address.c_str(), &inet.sin_addr) == 1) {
        inet.sin_family = AF_INET;
        inet.sin_port = htons(spec.port);
        return sizeof inet;
    }
    if (auto& inet6 = reinterpret_cast<sockaddr_in6&>(address);
        ::inet_pton(AF_INET6, spec.address.c_str(), &inet6.sin6_addr) == 1) {
        inet6.sin6_family = AF_INET6;
        inet6.sin6_port = htons(spec.port);
        return sizeof inet6;
    }
    fail(spec, "address", EINVAL);
}

} // namespace

std::string describe(const SocketSpec& spec) {
    return spec.kind == SocketSpec::Kind::unix_path
               ? spec.path
               : spec.address + " port " + std::to_string(spec.port);
}

int listen_on(const SocketSpec& spec, int socket_flags, const PrepareUnixSocket& prepare) {
    const bool local = spec.kind == SocketSpec::Kind::unix_path;
    std::string bound_path = spec.path + ".new";
    if (bound_path.size() >= sizeof(sockaddr_un::sun_path))
        bound_path = spec.path; // no room for the temporary name: bound in place
    sockaddr_storage address{};
    const socklen_t length = address_of(spec, bound_path, address);
    const int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_CLOEXEC | socket_flags, 0);
    if (fd < 0)
        fail(spec, "socket", errno);
    if (local) {
        ::unlink(bound_path.c_str()); // a stale socket from an earlier run
    } else {
        const int one = 1;
        (void)::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    }
    try {
        if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), length) != 0)
            fail(spec, "bind", errno);
        if (::listen(fd, SOMAXCONN) != 0)
            fail(spec, "listen", errno);
        if (local && prepare)
            prepare(bound_path);
        if (local && bound_path != spec.path &&
            ::rename(bound_path.c_str(), spec.path.c_str()) != 0)
            fail(spec, "rename from " + bound_path, errno);
    } catch (...) {
        if (local)
            ::unlink(bound_path.c_str());
        ::close(fd);
        throw;
    }
    return fd;
}

PrepareUnixSocket mode_and_owner(std::string mode, std::string owner, std::string default_user) {
    return [mode = std::move(mode), owner = std::move(owner),
            default_user = std::move(default_user)](const std::string& path) {
        if (::chmod(path.c_str(), static_cast<mode_t>(std::stoul(mode, nullptr, 8))) != 0)
            throw std::runtime_error("cannot chmod " + path + ": " + std::strerror(errno));
        set_owner(path, owner, default_user);
    };
}

} // namespace mailwarden::util
