// What the milter front-end does to values crossing the protocol, as pure functions:
// envelope arguments to addresses, header values to the form the
// engine expects, Verdicts to validated smfi_setreply arguments, and our header values folded
// for the MTA. Never throw for any input.
#pragma once

#include "engine/verdict.hh"

#include <string>
#include <string_view>

namespace mailwarden::milter {

// "<a@example.org>" → "a@example.org", "<>" → "" (the null sender); surrounding blanks and
// one pair of angle brackets are removed, anything else is kept as given.
std::string envelope_address(std::string_view argument);

// A header value as the engine wants it: everything after the colon as received, CRLF line
// ends. The MTA passes folding as bare LF (Postfix) or CRLF (Sendmail); without
// SMFIP_HDR_LEADSPC it has also removed the space after the colon, which is put back (one
// space, what nearly every client writes) so that simple header canonicalization still works.
std::string header_value_as_received(std::string_view value, bool leading_space_kept);

// The reply code, status and text of a reject or tempfail Verdict: engine::smtp_reply
// (validated, the generic reply of its action when it fails), with '%' doubled: the milter
// protocol's reply text is a format to Sendmail, and Postfix undoes the doubling.
struct Reply {
    std::string code;   // "550"
    std::string status; // "5.7.1"
    std::string text;
};
Reply reply_for(const engine::Verdict& verdict);

// The smfi_quarantine reason of a quarantine Verdict: its text when that is printable ASCII,
// else "mailwarden: " and the reason tag.
std::string quarantine_reason(const engine::Verdict& verdict);

// A header value of ours, folded as auth::fold_header_value does (between results where it
// can, else between words) so that lines stay within max_line octets where a break is possible
// (RFC 5322 §2.1.1 recommends 78). Milter header values fold with "\n\t".
// A value the engine folded itself (CRLF followed by white space, as a DKIM-Signature must
// stay byte for byte as signed) keeps its folding, each CRLF written as "\n".
std::string folded_header_value(std::string_view name, std::string_view value,
                                std::size_t max_line = 78);

} // namespace mailwarden::milter
