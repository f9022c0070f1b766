// A DKIM signing key (RFC 6376 rsa-sha256, RFC 8463 ed25519-sha256) that an admin can trust:
// read from a PEM file only when the file is safe (a regular file owned by the user the
// daemons run as, with no permission for group or others, in a directory others cannot
// write), of a known algorithm and size (RSA 2048 to 4096 bits, Ed25519), consistent, and
// able to sign (one signature made and verified at load). Also what `mailwarden dkim
// keygen|testkey` need: generation, the PEM to write, the key record to publish, and the
// comparison of a published record with the private key.
//
// Failure is a value: loading gives std::nullopt and an error text naming the file and the
// fix; signing gives std::nullopt (OpenSSL failed; the caller applies on_sign_error).
// Immutable after loading; sign_digest() may be called from many threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <sys/types.h>

struct evp_pkey_st;

namespace mailwarden::auth {

enum class DkimKeyType { rsa, ed25519 };
std::string_view key_type_name(DkimKeyType type);     // "rsa", "ed25519" (k= of the record)
std::string_view signing_algorithm(DkimKeyType type); // "rsa-sha256", "ed25519-sha256" (a=)
std::optional<DkimKeyType> key_type_from_name(std::string_view name);

inline constexpr unsigned min_signing_rsa_bits = 2048; // RFC 8301 §3.2: signers SHOULD use 2048
inline constexpr unsigned max_signing_rsa_bits = 4096; // RFC 8301: verifiers MUST take up to 4096
inline constexpr std::size_t max_key_file_bytes = 64 * 1024;

// How a published key record (RFC 6376 §3.6.1) compares with a private key.
enum class PublishedKey {
    matches,       // usable for this key's signatures
    differs,       // another public key
    revoked,       // p= empty
    wrong_type,    // k= names the other algorithm
    not_for_email, // s= without email or *, or h= without sha256
    malformed      // not a tag list, v= not DKIM1, p= not a public key of the type
};
std::string_view published_key_text(PublishedKey comparison); // for the admin: "matches"...

class DkimPrivateKey {
public:
    // Unencrypted PEM: PKCS#1 ("RSA PRIVATE KEY", what opendkim-genkey writes) or PKCS#8
    // ("PRIVATE KEY": RSA or Ed25519). `source` names the key in error texts.
    static std::optional<DkimPrivateKey> from_pem(std::string_view pem, std::string_view source,
                                                  std::string* error);
    // The file at path, checked as the contract above says; owner_uid is who must own it.
    static std::optional<DkimPrivateKey> load(const std::string& path, uid_t owner_uid,
                                              std::string* error);
    // A new key (RSA: bits between the bounds above). Throws std::runtime_error when OpenSSL
    // fails or the bits are out of bounds.
    static DkimPrivateKey generate(DkimKeyType type, unsigned rsa_bits = 2048);

    DkimKeyType type() const { return type_; }
    unsigned bits() const { return bits_; } // RSA modulus bits; 256 for Ed25519
    std::string_view algorithm() const { return signing_algorithm(type_); }
    // The p= value: base64 of the SubjectPublicKeyInfo (RSA) or of the raw 32-byte public
    // key (Ed25519, RFC 8463 §4).
    const std::string& public_key() const { return public_key_; }
    // "v=DKIM1; k=rsa; p=..." as it is to be published.
    std::string key_record() const;
    // PKCS#8 PEM of the private key (for keygen).
    std::string pem() const;

    // The signature (raw bytes) of a SHA-256 header hash: RSASSA-PKCS1-v1_5 with SHA-256
    // (RFC 6376 §3.3.1), or PureEdDSA Ed25519 over the 32 hash bytes (RFC 8463 §3).
    // std::nullopt when OpenSSL fails.
    std::optional<std::string> sign_digest(std::span<const unsigned char> digest) const;

    PublishedKey compare_with_record(std::string_view record) const;

    // For tests: a key whose private half is missing, so that every signature fails (what a
    // key that breaks at signing time does). Not loadable from any file.
    static DkimPrivateKey unusable_for_tests(DkimKeyType type);

private:
    DkimPrivateKey(std::shared_ptr<evp_pkey_st> key, DkimKeyType type, unsigned bits);
    bool self_test() const;

    std::shared_ptr<evp_pkey_st> key_;
    DkimKeyType type_ = DkimKeyType::rsa;
    unsigned bits_ = 0;
    std::string public_key_;
};

} // namespace mailwarden::auth
