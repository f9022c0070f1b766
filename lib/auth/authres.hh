// Authentication-Results (RFC 8601): build our header value, parse others' values, and
// decide which existing A-R headers are forgeries of ours (removed) or come from a trusted
// authserv-id. Pure functions of header text, no I/O.
//
// Failure: building never fails for valid input; method, result, ptype and property names
// are ours and must be RFC 8601 Keywords, anything else is a bug (std::invalid_argument).
// Values (authserv-id, reason, property values) may be attacker text: they are written as
// RFC 2045 tokens when they are, else quoted; control bytes other than HTAB (CR, LF, NUL,
// ...) are dropped, so a value can never end the header or start a new result. Parsing returns
// nullopt for anything that is not RFC 8601 (or exceeds a bound below), never throws on any input.
//
// Decisions:
//   - Parsed keywords (method, result, ptype.property) are lower-cased; values are kept.
//   - Property values are read leniently (a token, a quoted string, or any run of printable
//     non-space bytes other than ; ( ) " \ such as user@example.org or base64 header.b);
//     the structure around them (";", method=result, reason= first, ptype.property=) is
//     strict. Non-RFC results like Microsoft's "dmarc=pass action=none" are nullopt.
//   - build_authentication_results returns one unfolded line; fold_header_value folds it.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mailwarden::auth {

// Bounds for parsing, each enforced with nullopt and named in a test.
inline constexpr std::size_t max_authres_bytes = 8192;      // one header value, unfolded
inline constexpr std::size_t max_authres_results = 32;      // resinfo entries per header
inline constexpr std::size_t max_authres_properties = 16;   // properties per resinfo
inline constexpr std::size_t max_authres_comment_depth = 8; // nested comments

struct AuthResult {
    std::string method;                                          // spf, dkim, dmarc, ...
    std::optional<int> method_version;                           // dkim/1 (rare)
    std::string result;                                          // pass, fail, ...
    std::string reason;                                          // empty: no reason=
    std::vector<std::pair<std::string, std::string>> properties; // {"smtp.mailfrom", "a@b"}

    bool operator==(const AuthResult&) const = default;
};

struct AuthenticationResults {
    std::string authserv_id;
    std::optional<int> version;
    std::vector<AuthResult> results; // empty: "none"

    bool operator==(const AuthenticationResults&) const = default;
};

// The header value on one line, e.g. "mx.example.net; spf=pass smtp.mailfrom=example.org".
std::string build_authentication_results(const AuthenticationResults& header);

// Folds a header value at spaces outside quoted strings so that lines (the first one
// counting name_length for "Name: "; a TAB is one octet) stay within width where possible:
// before a result (after "; ") that does not fit on the line, or that follows one folded
// inside, else before the word that does not fit. A word longer than a line stays whole, so
// the values put in must be bounded (RFC 5322 §2.1.1: 998 octets a line). Folding replaces
// one space by line_break and a TAB and changes nothing else: unfolding gives the value back.
// line_break: libmilter wants "\n", a raw message "\r\n".
std::string fold_header_value(std::string_view value, std::size_t name_length,
                              std::size_t width = 78, std::string_view line_break = "\n");

// Parses one A-R header value (folded or not); nullopt if it is not RFC 8601.
std::optional<AuthenticationResults> parse_authentication_results(std::string_view value);

// Just the authserv-id (leading CFWS skipped, quoted form unquoted), for the forgery check:
// works on headers whose rest is garbage. nullopt if there is no leading value at all.
std::optional<std::string> authserv_id_of(std::string_view value);

// Which existing A-R headers to remove and which to trust. Indexes are 1-based per header
// name, as smfi_chgheader counts them. remove: headers whose authserv-id is ours
// (case-insensitive, a trailing dot ignored), highest index first so each removal leaves
// the indexes still to remove unchanged. trusted: headers from trusted_ids, in order; ours
// is never trusted even if listed.
struct AuthResTriage {
    std::vector<std::size_t> remove;
    std::vector<std::size_t> trusted;
};
AuthResTriage triage_authentication_results(std::span<const std::string_view> values,
                                            std::string_view our_authserv_id,
                                            std::span<const std::string> trusted_ids);

} // namespace mailwarden::auth
