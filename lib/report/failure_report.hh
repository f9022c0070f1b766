// DMARC failure reports (RFC 9991, the ARF of RFC 5965 with RFC 6591's auth-failure fields):
// the whole report mail for one message that failed, without its To: header (the report job
// adds it once the ruf destinations are verified). Pure function; never throws except
// std::bad_alloc.
//
// Decisions:
//   - Feedback-Type: auth-failure, Auth-Failure: dmarc, Identity-Alignment: the mechanisms that
//     did not give an aligned pass ("dkim, spf"), or "none".
//   - DKIM-Domain, DKIM-Identity, DKIM-Selector for a failed signature of an aligned domain
//     (RFC 9991 §4); SPF-DNS is left out (we keep no SPF record text per message).
//   - Redaction (RFC 6590): redact_local_part replaces each address's local part, in the
//     reported header fields and in Original-Mail-From/Original-Rcpt-To, with "redacted-"
//     and 12 hex digits of its SHA-256, so reports still correlate; include_body false sends
//     the header only (text/rfc822-headers), else the message (message/rfc822) with at most
//     max_failure_body_bytes of its body.
//   - At most max_failure_header_bytes of header fields, whole fields only; control bytes other
//     than TAB are dropped from the fields we write ourselves.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mailwarden::report {

inline constexpr std::size_t max_failure_header_bytes = 64 * 1024;
inline constexpr std::size_t max_failure_body_bytes = 64 * 1024;

struct FailedDkim {
    std::string domain, identity, selector; // d=, i= (or "@" d=), s=
};

struct FailureFacts {
    std::string reporter_email; // From of the report
    std::string submitter;      // our host name, for Reporting-MTA and the Message-ID
    std::string user_agent;     // e.g. "mailwarden/0.1.0"
    std::string source_ip;
    std::int64_t arrival = 0; // seconds since the epoch
    std::string original_mail_from;
    std::vector<std::string> original_rcpt_to;
    std::string reported_domain; // the author domain
    std::string authentication_results;
    bool dkim_aligned = false, spf_aligned = false;
    std::optional<FailedDkim> failed_dkim;
    std::string delivery_result; // delivered, spam, policy, reject, other
    std::vector<std::pair<std::string, std::string>> headers; // name, value as received
    std::string body;                                         // "" when not kept
    bool redact_local_part = true;
    bool include_body = false;
};

std::string failure_report_mail(const FailureFacts& facts, std::int64_t now_seconds);

// "local@domain" → "redacted-XXXXXXXXXXXX@domain" for every address in text.
std::string redact_local_parts(std::string_view text);

} // namespace mailwarden::report
