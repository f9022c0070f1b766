// Listening sockets for the daemons (the milter's and the policy server's), from a SocketSpec.
#pragma once

#include "util/socket_spec.hh"

#include <functional>
#include <string>

namespace mailwarden::util {

// Called with the path a unix socket is bound to, before clients can find it (mode, owner).
using PrepareUnixSocket = std::function<void(const std::string& path)>;

// A socket listening on `spec` (socket(2) flags such as SOCK_NONBLOCK added), closed on exec.
// A unix socket appears under its path only once it listens and `prepare` ran on it: it is
// bound under a temporary name beside the path (`PATH.new`, when that fits) and renamed into
// place, so that a client never finds it refusing connections or with the wrong mode; a stale
// socket of an earlier run is replaced. Throws std::runtime_error naming the socket and the
// step that failed.
int listen_on(const SocketSpec& spec, int socket_flags = 0, const PrepareUnixSocket& prepare = {});

// The daemons' preparation of a unix socket: `mode`, octal text as the *_socket_mode
// parameters hold it, then the owner (set_owner in daemon.hh: USER, USER:GROUP or :GROUP,
// empty: default_user and its group; nothing when not root). Throws naming the step.
PrepareUnixSocket mode_and_owner(std::string mode, std::string owner, std::string default_user);

// "/path" or "ADDRESS port N", for messages.
std::string describe(const SocketSpec& spec);

} // namespace mailwarden::util
