// Hex digests of a text, with OpenSSL: for the state store's keys (SHA-256) and the names
// Redis gives its scripts (SHA-1). Throws std::runtime_error when OpenSSL fails.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

struct evp_md_st;

namespace mailwarden::util {

enum class DigestKind { sha1, sha256 };

// The OpenSSL method, fetched from the provider once: EVP_sha256() and EVP_sha1() make every
// digest start look it up again (a lock and a table lookup in OpenSSL 3.0).
const evp_md_st* digest_method(DigestKind kind);

// Lower-case hex of the first `bytes` bytes of the digest (the whole digest when it is shorter).
// Thread-safe (a digest context per thread).
std::string hex_digest(DigestKind kind, std::string_view text, std::size_t bytes = 64);

} // namespace mailwarden::util
