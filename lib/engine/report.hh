// Report: what the checks found about one message, filled in stage by stage (each check
// writes its own fields; later checks, the decision table and the Authentication-Results
// header read them), and the forms admins read: JSON (one object, the `mailwarden check
// --format json` contract in DESIGN.md), aligned text lines and the fields of a daemon's
// summary log line. Rendering never throws for any report; attacker text inside is quoted
// (JSON) or escaped like log values (text), so nothing from a message can reach a terminal
// as a control sequence.
#pragma once

#include "auth/dkim_sign.hh"
#include "auth/dkim_verify.hh"
#include "auth/dmarc.hh"
#include "auth/header_from.hh"
#include "auth/spf.hh"
#include "engine/timing.hh"
#include "engine/verdict.hh"
#include "util/log.hh"

#include <optional>
#include <string>
#include <vector>

namespace mailwarden::engine {

// Bounds on what one message may make us keep, each enforced and named in a test.
inline constexpr std::size_t max_from_headers_kept = 8; // more are multiple_headers anyway
inline constexpr std::size_t max_trusted_authres_kept = 8;

struct Report {
    bool outbound = false;
    std::string sender;                          // MAIL FROM address as given ("" = <>)
    std::optional<auth::SpfResult> spf_helo;     // unset when not evaluated (outbound)
    std::optional<auth::SpfResult> spf_mailfrom; // ditto
    std::vector<auth::DkimSignatureResult> dkim; // empty: unsigned (or outbound)
    // Signatures beyond dkim_max_signatures: counted, not evaluated, not kept in dkim, so a
    // message with hundreds of them cannot fill our header, log line and JSON with its domains.
    std::size_t dkim_not_evaluated = 0;
    auth::HeaderFrom from;
    // Unset: not evaluated (outbound). For a From without one author domain: permerror, or,
    // with several author domains, the strictest of their results (auth/dmarc_authors.hh),
    // each of which is then in dmarc_authors (empty for one author domain).
    std::optional<auth::DmarcResult> dmarc;
    std::vector<auth::DmarcResult> dmarc_authors;
    std::vector<std::string> trusted_authentication_results; // values, trusted_authserv_ids
    std::string authentication_results; // our A-R header value, unfolded ("" = none)
    // allow_networks holds the client address; allow_domains the authenticated domain.
    bool client_allow_listed = false;
    bool domain_allow_listed = false;
    // Rate limits: "off" (none configured, or no store), "ok", "limited:NAME", or "error" (the
    // store failed; on_state_error decided).
    std::string rate = "off";
    // The client address's reputation after this message: "+0.80" (score / 100), "new" (too
    // few outcomes yet), "off" (no store) or "error".
    std::string reputation = "off";
    // Greylisting of the last recipient: "off", "first_seen", "too_early", "passed", "known",
    // or "error".
    std::string greylist = "off";
    // DKIM signing of outbound mail (checks/dkim_sign.cc): "off" (no signing keys, inbound,
    // or refused before the end), "signed", "no_author" (no single From domain), "no_key" (no
    // key for signing_domain: sent unsigned) or "error" (signing_error; on_sign_error decided).
    std::string signing = "off";
    std::string signing_domain;                  // the From domain whose keys were looked up
    std::vector<auth::DkimSignature> signatures; // the DKIM-Signature fields added
    std::string signing_error;
    Verdict verdict;
    Timing timing; // of each check that ran, and the state round trips

    // One sentence for an admin, e.g. "DMARC fail: From example.com, p=reject, SPF pass for
    // other.org not aligned, no DKIM signature".
    std::string explanation() const;
    // The domain DMARC passed with (its aligned DKIM d=, else the SPF domain); "" when none.
    std::string authenticated_domain() const;
};

std::string report_json(const Report& report);
std::string report_text(const Report& report);

// The results part of a daemon's one summary line per message (DESIGN.md, Logging):
// spf=pass dkim=pass:example.org,fail:other.org dmarc=pass rate=ok rep=+0.80 action=accept
// reason=ok, or
// outbound=yes in place of the three results for outbound mail, followed by the signing
// result when keys are configured: sign=signed d=example.org s=ed2026,rsa2026.
void add_summary_fields(util::LogRecord& record, const Report& report);

} // namespace mailwarden::engine
