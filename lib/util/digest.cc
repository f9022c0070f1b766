// See digest.hh.
#include "util/digest.hh"

#include <openssl/evp.h>

#include <algorithm>
#include <memory>
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
    struct ContextFree {
        void operator()(EVP_MD_CTX* context) const noexcept { EVP_MD_CTX_free(context); }
    };
    // One context per thread, reused: EVP_Digest() allocates and frees one every call.
    thread_local const std::unique_ptr<EVP_MD_CTX, ContextFree> context(EVP_MD_CTX_new());
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (!context || EVP_DigestInit_ex2(context.get(), digest_method(kind), nullptr) != 1 ||
        EVP_DigestUpdate(context.get(), text.data(), text.size()) != 1 ||
        EVP_DigestFinal_ex(context.get(), digest, &size) != 1)
        throw std::runtime_error(kind == DigestKind::sha1 ? "SHA-1 failed" : "SHA-256 failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string text_form;
    text_form.reserve(2 * std::min<std::size_t>(size, bytes));
    for (std::size_t i = 0; i < std::min<std::size_t>(size, bytes); ++i) {
        text_form += hex[digest[i] >> 4];
        text_form += hex[digest[i] & 15];
    }
    return text_form;
}

} // namespace mailwarden::util
