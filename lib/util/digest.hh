// Hex digests of a text, with OpenSSL: for the state store's keys (SHA-256) and the names
// Redis gives its scripts (SHA-1). Throws std::runtime_error when OpenSSL fails.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailwarden::util {

enum class DigestKind { sha1, sha256 };

// Lower-case hex of the first `bytes` bytes of the digest (the whole digest when it is shorter).
std::string hex_digest(DigestKind kind, std::string_view text, std::size_t bytes = 64);

} // namespace mailwarden::util
