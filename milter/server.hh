// The milter listener: accepts MTA connections on milter_socket (inet, inet6 or unix) and
// serves each on a thread of its own with blocking socket calls, so a step that waits (a DNS
// lookup, a Redis round trip) delays only its own connection and costs no hand-over between
// threads. Threads are kept for later connections, at most milter_max_connections of them; at
// that limit new connections wait in the listen queue (one warning a minute).
//
// Per connection: frames are read as they come (FrameReader, at most max_frame_bytes each),
// each goes to the connection's Dispatcher, and everything it answers is written in one
// write() once no complete frame is left to handle, so message changes and the final reply
// leave together; TCP connections have Nagle's algorithm off (TCP_NODELAY). A connection
// silent for milter_timeout, a write blocked as long, a frame over the limit or a command
// that breaks the protocol ends that connection only (one log line), never the process.
#pragma once

#include "engine/engine_holder.hh"
#include "util/socket_spec.hh"

#include <functional>
#include <memory>
#include <string>

namespace mailwarden::milter {

class Server {
public:
    // Binds and listens (before privileges are dropped); a stale unix socket file is replaced.
    // A unix socket is bound under a temporary name, given to prepare_unix_socket (its mode and
    // owner) and then renamed into place, so that the MTA never finds it with other
    // permissions. Throws std::runtime_error when it cannot.
    Server(const util::SocketSpec& spec, const engine::EngineHolder& engines,
           const std::function<void(const std::string& path)>& prepare_unix_socket = {});
    ~Server(); // stops, if still running
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Starts accepting (after daemon(), which threads would not survive).
    void start();
    // Stops accepting, ends every open connection (their SMTP sessions are closed as on a
    // dropped connection) and waits for the threads. The unix socket file is removed when its
    // directory lets the daemon's user.
    void stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace mailwarden::milter
