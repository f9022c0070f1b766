// Owning pointers to OpenSSL objects, for the .cc files that use OpenSSL directly (headers
// elsewhere only name the opaque types).
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>

#include <memory>

namespace mailwarden::auth {

struct OpensslFree {
    void operator()(EVP_PKEY_CTX* context) const noexcept { EVP_PKEY_CTX_free(context); }
    void operator()(EVP_MD_CTX* context) const noexcept { EVP_MD_CTX_free(context); }
    void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
using PkeyContext = std::unique_ptr<EVP_PKEY_CTX, OpensslFree>;
using MdContext = std::unique_ptr<EVP_MD_CTX, OpensslFree>;
using Bio = std::unique_ptr<BIO, OpensslFree>;

} // namespace mailwarden::auth
