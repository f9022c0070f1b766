// What mailwarden-policyd answers, request by request, for one Postfix connection. Postfix's
// smtpd keeps one policy connection and sends a request at each RCPT TO (and, if configured,
// at END-OF-MESSAGE); requests of one message share its `instance` attribute. The first request
// of a message evaluates its envelope with the engine (SPF for HELO and MAIL FROM, rate limits
// and reputation of the MAIL stage: the milter's verdicts for the same facts); each RCPT adds
// the recipient limits and greylisting; END-OF-MESSAGE checks quotas counted by
// recipient_count. Answers (SMTPD_POLICY_README, access(5)):
//   a final verdict    "550 5.7.23 text" / "451 4.7.1 text" (validated, engine::smtp_reply)
//   the first accepted recipient of a message   "PREPEND Received-SPF: ..." (RFC 7208 §9.1)
//   otherwise          "DUNNO"
// An exception becomes on_internal_error ("451 4.3.0 ..." or DUNNO) and one log line. Not
// thread-safe: one per connection, used by one request at a time.
#pragma once

#include "engine/engine_holder.hh"
#include "policy/request.hh"

#include <memory>
#include <optional>
#include <string>

namespace mailwarden::policy {

struct PolicyAnswer {
    std::string action;      // without "action="
    engine::Verdict verdict; // what decided; accept for DUNNO and PREPEND
    std::string spf;         // the MAIL FROM result, "" when not evaluated (outbound)
    std::string rate;        // engine::Report::rate
    double ms = 0;           // the request's time, and the checks' part of it
    engine::Timing timing;
};

class PolicySession {
public:
    explicit PolicySession(const engine::EngineHolder& engines) : engines_(&engines) {}
    PolicyAnswer answer(const PolicyRequest& request);

private:
    PolicyAnswer guarded_answer(const PolicyRequest& request);
    PolicyAnswer decide(const PolicyRequest& request);
    void start_message(const PolicyRequest& request);
    PolicyAnswer final_answer(const engine::Verdict& verdict) const;

    const engine::EngineHolder* engines_;
    std::shared_ptr<const engine::Engine> engine_; // of the message in progress
    std::string instance_;
    std::optional<engine::MessageEvaluation> message_;
    engine::Verdict envelope_;
    bool spf_header_sent_ = false;
    engine::Timing logged_; // the message's timing as of its last answer
};

} // namespace mailwarden::policy
