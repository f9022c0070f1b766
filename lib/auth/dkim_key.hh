// The pieces of DKIM verification we do ourselves on the common path (see dkim_verify.cc,
// "fast path"): reading a key record, base64, a cache of decoded public keys, and the RSA and
// Ed25519 verify of a header hash.
//
// Why: libopendkim decodes the public key with d2i_PUBKEY_bio() for every signature; in
// OpenSSL 3.0 that goes through the provider decoder framework and costs ~140 us for an
// RSA-2048 key, six times the RSA verify itself (README, "Performance"). A decoded key is
// immutable, so one decode per key text serves every later message, from any thread.
//
// Everything here is strict and conservative: a record or value we do not fully understand
// gives std::nullopt, and the caller leaves the signature to libopendkim.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>

struct evp_pkey_st;
struct evp_pkey_ctx_st;

namespace mailwarden::auth {

// RFC 6376 §3.2 tag-list: tag=value pairs separated by ';', whitespace (FWS) around tags,
// '=' and values ignored, a trailing ';' allowed. Tag names are ALPHA *(ALPHA / DIGIT / '_').
// std::nullopt on a malformed list or a duplicated tag (§3.2: the list is invalid).
std::optional<std::map<std::string, std::string>> parse_tag_list(std::string_view text);

// Base64 (RFC 4648) with whitespace anywhere ignored, padding required; std::nullopt for
// any other character or a bad length.
std::optional<std::string> decode_base64(std::string_view text);

// Base64 (RFC 4648) with padding, no line breaks.
std::string encode_base64(std::string_view bytes);

// decode_base64() of text that encodes back to itself (FWS aside), as a signer writes it;
// std::nullopt otherwise. libopendkim compares bh= as text: a non-canonical value must not
// match for us either.
std::optional<std::string> decode_canonical_base64(std::string_view text);

// The DER public key of a key record (RFC 6376 §3.6.1) when the record plainly allows an
// rsa-sha256 signature for email: at most max_key_record_bytes of printable ASCII and
// whitespace (what libopendkim accepts), v= absent or DKIM1, k= absent or rsa, h= absent
// or a list of sha1/sha256 that holds sha256, s= absent or holding * or email, t= absent
// or only y, p= non-empty base64. std::nullopt otherwise (revoked, t=s, unknown values...).
constexpr std::size_t max_key_record_bytes = 1023; // libopendkim cuts longer records
std::optional<std::string> rsa_sha256_key_of(std::string_view record);
// The raw Ed25519 public key (RFC 8463 §4) of a key record under the same rules, with k=ed25519
// (required: absent means rsa) and p= of exactly 32 octets; std::nullopt otherwise.
constexpr std::size_t ed25519_public_key_bytes = 32;
std::optional<std::string> ed25519_key_of(std::string_view record);
// True when a record that would otherwise plainly allow a signature of `algorithm`
// ("rsa-sha256", "ed25519-sha256") under the rules above has an empty p=: the key is revoked
// (RFC 6376 §3.6.1, §6.1.2 step 8).
bool revoked_key_record(std::string_view record, std::string_view algorithm);
struct EvpPkeyFree {
    void operator()(evp_pkey_st* key) const noexcept;
};
using PublicKey = std::shared_ptr<evp_pkey_st>;

// Decoded public keys (RSA, Ed25519), bounded: when full it starts over (keys rotate rarely; a
// flood of distinct keys costs their decoding, never memory). Thread-safe.
class PublicKeyCache {
public:
    explicit PublicKeyCache(std::size_t capacity = 1024) : capacity_(capacity) {}
    // The RSA key for `der`, decoded at most once while cached; nullptr when `der` is not
    // an RSA SubjectPublicKeyInfo.
    PublicKey rsa_key(const std::string& der);
    // The RSA key of a key record that rsa_sha256_key_of() accepts, nullptr for any other
    // record; remembered by the record's text (records of at most max_key_record_bytes, so
    // the cache holds at most about 2 KB per entry), so a known record is neither parsed
    // nor decoded again.
    PublicKey rsa_key_of_record(const std::string& record);
    // The same for an Ed25519 key record that ed25519_key_of() accepts.
    PublicKey ed25519_key_of_record(const std::string& record);
    std::size_t size() const; // decoded keys held (records that hold none not counted)

private:
    PublicKey key_of_record(std::map<std::string, PublicKey>& records, const std::string& record,
                            const std::function<PublicKey(const std::string&)>& make);
    void remember(std::map<std::string, PublicKey>& map, const std::string& text,
                  const PublicKey& key);

    std::size_t capacity_;
    mutable std::mutex mutex_;
    std::map<std::string, PublicKey> keys_;            // by DER
    std::map<std::string, PublicKey> records_;         // by record text; nullptr: not usable
    std::map<std::string, PublicKey> ed25519_records_; // the same for Ed25519 records
};

// The key size as libopendkim reports it: 8 times the modulus bytes.
unsigned key_bits(const PublicKey& key);

// A ready RSASSA-PKCS1-v1_5 SHA-256 context of this thread for `key` (verify or sign), kept
// for the next call; nullptr when OpenSSL cannot make one. Not to be freed by the caller.
enum class RsaOperation { verify, sign };
evp_pkey_ctx_st* rsa_sha256_context(evp_pkey_st* key, RsaOperation operation);

// RSASSA-PKCS1-v1_5 with SHA-256 over an already computed digest (RFC 6376 §3.3.1).
// error: OpenSSL could not try (no memory, no context); never a verdict on the message.
enum class VerifyOutcome { pass, mismatch, error };
VerifyOutcome verify_rsa_sha256(const PublicKey& key, std::span<const unsigned char> digest,
                                std::string_view signature);
// Ed25519 over the SHA-256 digest (RFC 8463 §3), outcomes as above.
VerifyOutcome verify_ed25519_sha256(evp_pkey_st* key, std::span<const unsigned char> digest,
                                    std::string_view signature);

} // namespace mailwarden::auth
