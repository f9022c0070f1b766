// See digest.hh.
#include "util/digest.hh"

#include <openssl/evp.h>

#include <algorithm>
#include <stdexcept>

namespace mailwarden::util {

std::string hex_digest(DigestKind kind, std::string_view text, std::size_t bytes) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    const EVP_MD* method = kind == DigestKind::sha1 ? EVP_sha1() : EVP_sha256();
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
