// See dkim_test_signer.hh.
#include "dkim_test_signer.hh"

#include "auth/dkim_key.hh"
#include "dns/zone_file.hh"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include <cstdint>
#include <ctime>
#include <memory>
#include <stdexcept>

namespace mailwarden::dkim_test {

namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
struct BioFree {
    void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
struct LibClose {
    void operator()(DKIM_LIB* library) const noexcept { dkim_close(library); }
};
struct DkimFree {
    void operator()(DKIM* handle) const noexcept { dkim_free(handle); }
};

void require(bool condition, const std::string& what) {
    if (!condition)
        throw std::runtime_error("dkim_test: " + what);
}

// libopendkim 2.11 (Debian 12) never frees the private key it loads for an ed25519
// signing handle; dkim_free() releases RSA keys only. Signing is test-only (mailwarden
// verifies), so the leak checker looks away while an ed25519 signature is made and
// stays on for everything else, the verifier included.
class Ed25519SigningLeakPause {
public:
    explicit Ed25519SigningLeakPause(dkim_alg_t algorithm)
        : active_(algorithm == DKIM_SIGN_ED25519SHA256) {
#if defined(__SANITIZE_ADDRESS__)
        if (active_)
            __lsan_disable();
#endif
    }
    ~Ed25519SigningLeakPause() {
#if defined(__SANITIZE_ADDRESS__)
        if (active_)
            __lsan_enable();
#endif
    }
    Ed25519SigningLeakPause(const Ed25519SigningLeakPause&) = delete;
    Ed25519SigningLeakPause& operator=(const Ed25519SigningLeakPause&) = delete;

private:
    bool active_;
};

const unsigned char* bytes(const std::string& text) {
    return reinterpret_cast<const unsigned char*>(text.c_str());
}

} // namespace

TestKey make_key(const char* type, std::size_t rsa_bits) {
    std::unique_ptr<EVP_PKEY, PkeyFree> key(
        rsa_bits != 0 ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, rsa_bits)
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, type));
    require(key != nullptr, "key generation failed");
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    require(PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) ==
                1,
            "PEM_write_bio_PrivateKey failed");
    char* pem = nullptr;
    const long pem_length = BIO_get_mem_data(bio.get(), &pem);
    TestKey result{std::string(pem, static_cast<std::size_t>(pem_length)), ""};
    std::string public_raw;
    if (rsa_bits != 0) { // RSA: SubjectPublicKeyInfo DER (RFC 6376 §3.6.1)
        const int length = i2d_PUBKEY(key.get(), nullptr);
        public_raw.resize(static_cast<std::size_t>(length));
        auto* cursor = reinterpret_cast<unsigned char*>(public_raw.data());
        i2d_PUBKEY(key.get(), &cursor);
    } else { // Ed25519: the raw 32-byte key (RFC 8463 §4)
        std::size_t length = 32;
        public_raw.resize(length);
        EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(public_raw.data()),
                                    &length);
    }
    result.public_base64 = auth::encode_base64(public_raw);
    return result;
}

const TestKey& rsa_2048() {
    static const TestKey key = make_key("RSA", 2048);
    return key;
}

std::string txt_line(const std::string& owner, const std::string& text) {
    return dns::zone_txt_line(owner, text);
}

Message sample_message(const std::string& from) {
    return {{{"From", " " + from},
             {"To", " bob@example.net"},
             {"Subject", " quarterly report"},
             {"Date", " Sun, 22 Nov 2026 10:00:00 +0000"},
             {"Message-ID", " <1@example.test>"}},
            "Hello Bob,\r\n\r\nthe numbers are in.\r\n-- \r\nAlice\r\n"};
}

void sign(Message& message, const SignSpec& spec) {
    const Ed25519SigningLeakPause pause(spec.algorithm);
    std::unique_ptr<DKIM_LIB, LibClose> library(dkim_init(nullptr, nullptr));
    require(library != nullptr, "dkim_init failed");
    if (spec.length_tag) {
        std::uint32_t flags = DKIM_LIBFLAGS_SIGNLEN;
        dkim_options(library.get(), DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags);
    }
    DKIM_STAT status = DKIM_STAT_OK;
    std::unique_ptr<DKIM, DkimFree> signer(dkim_sign(
        library.get(), bytes("test"), nullptr,
        const_cast<unsigned char*>(bytes(spec.key->private_pem)), bytes(spec.selector),
        bytes(spec.domain), DKIM_CANON_RELAXED, spec.body_canon, spec.algorithm, -1, &status));
    require(signer != nullptr, "dkim_sign status " + std::to_string(status));
    dkim_set_margin(signer.get(), 0); // one line: no folding to reproduce
    for (const auto& [name, value] : message.headers) {
        std::string line = name + ":" + value;
        require(dkim_header(signer.get(), reinterpret_cast<unsigned char*>(line.data()),
                            line.size()) == DKIM_STAT_OK,
                "dkim_header");
    }
    require(dkim_eoh(signer.get()) == DKIM_STAT_OK, "dkim_eoh");
    require(dkim_body(signer.get(), reinterpret_cast<unsigned char*>(message.body.data()),
                      message.body.size()) == DKIM_STAT_OK,
            "dkim_body");
    require(dkim_eom(signer.get(), nullptr) == DKIM_STAT_OK, "dkim_eom");
    unsigned char* value = nullptr;
    std::size_t length = 0;
    const std::string header_name = DKIM_SIGNHEADER;
    require(dkim_getsighdr_d(signer.get(), header_name.size() + 2, &value, &length) == DKIM_STAT_OK,
            "dkim_getsighdr_d");
    message.headers.insert(
        message.headers.begin(),
        {header_name, " " + std::string(reinterpret_cast<char*>(value), length)});
}

auth::DkimSignResult sign_with_ours(Message& message, const auth::DkimSignOptions& options,
                                    const std::vector<auth::DkimSigningKey>& keys,
                                    std::size_t chunk) {
    auth::DkimSigningSession session(options);
    for (const auto& [name, value] : message.headers)
        session.header(name, value);
    for (std::size_t at = 0; at < message.body.size(); at += chunk)
        session.body(std::string_view(message.body).substr(at, chunk));
    auto result = session.sign(keys, static_cast<std::uint64_t>(std::time(nullptr)));
    for (const auto& signature : result.signatures)
        message.headers.insert(message.headers.begin(),
                               {std::string(auth::dkim_signature_field), " " + signature.value});
    return result;
}

std::string to_text(const Message& message) {
    std::string text;
    for (const auto& [name, value] : message.headers)
        text += name + ":" + value + "\r\n";
    return text + "\r\n" + message.body;
}

} // namespace mailwarden::dkim_test
