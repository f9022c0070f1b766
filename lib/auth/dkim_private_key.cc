// See dkim_private_key.hh.
#include "auth/dkim_private_key.hh"

#include "auth/dkim_key.hh"
#include "auth/openssl_ptr.hh"
#include "util/ascii.hh"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <grp.h>
#include <pwd.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace mailwarden::auth {

namespace {

std::shared_ptr<evp_pkey_st> shared_key(EVP_PKEY* key) {
    return {key, EvpPkeyFree{}};
}

// Never asks for a passphrase: an encrypted key cannot be used by a daemon.
int no_passphrase(char* /*buffer*/, int /*size*/, int /*rwflag*/, void* /*data*/) {
    return -1;
}

std::string octal_mode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

std::string user_text(uid_t uid) {
    const passwd* entry = ::getpwuid(uid);
    const std::string id = "uid " + std::to_string(uid);
    return entry != nullptr ? std::string(entry->pw_name) + " (" + id + ")" : id;
}

std::string user_name(uid_t uid) {
    const passwd* entry = ::getpwuid(uid);
    return entry != nullptr ? entry->pw_name : std::to_string(uid);
}

bool fail(std::string* error, std::string text) {
    if (error != nullptr)
        *error = std::move(text);
    return false;
}

bool in_groups_of(uid_t uid, gid_t group) {
    const passwd* entry = ::getpwuid(uid);
    if (entry == nullptr)
        return false;
    if (entry->pw_gid == group)
        return true;
    int count = 0;
    ::getgrouplist(entry->pw_name, entry->pw_gid, nullptr, &count);
    std::vector<gid_t> groups(static_cast<std::size_t>(std::max(count, 1)));
    if (::getgrouplist(entry->pw_name, entry->pw_gid, groups.data(), &count) < 0)
        return false;
    return std::find(groups.begin(), groups.begin() + count, group) != groups.begin() + count;
}

bool searchable_by(const struct stat& status, uid_t uid) {
    if (uid == 0)
        return true;
    if (status.st_uid == uid)
        return (status.st_mode & S_IXUSR) != 0;
    if (in_groups_of(uid, status.st_gid))
        return (status.st_mode & S_IXGRP) != 0;
    return (status.st_mode & S_IXOTH) != 0;
}

// Every directory above the key: nobody but root and owner_uid may replace what it holds
// (a sticky directory, like /tmp, protects its entries), and owner_uid must be able to pass
// through it, because the daemons read the key again on reload, after the privilege drop.
bool safe_directories(const std::string& path, uid_t owner_uid, std::string* error) {
    std::error_code ignored;
    auto directory = std::filesystem::absolute(path, ignored).parent_path();
    while (true) {
        const std::string name = directory.string();
        struct stat status {};
        if (::stat(name.c_str(), &status) != 0)
            return fail(error, name + ": " + std::strerror(errno));
        if ((status.st_mode & (S_IWGRP | S_IWOTH)) != 0 && (status.st_mode & S_ISVTX) == 0)
            return fail(error, path + ": the directory " + name +
                                   " is writable by group or others (mode " +
                                   octal_mode(status.st_mode) + "); chmod go-w " + name);
        if (status.st_uid != 0 && status.st_uid != owner_uid)
            return fail(error, path + ": the directory " + name + " belongs to " +
                                   user_text(status.st_uid) + ", neither root nor " +
                                   user_text(owner_uid));
        if (!searchable_by(status, owner_uid))
            return fail(error, path + ": the daemons, running as " + user_text(owner_uid) +
                                   ", cannot reach it: " + name + " (mode " +
                                   octal_mode(status.st_mode) + ") is closed to them");
        if (!directory.has_relative_path())
            return true;
        directory = directory.parent_path();
    }
}

// The whole file, when it is a regular file that only owner_uid can read or write.
std::optional<std::string> read_key_file(const std::string& path, uid_t owner_uid,
                                         std::string* error) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        fail(error, path + ": cannot open: " + std::strerror(errno));
        return std::nullopt;
    }
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat status {};
    if (::fstat(fd, &status) != 0 || !S_ISREG(status.st_mode)) {
        fail(error, path + ": not a regular file");
        return std::nullopt;
    }
    if (status.st_uid != owner_uid) {
        fail(error, path + ": belongs to " + user_text(status.st_uid) +
                        ", not to the user the daemons run as, " + user_text(owner_uid) +
                        " (they read it again on every reload); chown " + user_name(owner_uid) +
                        " " + path);
        return std::nullopt;
    }
    if ((status.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
        fail(error, path +
                        ": a private key must be readable by its owner only, and this one "
                        "is open to group or others (mode " +
                        octal_mode(status.st_mode) + "); chmod 0600 " + path);
        return std::nullopt;
    }
    if (status.st_size > static_cast<off_t>(max_key_file_bytes)) {
        fail(error,
             path + ": too large for a key file (" + std::to_string(status.st_size) + " bytes)");
        return std::nullopt;
    }
    if (!safe_directories(path, owner_uid, error))
        return std::nullopt;
    std::string text(static_cast<std::size_t>(status.st_size), '\0');
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t got = ::read(fd, text.data() + done, text.size() - done);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0) {
            fail(error, path + ": cannot read: " +
                            (got < 0 ? std::strerror(errno) : "file shrank while read"));
            return std::nullopt;
        }
        done += static_cast<std::size_t>(got);
    }
    return text;
}

std::string public_key_of(EVP_PKEY* key, DkimKeyType type) {
    if (type == DkimKeyType::ed25519) {
        std::array<unsigned char, 32> raw{};
        std::size_t length = raw.size();
        if (EVP_PKEY_get_raw_public_key(key, raw.data(), &length) != 1 || length != raw.size())
            return "";
        return encode_base64({reinterpret_cast<const char*>(raw.data()), raw.size()});
    }
    unsigned char* der = nullptr;
    const int length = i2d_PUBKEY(key, &der);
    if (length <= 0)
        return "";
    std::string encoded = encode_base64({reinterpret_cast<const char*>(der), std::size_t(length)});
    OPENSSL_free(der);
    return encoded;
}

std::optional<std::string> rsa_sign(EVP_PKEY* key, std::span<const unsigned char> digest) {
    EVP_PKEY_CTX* context = rsa_sha256_context(key, RsaOperation::sign);
    std::string signature(static_cast<std::size_t>(std::max(0, EVP_PKEY_get_size(key))), '\0');
    std::size_t length = signature.size();
    if (context == nullptr || signature.empty() ||
        EVP_PKEY_sign(context, reinterpret_cast<unsigned char*>(signature.data()), &length,
                      digest.data(), digest.size()) != 1)
        return std::nullopt;
    signature.resize(length);
    return signature;
}

std::optional<std::string> ed25519_sign(EVP_PKEY* key, std::span<const unsigned char> digest) {
    MdContext context(EVP_MD_CTX_new());
    std::string signature(64, '\0');
    std::size_t length = signature.size();
    if (!context || EVP_DigestSignInit(context.get(), nullptr, nullptr, nullptr, key) != 1 ||
        EVP_DigestSign(context.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                       digest.data(), digest.size()) != 1)
        return std::nullopt;
    signature.resize(length);
    return signature;
}

bool verifies(EVP_PKEY* key, DkimKeyType type, std::span<const unsigned char> digest,
              const std::string& signature) {
    const auto* bytes = reinterpret_cast<const unsigned char*>(signature.data());
    if (type == DkimKeyType::ed25519)
        return verify_ed25519_sha256(key, digest, signature) == VerifyOutcome::pass;
    PkeyContext context(EVP_PKEY_CTX_new(key, nullptr));
    return context && EVP_PKEY_verify_init(context.get()) == 1 &&
           EVP_PKEY_CTX_set_rsa_padding(context.get(), RSA_PKCS1_PADDING) == 1 &&
           EVP_PKEY_CTX_set_signature_md(context.get(), EVP_sha256()) == 1 &&
           EVP_PKEY_verify(context.get(), bytes, signature.size(), digest.data(), digest.size()) ==
               1;
}

bool rsa_key_consistent(EVP_PKEY* key) {
    PkeyContext context(EVP_PKEY_CTX_new(key, nullptr));
    return context && EVP_PKEY_check(context.get()) == 1;
}

} // namespace

std::string_view key_type_name(DkimKeyType type) {
    return type == DkimKeyType::ed25519 ? "ed25519" : "rsa";
}

std::string_view signing_algorithm(DkimKeyType type) {
    return type == DkimKeyType::ed25519 ? "ed25519-sha256" : "rsa-sha256";
}

std::optional<DkimKeyType> key_type_from_name(std::string_view name) {
    if (util::equal_ignoring_ascii_case(name, "rsa"))
        return DkimKeyType::rsa;
    if (util::equal_ignoring_ascii_case(name, "ed25519"))
        return DkimKeyType::ed25519;
    return std::nullopt;
}

std::string_view published_key_text(PublishedKey comparison) {
    switch (comparison) {
    case PublishedKey::matches:
        return "matches";
    case PublishedKey::differs:
        return "another public key is published";
    case PublishedKey::revoked:
        return "revoked (empty p=)";
    case PublishedKey::wrong_type:
        return "published for the other algorithm (k=)";
    case PublishedKey::not_for_email:
        return "not usable for email signatures (s= or h=)";
    case PublishedKey::malformed:
        return "malformed key record";
    }
    return "malformed key record";
}

DkimPrivateKey::DkimPrivateKey(std::shared_ptr<evp_pkey_st> key, DkimKeyType type, unsigned bits)
    : key_(std::move(key)), type_(type), bits_(bits), public_key_(public_key_of(key_.get(), type)) {
}

std::optional<DkimPrivateKey>
DkimPrivateKey::from_pem(std::string_view pem, std::string_view source, std::string* error) {
    const std::string name(source);
    if (pem.find("ENCRYPTED") != std::string_view::npos) {
        fail(error, name + ": the key is encrypted; the daemons cannot ask for a passphrase");
        return std::nullopt;
    }
    Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    EVP_PKEY* loaded =
        bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr;
    ERR_clear_error();
    if (loaded == nullptr) {
        fail(error, name + ": not a PEM private key (PKCS#1 RSA or PKCS#8 RSA/Ed25519)");
        return std::nullopt;
    }
    auto key = shared_key(loaded);
    std::optional<DkimKeyType> type;
    if (EVP_PKEY_is_a(loaded, "RSA"))
        type = DkimKeyType::rsa;
    else if (EVP_PKEY_is_a(loaded, "ED25519"))
        type = DkimKeyType::ed25519;
    if (!type) {
        fail(error, name + ": a " + std::string(EVP_PKEY_get0_type_name(loaded)) +
                        " key; DKIM signs with RSA or Ed25519 keys only");
        return std::nullopt;
    }
    const auto bits = static_cast<unsigned>(std::max(0, EVP_PKEY_get_bits(loaded)));
    if (*type == DkimKeyType::rsa && (bits < min_signing_rsa_bits || bits > max_signing_rsa_bits)) {
        fail(error, name + ": an RSA key of " + std::to_string(bits) + " bits; use " +
                        std::to_string(min_signing_rsa_bits) + " to " +
                        std::to_string(max_signing_rsa_bits) + " bits (RFC 8301)");
        return std::nullopt;
    }
    DkimPrivateKey result(std::move(key), *type, *type == DkimKeyType::rsa ? bits : 256);
    const bool consistent = *type == DkimKeyType::ed25519 || rsa_key_consistent(loaded);
    if (!consistent || result.public_key_.empty() || !result.self_test()) {
        ERR_clear_error();
        fail(error, name + ": the key is inconsistent or cannot sign");
        return std::nullopt;
    }
    return result;
}

std::optional<DkimPrivateKey> DkimPrivateKey::load(const std::string& path, uid_t owner_uid,
                                                   std::string* error) {
    const auto text = read_key_file(path, owner_uid, error);
    if (!text)
        return std::nullopt;
    auto key = from_pem(*text, path, error);
    OPENSSL_cleanse(const_cast<char*>(text->data()), text->size());
    return key;
}

DkimPrivateKey DkimPrivateKey::generate(DkimKeyType type, unsigned rsa_bits) {
    if (type == DkimKeyType::rsa &&
        (rsa_bits < min_signing_rsa_bits || rsa_bits > max_signing_rsa_bits))
        throw std::runtime_error("RSA keys have " + std::to_string(min_signing_rsa_bits) + " to " +
                                 std::to_string(max_signing_rsa_bits) + " bits");
    EVP_PKEY* made = type == DkimKeyType::rsa
                         ? EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{rsa_bits})
                         : EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (made == nullptr) {
        ERR_clear_error();
        throw std::runtime_error("OpenSSL could not generate the key");
    }
    DkimPrivateKey key(shared_key(made), type, type == DkimKeyType::rsa ? rsa_bits : 256);
    if (key.public_key_.empty() || !key.self_test())
        throw std::runtime_error("OpenSSL generated a key that cannot sign");
    return key;
}

std::string DkimPrivateKey::key_record() const {
    return "v=DKIM1; k=" + std::string(key_type_name(type_)) + "; p=" + public_key_;
}

std::string DkimPrivateKey::pem() const {
    Bio bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        throw std::runtime_error("OpenSSL could not write the key");
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return {data, static_cast<std::size_t>(std::max(0L, length))};
}

std::optional<std::string>
DkimPrivateKey::sign_digest(std::span<const unsigned char> digest) const {
    auto signature = type_ == DkimKeyType::ed25519 ? ed25519_sign(key_.get(), digest)
                                                   : rsa_sign(key_.get(), digest);
    if (!signature)
        ERR_clear_error();
    return signature;
}

bool DkimPrivateKey::self_test() const {
    std::array<unsigned char, 32> digest{};
    for (std::size_t at = 0; at < digest.size(); ++at)
        digest[at] = static_cast<unsigned char>(at * 7 + 1);
    const auto signature = sign_digest(digest);
    return signature && verifies(key_.get(), type_, digest, *signature);
}

PublishedKey DkimPrivateKey::compare_with_record(std::string_view record) const {
    const auto tags = parse_tag_list(record);
    if (!tags)
        return PublishedKey::malformed;
    const auto tag = [&tags](const char* name) -> const std::string* {
        const auto found = tags->find(name);
        return found == tags->end() ? nullptr : &found->second;
    };
    if (const auto* version = tag("v"); version != nullptr && *version != "DKIM1")
        return PublishedKey::malformed;
    const auto* kind = tag("k");
    const auto published_type =
        kind == nullptr ? std::optional(DkimKeyType::rsa) : key_type_from_name(*kind);
    if (published_type != type_)
        return PublishedKey::wrong_type;
    if (const auto* hashes = tag("h");
        hashes != nullptr && hashes->find("sha256") == std::string::npos)
        return PublishedKey::not_for_email;
    if (const auto* services = tag("s"); services != nullptr &&
                                         services->find('*') == std::string::npos &&
                                         services->find("email") == std::string::npos)
        return PublishedKey::not_for_email;
    const auto* p = tag("p");
    if (p == nullptr)
        return PublishedKey::malformed;
    if (p->empty())
        return PublishedKey::revoked;
    const auto published = decode_base64(*p);
    if (!published)
        return PublishedKey::malformed;
    if (type_ == DkimKeyType::ed25519) {
        if (published->size() != 32)
            return PublishedKey::malformed;
        return encode_base64(*published) == public_key_ ? PublishedKey::matches
                                                        : PublishedKey::differs;
    }
    const auto* cursor = reinterpret_cast<const unsigned char*>(published->data());
    std::unique_ptr<EVP_PKEY, EvpPkeyFree> public_key(
        d2i_PUBKEY(nullptr, &cursor, static_cast<long>(published->size())));
    ERR_clear_error();
    if (!public_key || !EVP_PKEY_is_a(public_key.get(), "RSA"))
        return PublishedKey::malformed;
    return EVP_PKEY_eq(public_key.get(), key_.get()) == 1 ? PublishedKey::matches
                                                          : PublishedKey::differs;
}

DkimPrivateKey DkimPrivateKey::unusable_for_tests(DkimKeyType type) {
    const DkimPrivateKey whole = generate(type);
    const std::string der = *decode_base64(whole.public_key_);
    EVP_PKEY* public_only = nullptr;
    if (type == DkimKeyType::ed25519) {
        public_only = EVP_PKEY_new_raw_public_key(
            EVP_PKEY_ED25519, nullptr, reinterpret_cast<const unsigned char*>(der.data()),
            der.size());
    } else {
        const auto* cursor = reinterpret_cast<const unsigned char*>(der.data());
        public_only = d2i_PUBKEY(nullptr, &cursor, static_cast<long>(der.size()));
    }
    if (public_only == nullptr)
        throw std::runtime_error("OpenSSL could not make a public-only key");
    return DkimPrivateKey(shared_key(public_only), type, whole.bits_);
}

} // namespace mailwarden::auth
