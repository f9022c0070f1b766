// IDNA A-labels for the Public Suffix List: a strict UTF-8 decoder and an RFC 3492 Punycode
// encoder, written from the RFC. ToASCII only as far as the PSL needs it: no UTS 46 mapping
// or normalisation (only ASCII is lower-cased by callers), no bidi or context rules, no
// decoding. Never throws on bad input: invalid UTF-8, or a label whose encoding would not fit
// max_punycode_label_bytes, yields nullopt. Work is O(n^2) in the label length, which the
// caller bounds.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace mailwarden::auth {

// An A-label is at most 63 bytes (RFC 5890 §2.3.2.1); longer encodings are refused early.
inline constexpr std::size_t max_punycode_label_bytes = 63;

// RFC 3492 encoding of one UTF-8 label (no "xn--" prefix): "食狮" -> "85x722f".
// nullopt when the label is not valid UTF-8 or "xn--" + the result would exceed the cap.
std::optional<std::string> punycode_encode(std::string_view utf8_label);

// "xn--" + punycode_encode(label) for a label with non-ASCII bytes; the label itself
// (unchanged) when it is all ASCII. nullopt as for punycode_encode.
std::optional<std::string> to_a_label(std::string_view utf8_label);

} // namespace mailwarden::auth
