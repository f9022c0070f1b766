// DKIM signing of one message (RFC 6376 §5, RFC 8463): header fields and body fed as they
// arrive, one DKIM-Signature header value per key at the end. The body is hashed in the
// chunks given (dkim_body.hh), never buffered: one body hash for the message, shared by all
// its signatures (they share the canonicalization). Only the header fields the signature
// covers are kept, at most max_signed_header_bytes.
//
// The header hash is the verifier's own code (dkim_header.hh), so what we sign is what our
// verifier checks. Header selection (§5.4): every configured name is listed in h= once per
// field of that name in the message (From always); oversigned names once more, so that a
// field of that name added in transit breaks the signature (§8.15). Tags written: v a c d s
// t [x] h bh b, folded with CRLF TAB into lines of at most 78 characters (counting the
// "DKIM-Signature: " before the value), b= last.
//
// Failure is a value: sign() gives an error text (headers over the bound, OpenSSL failed,
// a key that cannot sign) and no signatures; the caller applies on_sign_error. Nothing here
// throws except std::bad_alloc and, at construction, std::runtime_error when OpenSSL cannot
// start a hash.
#pragma once

#include "auth/dkim_body.hh"
#include "auth/dkim_key_table.hh"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::auth {

inline constexpr std::size_t max_signed_header_bytes = 1024 * 1024;
inline constexpr std::string_view dkim_signature_field = "DKIM-Signature";

struct DkimSignOptions {
    DkimBodyHash::Canon header_canon = DkimBodyHash::Canon::relaxed;
    DkimBodyHash::Canon body_canon = DkimBodyHash::Canon::relaxed;
    std::vector<std::string> headers;    // signed when present, in this order of h=
    std::vector<std::string> oversigned; // listed once more than present (signed too)
    std::uint64_t lifetime_seconds = 0;  // x= is t= plus this; 0: no x=
};

// The header names of `options` as h= lists them: lower-case, From first, each once, the
// oversigned ones included. Used to build a signer's options.
std::vector<std::string> signed_header_names(std::span<const std::string> headers,
                                             std::span<const std::string> oversigned);

struct DkimSignature {
    std::string value;                       // after "DKIM-Signature:", folded, no leading SP
    std::string domain, selector, algorithm; // d=, s=, a=
    unsigned key_bits = 0;
};

struct DkimSignResult {
    std::vector<DkimSignature> signatures; // one per key, in the order of the keys
    std::string error;                     // "" on success
};

// One message. `options` must outlive the session (the Engine's snapshot owns them).
class DkimSigningSession {
public:
    explicit DkimSigningSession(const DkimSignOptions& options);

    // `value` as received: everything after the colon, leading space and CRLF folding kept.
    void header(std::string_view name, std::string_view value);
    void body(std::string_view chunk); // CRLF line ends, any chunking
    // The signatures of every key, with `now` as t= (seconds since the epoch). Call once.
    DkimSignResult sign(std::span<const DkimSigningKey> keys, std::uint64_t now);

private:
    struct Kept {
        std::size_t offset, name_length, value_length; // in text_
    };
    std::string signature_value(const DkimSigningKey& key, std::uint64_t now,
                                std::string_view body_hash, std::string* error) const;

    const DkimSignOptions* options_;
    DkimBodyHash body_hash_;
    std::string text_; // the kept fields' names and values, one after the other
    std::vector<Kept> kept_;
    bool too_large_ = false;
};

} // namespace mailwarden::auth
