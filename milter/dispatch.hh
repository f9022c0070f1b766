// The milter protocol on one connection, above the framing: decodes each command's data
// (negotiation, macros, connect information, envelope arguments, header fields, body chunks),
// keeps the macros by stage, calls the step's callback (callbacks.hh) and answers as
// negotiated (nothing at the steps the MTA agreed to expect no reply for). Replies and message
// changes collect in output() until the server writes them.
//
// A command that breaks the protocol (anything before the negotiation, a second negotiation,
// an unknown command, data that does not decode) ends that connection: handle() logs one line
// and returns false; the open SMTP session is closed as the MTA would on a dropped connection.
#pragma once

#include "engine/engine_holder.hh"
#include "milter/context.hh"
#include "milter/frame.hh"

#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::milter {

// The protocol version we speak; an MTA offering less (at least 2) gets its own.
inline constexpr std::uint32_t protocol_version = 6;

class Dispatcher {
public:
    explicit Dispatcher(const engine::EngineHolder& engines);
    ~Dispatcher(); // closes an open SMTP session (the connection is gone)
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    const engine::EngineHolder& engines() const { return context_.engines; }
    // One command. False when the connection must end: after QUIT, or a protocol error.
    bool handle(const Frame& frame);
    // Frames to write to the MTA; the caller clears what it wrote.
    std::string& output() { return context_.output; }
    // The connection ended: closes an open SMTP session and makes ready for the next
    // connection, keeping the memory already allocated (a server thread keeps its Dispatcher).
    void end_connection();

private:
    bool negotiate(std::string_view data);
    bool connect(std::string_view data);
    bool envelope(char command, std::string_view data);
    bool header(std::string_view data);
    bool end_of_body(std::string_view data);
    // The answer of a step, unless the MTA agreed to expect none.
    void answer(std::uint32_t no_reply_option, Status status);
    bool protocol_error(const std::string& what);

    Context context_;
    bool negotiated_ = false;
    std::vector<std::string_view> strings_; // reused for decoding
};

} // namespace mailwarden::milter
