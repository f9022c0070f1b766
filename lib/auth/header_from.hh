// RFC 5322 From: header parsing for DMARC (RFC 7489 §3.1.1, §6.6.1): finds the one author
// domain of a message, or says precisely why there is none. Strict on purpose: hostile From
// headers are how other filters were bypassed, so anything ambiguous is a FromProblem
// (default policy: reject) rather than a guess. Pure function of the header values; never
// throws, never reads out of bounds, work bounded by max_header_from_bytes per header.
//
// Decisions:
//   - Values are given without the terminating line break; folding (CRLF or LF followed by
//     SP/HTAB) is undone, any other CR or LF is invalid_syntax.
//   - Comments (nested, with quoted-pairs) are skipped; quoted strings are text. Encoded words
//     (RFC 2047) in display names are plain atoms, never decoded into the address.
//   - Obsolete syntax that only adds whitespace or comments around dots is accepted;
//     obs-route (<@relay:a@b>) and empty list elements (a@b.org,,) are invalid_syntax.
//   - Group syntax (RFC 6854) is accepted; its mailboxes count like any other; a group with
//     no mailbox (undisclosed-recipients:;) is no_domain.
//   - 8-bit: display names and comments may hold any 8-bit bytes (broken Latin-1 names are
//     common and never used); a local part may hold UTF-8 (RFC 6532) but must be valid
//     UTF-8; a domain in U-labels (RFC 6532) is converted to A-labels (auth/idna.hh,
//     RFC 8616 §5: DMARC records are looked up and identifiers aligned under A-labels); one
//     IDNA2008 refuses, or that is not UTF-8, is invalid_domain.
//   - The domain (after conversion) is a hostname: LDH labels of 1..63 bytes not starting or
//     ending with '-', at least two labels, at most 253 bytes, last label not all digits. It
//     is lower-cased and one trailing dot is removed. Domain literals ([192.0.2.1]) are
//     invalid_domain.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::auth {

// Bounds, each enforced with invalid_syntax and named in a test.
inline constexpr std::size_t max_header_from_bytes = 998; // one header value, after unfolding
inline constexpr std::size_t max_comment_depth = 8;       // nested ( ( ( ) ) )
inline constexpr std::size_t max_local_part_bytes = 64;   // RFC 5321 §4.5.3.1.1

// Hostname bounds (RFC 1035 §2.3.4), enforced with invalid_domain.
inline constexpr std::size_t max_domain_bytes = 253;
inline constexpr std::size_t max_label_bytes = 63;

enum class FromProblem {
    none,
    missing,            // no From header, or one with no content at all
    multiple_headers,   // more than one From header
    multiple_addresses, // more than one mailbox in the From header
    no_domain,          // a mailbox without @domain, or an empty group
    unbalanced,         // unclosed or stray <, >, ", (, ), [ or ]
    invalid_syntax,     // anything else that is not RFC 5322 (or exceeds a bound above)
    invalid_domain,     // the domain is not a hostname (see above)
};

// Stable lower-case name for logs and A-R reasons, e.g. "multiple_addresses".
std::string_view from_problem_name(FromProblem problem);

struct HeaderFrom {
    FromProblem problem = FromProblem::none;
    // First mailbox as local@domain (local part as written, quotes kept), and its domain
    // (A-labels, lower-cased, no trailing dot). Set when problem is none, multiple_addresses, or
    // multiple_headers when the first header parses.
    std::string address;
    std::string domain;
    // Every mailbox's domain in order: over all mailboxes for multiple_addresses, over all
    // headers for multiple_headers (only if each has exactly one valid mailbox), so the
    // caller can apply RFC 7489 §6.6.1 ("same domain") if it is configured to.
    std::vector<std::string> domains;
};

// values: the raw (folded or unfolded) values of every From header of the message, in order.
HeaderFrom parse_header_from(std::span<const std::string_view> values);

// One header value: as above, with multiple_headers never returned.
HeaderFrom parse_header_from_value(std::string_view value);

} // namespace mailwarden::auth
