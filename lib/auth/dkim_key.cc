// See dkim_key.hh.
#include "auth/dkim_key.hh"
#include "auth/openssl_ptr.hh"
#include "util/ascii.hh"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <vector>

namespace mailwarden::auth {

namespace {

bool is_fws(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string without_fws(std::string_view text) {
    std::string compact;
    compact.reserve(text.size());
    for (std::size_t at = 0; at < text.size();) { // runs appended whole: b= is ~350 bytes
        std::size_t end = at;
        while (end < text.size() && !is_fws(text[end]))
            ++end;
        compact.append(text.data() + at, end - at);
        at = end;
        while (at < text.size() && is_fws(text[at]))
            ++at;
    }
    return compact;
}

std::optional<std::string> decode_compact_base64(const std::string& compact) {
    if (compact.size() % 4 != 0)
        return std::nullopt;
    const std::size_t padding = compact.ends_with("==") ? 2 : compact.ends_with('=') ? 1 : 0;
    if (compact.find('=') < compact.size() - padding)
        return std::nullopt; // '=' only at the end
    std::string out(compact.size() / 4 * 3, '\0');
    const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                       reinterpret_cast<const unsigned char*>(compact.data()),
                                       static_cast<int>(compact.size()));
    if (length < 0)
        return std::nullopt;
    out.resize(static_cast<std::size_t>(length) - padding);
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && is_fws(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && is_fws(text.back()))
        text.remove_suffix(1);
    return text;
}

bool is_tag_name(std::string_view name) {
    if (name.empty() || !std::isalpha(static_cast<unsigned char>(name.front())))
        return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
}

// The colon-separated items of a tag value, each trimmed.
std::vector<std::string_view> items(std::string_view value) {
    std::vector<std::string_view> out;
    while (true) {
        const std::size_t colon = value.find(':');
        out.push_back(trim(value.substr(0, colon)));
        if (colon == std::string_view::npos)
            return out;
        value.remove_prefix(colon + 1);
    }
}

} // namespace

std::optional<std::map<std::string, std::string>> parse_tag_list(std::string_view text) {
    std::map<std::string, std::string> tags;
    while (!text.empty()) {
        const std::size_t semicolon = text.find(';');
        const std::string_view spec = trim(text.substr(0, semicolon));
        text.remove_prefix(semicolon == std::string_view::npos ? text.size() : semicolon + 1);
        if (spec.empty()) {
            if (!trim(text).empty())
                return std::nullopt; // only the last tag-spec may be empty
            break;
        }
        const std::size_t equals = spec.find('=');
        if (equals == std::string_view::npos)
            return std::nullopt;
        const std::string_view name = trim(spec.substr(0, equals));
        if (!is_tag_name(name) ||
            !tags.emplace(std::string(name), std::string(trim(spec.substr(equals + 1)))).second)
            return std::nullopt;
    }
    return tags;
}

std::optional<std::string> decode_base64(std::string_view text) {
    return decode_compact_base64(without_fws(text));
}

std::string encode_base64(std::string_view bytes) {
    std::string encoded(4 * ((bytes.size() + 2) / 3) + 1, '\0');
    const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                       reinterpret_cast<const unsigned char*>(bytes.data()),
                                       static_cast<int>(bytes.size()));
    encoded.resize(static_cast<std::size_t>(std::max(0, length)));
    return encoded;
}

std::optional<std::string> decode_canonical_base64(std::string_view text) {
    const std::string compact = without_fws(text);
    auto decoded = decode_compact_base64(compact);
    if (!decoded || compact != encode_base64(*decoded))
        return std::nullopt;
    return decoded;
}

namespace {

// The key data of a record that plainly allows a `type` ("rsa", "ed25519") signature with
// SHA-256 for email (see rsa_sha256_key_of); k= absent means rsa (RFC 6376 §3.6.1).
std::optional<std::string> sha256_key_of(std::string_view record, std::string_view type) {
    if (record.size() > max_key_record_bytes ||
        std::any_of(record.begin(), record.end(), [](char c) {
            const auto byte = static_cast<unsigned char>(c);
            return byte >= 0x7f || (byte < 0x20 && !is_fws(c));
        }))
        return std::nullopt;
    const auto tags = parse_tag_list(record);
    if (!tags)
        return std::nullopt;
    auto tag = [&tags](const char* name) -> const std::string* {
        const auto found = tags->find(name);
        return found == tags->end() ? nullptr : &found->second;
    };
    if (const auto* v = tag("v"); v != nullptr && *v != "DKIM1")
        return std::nullopt;
    if (const auto* k = tag("k"); k != nullptr ? *k != type : type != "rsa")
        return std::nullopt;
    if (const auto* h = tag("h")) {
        bool sha256 = false;
        for (const auto item : items(*h)) {
            if (item != "sha1" && item != "sha256")
                return std::nullopt;
            sha256 = sha256 || item == "sha256";
        }
        if (!sha256)
            return std::nullopt;
    }
    if (const auto* s = tag("s")) {
        const auto list = items(*s);
        if (std::none_of(list.begin(), list.end(), [](std::string_view item) {
                return item == "*" || util::equal_ignoring_ascii_case(item, "email");
            }))
            return std::nullopt;
    }
    if (const auto* t = tag("t")) {
        const auto flags = items(*t);
        if (std::any_of(flags.begin(), flags.end(), [](std::string_view f) { return f != "y"; }))
            return std::nullopt;
    }
    const auto* p = tag("p");
    if (p == nullptr)
        return std::nullopt;
    return decode_base64(*p); // empty for an empty p= (revoked)
}

} // namespace

std::optional<std::string> rsa_sha256_key_of(std::string_view record) {
    auto der = sha256_key_of(record, "rsa");
    if (!der || der->empty())
        return std::nullopt;
    return der;
}

std::optional<std::string> ed25519_key_of(std::string_view record) {
    auto raw = sha256_key_of(record, "ed25519");
    if (!raw || raw->size() != ed25519_public_key_bytes)
        return std::nullopt;
    return raw;
}

bool revoked_key_record(std::string_view record, std::string_view algorithm) {
    const auto data = sha256_key_of(record, algorithm == "ed25519-sha256" ? "ed25519" : "rsa");
    return data && data->empty();
}

void EvpPkeyFree::operator()(evp_pkey_st* key) const noexcept {
    EVP_PKEY_free(key);
}

PublicKey PublicKeyCache::rsa_key(const std::string& der) {
    {
        const std::lock_guard lock(mutex_);
        if (const auto found = keys_.find(der); found != keys_.end())
            return found->second;
    }
    // Decoded outside the lock: two threads may both decode a new key once.
    const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
    PublicKey key(d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size())), EvpPkeyFree{});
    if (!key || !EVP_PKEY_is_a(key.get(), "RSA") ||
        cursor != reinterpret_cast<const unsigned char*>(der.data()) + der.size())
        return nullptr;
    const std::lock_guard lock(mutex_);
    remember(keys_, der, key);
    return key;
}

PublicKey PublicKeyCache::rsa_key_of_record(const std::string& record) {
    return key_of_record(records_, record, [this](const std::string& text) -> PublicKey {
        const auto der = rsa_sha256_key_of(text);
        return der ? rsa_key(*der) : nullptr;
    });
}

PublicKey PublicKeyCache::ed25519_key_of_record(const std::string& record) {
    return key_of_record(ed25519_records_, record, [](const std::string& text) -> PublicKey {
        const auto raw = ed25519_key_of(text);
        if (!raw)
            return nullptr;
        return PublicKey(EVP_PKEY_new_raw_public_key(
                             EVP_PKEY_ED25519, nullptr,
                             reinterpret_cast<const unsigned char*>(raw->data()), raw->size()),
                         EvpPkeyFree{});
    });
}

PublicKey PublicKeyCache::key_of_record(std::map<std::string, PublicKey>& records,
                                        const std::string& record,
                                        const std::function<PublicKey(const std::string&)>& make) {
    {
        const std::lock_guard lock(mutex_);
        if (const auto found = records.find(record); found != records.end())
            return found->second;
    }
    PublicKey key = make(record);
    if (record.size() > max_key_record_bytes)
        return key; // never usable; not worth remembering by its (unbounded) text
    const std::lock_guard lock(mutex_);
    remember(records, record, key);
    return key;
}

void PublicKeyCache::remember(std::map<std::string, PublicKey>& map, const std::string& text,
                              const PublicKey& key) {
    if (map.size() >= capacity_)
        map.clear();
    map.emplace(text, key);
}

std::size_t PublicKeyCache::size() const {
    const std::lock_guard lock(mutex_);
    return keys_.size() + static_cast<std::size_t>(std::count_if(
                              ed25519_records_.begin(), ed25519_records_.end(),
                              [](const auto& entry) { return entry.second != nullptr; }));
}

unsigned key_bits(const PublicKey& key) {
    return key ? 8 * static_cast<unsigned>(std::max(0, EVP_PKEY_get_size(key.get()))) : 0;
}

// Setting up an EVP_PKEY_CTX costs ~3 us in OpenSSL 3.0 (provider lookups), a sixth of the
// RSA-2048 verify itself. A context is not to be shared between threads, so each thread keeps
// one ready context per key and operation (at most 64; the context holds a reference to its
// key, so a key pointer is never reused while it is a map key).
evp_pkey_ctx_st* rsa_sha256_context(evp_pkey_st* key, RsaOperation operation) {
    thread_local std::map<std::pair<const evp_pkey_st*, RsaOperation>, PkeyContext> contexts;
    if (const auto found = contexts.find({key, operation}); found != contexts.end())
        return found->second.get();
    PkeyContext context(EVP_PKEY_CTX_new(key, nullptr));
    if (!context ||
        (operation == RsaOperation::verify ? EVP_PKEY_verify_init(context.get())
                                           : EVP_PKEY_sign_init(context.get())) != 1 ||
        EVP_PKEY_CTX_set_rsa_padding(context.get(), RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(context.get(), EVP_sha256()) != 1)
        return nullptr;
    if (contexts.size() >= 64)
        contexts.clear();
    return contexts.emplace(std::pair(key, operation), std::move(context)).first->second.get();
}

VerifyOutcome verify_ed25519_sha256(evp_pkey_st* key, std::span<const unsigned char> digest,
                                    std::string_view signature) {
    if (key == nullptr)
        return VerifyOutcome::error;
    const MdContext context(EVP_MD_CTX_new());
    if (!context || EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, key) != 1) {
        ERR_clear_error();
        return VerifyOutcome::error;
    }
    // PureEdDSA over the SHA-256 digest (RFC 8463 §3); a b= of the wrong length is a bad
    // signature, as for RSA.
    const int verified =
        EVP_DigestVerify(context.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                         signature.size(), digest.data(), digest.size());
    ERR_clear_error();
    return verified == 1 ? VerifyOutcome::pass : VerifyOutcome::mismatch;
}

VerifyOutcome verify_rsa_sha256(const PublicKey& key, std::span<const unsigned char> digest,
                                std::string_view signature) {
    if (!key)
        return VerifyOutcome::error;
    EVP_PKEY_CTX* context = rsa_sha256_context(key.get(), RsaOperation::verify);
    if (context == nullptr) {
        ERR_clear_error();
        return VerifyOutcome::error;
    }
    // Any answer but 1 is a bad signature, as for libopendkim's RSA_verify (a b= of the
    // wrong length included).
    if (EVP_PKEY_verify(context, reinterpret_cast<const unsigned char*>(signature.data()),
                        signature.size(), digest.data(), digest.size()) == 1)
        return VerifyOutcome::pass;
    ERR_clear_error(); // libopendkim reads the queue into its own error texts
    return VerifyOutcome::mismatch;
}

} // namespace mailwarden::auth
