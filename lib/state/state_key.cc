// See store.hh, state_key().
#include "state/store.hh"

#include "util/digest.hh"

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
    std::string key(kind_name(kind));
    key += ':';
    for (const char c : name.substr(0, 32))
        key += (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ? c : '_';
    key += ':';
    key += util::hex_digest(util::DigestKind::sha256, raw, 16);
    return key;
}

} // namespace mailwarden::state
