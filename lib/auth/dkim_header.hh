// The header half of the DKIM fast path (dkim_verify.cc): a strict reader of DKIM-Signature
// header fields (RFC 6376 §3.2 tag-list, §3.5 tags) and the header hash (§3.4.1 simple,
// §3.4.2 relaxed header canonicalization, §3.7 and §5.4.2 header selection, the
// DKIM-Signature field itself last with its b= value emptied and no CRLF).
//
// Why: libopendkim's header handling (parsing every signature, copying and canonicalizing
// every header field, hashing) was about a fifth of the engine's time per message. When
// every signature of a message is one this file accepts, libopendkim is not used at all.
//
// Strict on purpose: read_fast_signature() accepts only what libopendkim also parses without
// error and judges the same way, and anything else gives std::nullopt, which sends the
// whole message to libopendkim. Accepted: v=1; a=rsa-sha256 or ed25519-sha256; c= absent or a plain
// simple/relaxed pair; d= and s= of letters, digits, '-', '_', '.'; h= naming From; bh= and
// b= base64; t= a plain past timestamp; x= a plain future one; q=dns/txt; i= a plain address
// in d= or below it.
// One exception to "only what libopendkim parses": d=, s= and the domain of i= may be
// written in U-labels (RFC 8616 §4, an internationalized message), which libopendkim
// refuses as malformed; they are kept as their A-labels (auth/idna.hh) for the key lookup
// and the result, while the hash covers the field as written.
// Refused: l=, z=, an x= now or past (libopendkim says expired, allowing its drift), any other tag,
// a tag twice, whitespace inside a value other than h=, bh= and b=, whitespace between a tag name
// and '=', bare CR or LF, NUL, bytes outside printable ASCII other than UTF-8 in d=, s= and i=. The
// canonicalizers follow libopendkim where it reads RFC 6376 its own way (see dkim_header.cc), so
// the hashes are the ones libopendkim computes. Nothing here throws except std::bad_alloc.
#pragma once

#include "auth/dkim_body.hh"

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::auth {

// libopendkim allows a signature timestamp this far in the future (its default clock
// drift); a t= at most now is never "in the future" for it.
constexpr std::uint64_t dkim_clock_drift_seconds = 300;
// Longest DKIM-Signature value we take (libopendkim copies it, b= emptied, into a buffer
// that stops growing at 64 KB).
constexpr std::size_t max_fast_signature_bytes = 8192;
// Longest h= value we take (libopendkim copies h= into 4096-byte buffers).
constexpr std::size_t max_fast_signed_names_bytes = 1024;

struct FastSignature {
    std::string algorithm;          // a=: rsa-sha256 or ed25519-sha256
    std::string domain, selector;   // d=, s= as written (U-labels: as A-labels)
    std::vector<std::string> names; // h=, in order
    DkimBodyHash::Canon header_canon = DkimBodyHash::Canon::simple;
    DkimBodyHash::Canon body_canon = DkimBodyHash::Canon::simple;
    std::string body_hash;                    // bh=, decoded (encodes back to the text written)
    std::string signature;                    // b=, decoded
    std::uint64_t timestamp = 0, expires = 0; // t=, x=; 0 when absent
    // Where the b= value lies in the header value (after '=' up to ';' or the end),
    // emptied for the header hash.
    std::size_t b_value_begin = 0, b_value_end = 0;
};

// The DKIM-Signature header value (everything after the colon, as received) when the fast
// path can take it; `now` is the current time in seconds since the epoch.
std::optional<FastSignature> read_fast_signature(std::string_view value, std::uint64_t now);

// A header field name libopendkim keeps and compares as we do: 1 to 998 bytes of
// printable ASCII other than ':' and ';'.
bool plain_field_name(std::string_view name);

struct HeaderField {
    std::string_view name;  // without the colon
    std::string_view value; // after the colon, as received
};

// SHA-256 over the header fields `signature` signs, selected from `fields` (in message
// order) bottom-up per name, then fields[signature_index] (its DKIM-Signature) with the b=
// value emptied; std::nullopt when OpenSSL fails. The fields must have plain names and no
// NUL bytes.
std::optional<std::array<unsigned char, 32>> dkim_header_hash(std::span<const HeaderField> fields,
                                                              std::size_t signature_index,
                                                              const FastSignature& signature);

// The same hash for a signer, or any caller that has the pieces (RFC 6376 §3.7): the fields
// named in `names` selected from `fields` (in message order) bottom-up per name, each
// canonicalized with `canon` and ended by CRLF, then `signature_field` (its b= value already
// emptied) without CRLF. Names in `names` that no field (left) has add nothing.
std::optional<std::array<unsigned char, 32>> dkim_header_hash(std::span<const HeaderField> fields,
                                                              std::span<const std::string> names,
                                                              DkimBodyHash::Canon canon,
                                                              const HeaderField& signature_field);

} // namespace mailwarden::auth
