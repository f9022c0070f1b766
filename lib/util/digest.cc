// See digest.hh.
#include "util/digest.hh"

#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>

namespace mailwarden::util {

const evp_md_st* digest_method(DigestKind kind) {
    static const EVP_MD* const sha1 = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    static const EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (kind == DigestKind::sha1)
        return sha1 != nullptr ? sha1 : EVP_sha1();
    return sha256 != nullptr ? sha256 : EVP_sha256();
}

std::string hex_digest(DigestKind kind, std::string_view text, std::size_t bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    // A state key per rate limit per message: the implicit fetch of EVP_sha256() was 4% of
    // the policy server's time.
    const EVP_MD* method = digest_method(kind);
    if (EVP_Digest(text.data(), text.size(), digest, &size, method, nullptr) != 1)
        throw std::runtime_error(kind == DigestKind::sha1 ? "SHA-1 failed" : "SHA-256 failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string text_form;
    for (std::size_t i = 0; i < std::min<std::size_t>(size, bytes); ++i) {
        text_form += hex[digest[i] >> 4];
        text_form += hex[digest[i] & 15];
    }
    return text_form;
}

} // namespace mailwarden::util
