// Verdict: what the engine decided for one stage or message, as a plain value that every
// front-end translates to its protocol (milter smfi_setreply/smfi_quarantine, policy
// action=..., mailwarden check's exit status). The SMTP reply parts are ours, never attacker
// text, so a front-end can use them without further checks.
#pragma once

#include "config/config.hh"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailwarden::engine {

using config::Action;

struct HeaderRemoval {
    std::string name;
    std::size_t index = 0; // 1-based among headers of that name, as smfi_chgheader counts
    friend bool operator==(const HeaderRemoval&, const HeaderRemoval&) = default;
};

struct Verdict {
    Action action = Action::accept; // accept, tempfail, reject or quarantine
    std::string code = "250";       // SMTP reply code
    std::string status = "2.0.0";   // RFC 3463 enhanced status code
    std::string text;               // reply text ("" for accept)
    std::string reason = "ok";      // stable tag for the log line and JSON, e.g. "dmarc_reject"
    // Caused by our own trouble (DNS, the state store, an internal error), not by the sender:
    // it moves no reputation.
    bool ours = false;

    // Header changes that go with every action but reject/tempfail: Authentication-Results
    // added first in the message, forged ones removed (highest index first).
    std::vector<std::pair<std::string, std::string>> add_headers;
    std::vector<HeaderRemoval> remove_headers;

    static Verdict accept(std::string reason = "ok");
    static Verdict reject(std::string status, std::string text, std::string reason);
    static Verdict tempfail(std::string status, std::string text, std::string reason);
    static Verdict quarantine(std::string text, std::string reason);

    bool is_final() const { return action == Action::reject || action == Action::tempfail; }
};

// The SMTP reply of a reject or tempfail Verdict, validated before any front-end sends it: a
// 4xx (tempfail) or 5xx (reject) code, an RFC 3463 status of the same class, text of printable
// ASCII up to 400 bytes. A Verdict that fails validation gets the generic reply of its action.
struct SmtpReply {
    std::string code;   // "550"
    std::string status; // "5.7.1"
    std::string text;
};
SmtpReply smtp_reply(const Verdict& verdict);

// "accept", "reject"... (config::action_name under the name the JSON output uses).
std::string_view verdict_action_name(const Verdict& verdict);

// mailwarden check's exit status (DESIGN.md): 0 accept, 1 reject, 2 tempfail, 3 quarantine.
int exit_status(const Verdict& verdict);

} // namespace mailwarden::engine
