// Internationalized domain names in mail (RFC 8616, RFC 6531, RFC 6532): the one conversion
// of a domain taken from mail (MAIL FROM and HELO for SPF, the From: author for DMARC, names
// of the Public Suffix List) into the form DNS and every comparison use: A-labels, lower case.
//
// Decisions:
//   - A name of ASCII bytes only is returned lower-cased and otherwise as it came: it is
//     already in DNS form, and each caller validates its own syntax (LDH hostname for the
//     From: author, RFC 7208 §4.3 for SPF). Mail that was accepted before stays accepted.
//   - A name with non-ASCII bytes goes through libidn2's IDNA2008 lookup (RFC 5891 §5) with
//     UTS #46 non-transitional mapping (IDN2_NONTRANSITIONAL, which includes NFC): what a
//     lookup application such as a mail reader does with the name. Mapping only lower-cases
//     and folds width ("Bücher", "ＢÜCHER" -> xn--bcher-kva); ß, ς and the joiners stay as
//     IDNA2008 says (transitional processing would map faß.de to a different domain,
//     fass.de). Everything IDNA2008 forbids after that is refused: DISALLOWED code points,
//     CONTEXTJ/CONTEXTO and bidi rule violations, hyphens at a label's start or end, invalid
//     Punycode in an xn-- label of such a name.
//   - Refused as well (nullopt, "malformed"): bytes that are not UTF-8, a NUL byte, an input
//     over max_idna_input_bytes, a label over 63 octets or a name over 253 octets (RFC 1035
//     §2.3.4, one trailing dot not counted) after conversion.
// Pure function; thread-safe; never throws except std::bad_alloc.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mailwarden::auth {

// Longest name accepted as input: a 253-octet name of U-labels is at most ~4 bytes per
// A-label octet in UTF-8; anything longer cannot convert to a valid DNS name.
inline constexpr std::size_t max_idna_input_bytes = 1024;

// The A-label, lower-case form of a domain (see above); nullopt when it is malformed. One
// trailing dot is kept as given.
std::optional<std::string> domain_to_ascii(std::string_view domain);

// True when some byte is not ASCII (the name needs domain_to_ascii before DNS).
bool has_non_ascii(std::string_view text);

} // namespace mailwarden::auth
