// One milter connection (one SMTP session of the MTA): the Engine snapshot it started with,
// what was negotiated, the connection facts, and the message in progress. Owned through
// smfi_setpriv from negotiation (or connect) to close; only that connection's thread uses it.
#pragma once

#include "engine/engine.hh"

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace mailwarden::milter {

// Messages between MAIL and their end (end of message, abort, RSET, close) in this process;
// the daemon waits for it to reach 0 before it exits on SIGTERM.
inline std::atomic<long> transactions_in_progress{0};
// Set on SIGTERM: new messages are answered 451 4.3.2 so that the open ones can end.
inline std::atomic<bool> stopping{false};

// What the MTA agreed to at option negotiation. It outlives a Session when the MTA ends one
// SMTP session and starts the next on the same milter connection (SMFIC_QUIT_NC).
struct Negotiated {
    unsigned long actions = ~0UL; // SMFIF_* the MTA agreed to (all: no negotiation)
    unsigned long no_reply = 0;   // SMFIP_NR_* steps the MTA agreed to
    bool leading_space = false;   // SMFIP_HDR_LEADSPC agreed
    bool can_skip = false;        // SMFIP_SKIP agreed
};

struct Session {
    explicit Session(std::shared_ptr<const engine::Engine> engine_snapshot)
        : engine(std::move(engine_snapshot)) {}
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session() { end_message(); }

    void start_message() {
        end_message();
        ++transactions_in_progress;
        in_transaction = true;
        started = std::chrono::steady_clock::now();
    }
    // After end of message, abort (RSET) or a final answer: the next MAIL starts afresh.
    void end_message() {
        message.reset();
        sender.clear();
        recipients = 0;
        failed = false;
        if (in_transaction)
            --transactions_in_progress;
        in_transaction = false;
    }
    double elapsed_ms() const {
        return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    }

    std::shared_ptr<const engine::Engine> engine; // with its configuration snapshot
    Negotiated negotiated;
    bool connected = false; // the connect step completed; until then no message is judged
    std::optional<engine::Connection> connection; // the engine's view of the SMTP session
    std::string client_name; // as the MTA named it, for the log ("unknown" when unverified)
    std::optional<engine::MessageEvaluation> message;
    std::string sender;
    unsigned recipients = 0;
    bool failed = false; // an internal error at a step with no reply; answered at the next one
    bool in_transaction = false;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

} // namespace mailwarden::milter
