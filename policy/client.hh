// One policy client served to its end on the calling thread: read requests (RequestParser),
// answer each with a PolicySession as soon as it is complete, one write per answer, until the
// client leaves, breaks the protocol or runs out of time (ClientLimits: idle, request).
// Shared by the listener's connection threads and the spawn(8) mode. Never throws.
#pragma once

#include "engine/engine_holder.hh"
#include "policy/server.hh"

namespace mailwarden::policy {

enum class ClientEnd {
    left,           // end of input (or the listener shut the socket down)
    idle,           // policy_idle_timeout with no request in progress
    unfinished,     // policy_request_timeout: a request or an answer stalled
    protocol_error, // answered with policy_default_action
    io_error        // a read or write failed
};

// in_fd and out_fd may be one socket. Timeouts are those of `limits`.
ClientEnd serve_client(int in_fd, int out_fd, const engine::EngineHolder& engines,
                       const ClientLimits& limits);

} // namespace mailwarden::policy
