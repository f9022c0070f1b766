// What a callback (callbacks.hh) sees of its milter connection, in place of libmilter's
// SMFICTX: the engines, what was negotiated, the macros the MTA sent, the connection's Session,
// and the output: replies and message changes in the order they were asked for, as protocol
// frames that the server writes in one piece once the MTA waits for them. One connection's
// Context is used by one thread at a time.
#pragma once

#include "engine/engine_holder.hh"
#include "milter/session.hh"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailwarden::milter {

// A callback's answer for its step (libmilter's SMFIS_*).
enum class Status { continue_, reject, discard, accept, tempfail, no_reply, skip };

// Macro stages, in the order the MTA reaches them (libmilter's CI_*).
enum class MacroStage : std::uint8_t {
    connect,
    helo,
    mail,
    recipient,
    data,
    end_of_headers,
    end_of_message
};
inline constexpr std::size_t macro_stage_count = 7;

class Context {
public:
    explicit Context(const engine::EngineHolder& engine_holder) : engines(engine_holder) {}
    Context(const Context&) = delete;
    Context& operator=(const Context&) = delete;

    // A macro's value, "" when the MTA did not send it. "i" and "{i}" name the same macro; the
    // latest stage that has it wins (as libmilter's smfi_getsymval).
    std::string_view macro(std::string_view name) const;
    // Replaces a stage's macros with the data of a macro command, NAME\0VALUE\0...; false
    // (and no macros for the stage) when it is not that.
    bool set_macros(MacroStage stage, std::string_view pairs);
    // Forgets the macros of the stages after `stage` (a new step starts afresh).
    void clear_macros_after(MacroStage stage);
    // Back to a new connection's state (the Session must be closed); storage is kept.
    void reset();

    // The reply text of the next reject or tempfail: "CODE STATUS TEXT" (validated by the
    // caller, see protocol.hh reply_for). Used once.
    void set_reply(std::string_view code, std::string_view status, std::string_view text);
    // Message changes at end of message, sent before the final reply.
    void insert_header(std::uint32_t index, std::string_view name, std::string_view value);
    void change_header(std::string_view name, std::uint32_t index, std::string_view value);
    void quarantine(std::string_view reason);
    // Macro names the MTA should send at a stage (negotiation, SMFIF_SETSYMLIST).
    void set_macro_list(std::uint32_t stage, std::string names);

    // The answer to a step, appended to the output: the reply text for reject/tempfail when one
    // is set, nothing for no_reply.
    void answer(Status status);

    const engine::EngineHolder& engines;
    Negotiated negotiated;
    std::unique_ptr<Session> session; // from connect (or negotiation) to close
    std::string output;               // frames not yet written
    std::vector<std::pair<std::uint32_t, std::string>> macro_lists; // for the negotiation reply

private:
    struct Macros {
        std::string data;                                                 // NAME\0VALUE\0...
        std::vector<std::pair<std::string_view, std::string_view>> pairs; // views into data
    };
    std::array<Macros, macro_stage_count> macros_;
    std::string reply_text_;
};

} // namespace mailwarden::milter
