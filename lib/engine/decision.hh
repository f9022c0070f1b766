// The decision table: authentication facts → Verdict. Pure functions of their arguments, so
// the milter (at its stages), the policy server and `mailwarden check` can never disagree.
// Parameters read (through DecisionPolicy::from_config): spf_fail_action, spf_temperror_action,
// dmarc_reject_action, dmarc_quarantine_action, from_header_action, on_dns_error,
// on_state_error, on_internal_error. Never throws.
//
// Rows, first match wins (tests/unit/test-decision.cc has one case per row):
//   1 outbound (SASL or internal_networks): accept "outbound"
//   2 SPF (MAIL FROM) fail, spf_fail_action=reject: 550 5.7.23 "spf_fail"
//   2b SPF (MAIL FROM) temperror, spf_temperror_action=tempfail: 451 4.4.3 "spf_temperror"
//   3 From header without one author domain: from_header_action "from_<problem>"; when that
//     action is none, the rows below read the DMARC result of the strictest of several author
//     domains (auth/dmarc_authors.hh), or permerror
//   4 DMARC fail, disposition reject, an SPF/DKIM temperror of a domain that could align
//     with the From domain: on_dns_error (451 4.4.3)
//     "dmarc_dns_error"
//   5 DMARC fail, disposition reject: dmarc_reject_action (default quarantine, RFC 9989
//     §7.4 and §8; reject: 550 5.7.1) "dmarc_reject"
//   6 DMARC fail, disposition quarantine: dmarc_quarantine_action "dmarc_quarantine"
//   7 DMARC temperror, the policy reject or unknown (its record could not be fetched), and no
//     SPF or DKIM pass for the From domain itself: on_dns_error (451 4.4.3) "dmarc_dns_error"
//   8 SPF (MAIL FROM) fail, spf_fail_action=quarantine: quarantine "spf_fail"
//   9 anything else: accept "ok"
// Rate limits and the state store answer beside the table (rate_limited, state_error): a
// limit is checked at its stage once the rows of that stage let the message go on.
// Row 7 treats an unknown policy as possibly p=reject: with the default tempfail the sender
// retries, so a DNS hiccup never lets through mail the domain asked to reject (RFC 9989 §4.10.1
// leaves DNS errors to the receiver; §8 has it answer 4xy). Mail that passes SPF or DKIM for
// the From domain itself passes DMARC under any record, so it is never held; a temperror of a
// domain whose known policy is none or quarantine is accepted (dmarc=temperror). The 4.4.3
// text names the lookup that failed. Verdicts of our own trouble (rows 2b, 4, 7, the state
// store, internal errors) are marked Verdict::ours: they move no reputation. HELO results
// never decide (RFC 7208 §2.3 leaves that to local policy; we keep it out of rejections).
#pragma once

#include "auth/header_from.hh"
#include "config/config.hh"
#include "engine/verdict.hh"

#include <cstdint>
#include <string>
#include <string_view>

namespace mailwarden::engine {

struct DecisionPolicy {
    Action spf_fail = Action::none;
    Action spf_temperror = Action::none;
    Action dmarc_reject = Action::quarantine; // RFC 9989 §7.4: p=reject alone is no reason
    Action dmarc_quarantine = Action::quarantine;
    Action from_header = Action::reject;
    Action on_dns_error = Action::tempfail;
    Action on_state_error = Action::accept;
    Action on_internal_error = Action::tempfail;

    static DecisionPolicy from_config(const config::Config& config);
};

// What the MAIL FROM stage knows.
struct EnvelopeFacts {
    bool outbound = false;
    std::string spf_result;      // MAIL FROM identity, RFC 8601 word; "" = not evaluated
    std::string spf_domain;      // the identity's domain
    std::string spf_explanation; // exp= text for fail (DNS text: sanitized before use)
};

// What the end of the message knows.
struct MessageFacts {
    EnvelopeFacts envelope;
    auth::FromProblem from_problem = auth::FromProblem::none;
    std::string from_domain;
    std::string dmarc_result;      // pass fail none temperror permerror; "" = not evaluated
    std::string dmarc_disposition; // none quarantine reject (after pct)
    std::string dmarc_policy;      // none quarantine reject; "" = unknown (no record fetched)
    bool dmarc_aligned = false;    // SPF or DKIM passed aligned (for temperror: the From domain)
    bool auth_temperror = false;   // an SPF or DKIM temperror that could have aligned
    std::string failed_lookup;     // the DNS lookup behind a temperror ("_dmarc.example.com")
};

// Rows 1-2b (what can be answered at MAIL FROM); accept "ok" when nothing decides yet.
Verdict decide_envelope(const DecisionPolicy& policy, const EnvelopeFacts& facts);
// Every row.
Verdict decide_message(const DecisionPolicy& policy, const MessageFacts& facts);
// on_internal_error: 451 4.3.0 or accept "internal_error".
Verdict internal_error_verdict(const DecisionPolicy& policy);
// A rate limit over its rate: 451 4.7.1 (or 550 5.7.1 when the limit says reject), naming the
// limit and when to retry. Reason "ratelimit_NAME".
Verdict rate_limited_verdict(std::string_view limit_name, bool reject, std::int64_t retry_after_ms);
// A message a rate limit can never let through (it counts `cost` recipients, more than the
// limit's burst): 550 5.5.3 (RFC 3463 "too many recipients", where the message cannot be
// split), naming the limit and its burst, whatever the limit's action. Reason "ratelimit_NAME".
Verdict rate_limit_unreachable_verdict(std::string_view limit_name, std::int64_t cost,
                                       std::int64_t burst);
// on_state_error: 451 4.3.0 or accept "state_error" (limits skipped for this message).
Verdict state_error_verdict(const DecisionPolicy& policy);

// DNS-supplied or attacker text made safe for an SMTP reply: printable ASCII only (others
// become '?'), whitespace runs collapsed, at most max_bytes.
std::string smtp_safe_text(std::string_view text, std::size_t max_bytes = 200);

} // namespace mailwarden::engine
