// See store.hh, state_key().
#include "state/store.hh"

#include <openssl/evp.h>

#include <stdexcept>

namespace mailwarden::state {

namespace {

std::string_view kind_name(KeyKind kind) {
    switch (kind) {
    case KeyKind::rate:
        return "rate";
    case KeyKind::reputation:
        return "rep";
    case KeyKind::greylist:
        return "grey";
    }
    return "other";
}

} // namespace

std::string state_key(KeyKind kind, std::string_view name, std::string_view raw) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(raw.data(), raw.size(), digest, &size, EVP_sha256(), nullptr) != 1)
        throw std::runtime_error("SHA-256 failed");
    static constexpr char hex[] = "0123456789abcdef";
    std::string key(kind_name(kind));
    key += ':';
    for (const char c : name.substr(0, 32))
        key += (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ? c : '_';
    key += ':';
    for (unsigned int i = 0; i < 16; ++i) {
        key += hex[digest[i] >> 4];
        key += hex[digest[i] & 15];
    }
    return key;
}

} // namespace mailwarden::state
