// Unit tests of DKIM signing keys (lib/auth/dkim_private_key): PEM forms accepted, algorithms
// and sizes refused, key files an admin can trust (mode, owner, directory), signatures that
// OpenSSL verifies, published records compared with the key.
#include "auth/dkim_key.hh"
#include "auth/dkim_private_key.hh"
#include "signing_keys.hh"

#include <boost/test/unit_test.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <array>
#include <memory>
#include <pwd.h>

using namespace mailwarden;
using auth::DkimKeyType;
using auth::DkimPrivateKey;
using auth::PublishedKey;
using signing_test::TempDir;
using signing_test::write_file;

namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* key) const noexcept { EVP_PKEY_free(key); }
};
struct BioFree {
    void operator()(BIO* bio) const noexcept { BIO_free(bio); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

Pkey pkey_of(const std::string& pem) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    return Pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

std::string pem_of(EVP_PKEY* key, bool traditional = false, bool encrypted = false) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    static char passphrase[] = "secret";
    const int written =
        traditional ? PEM_write_bio_PrivateKey_traditional(bio.get(), key, nullptr, nullptr, 0,
                                                           nullptr, nullptr)
                    : PEM_write_bio_PrivateKey(
                          bio.get(), key, encrypted ? EVP_aes_128_cbc() : nullptr,
                          encrypted ? reinterpret_cast<unsigned char*>(passphrase) : nullptr,
                          encrypted ? 6 : 0, nullptr, nullptr);
    BOOST_REQUIRE(written == 1);
    char* data = nullptr;
    const long length = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(length));
}

std::string error_of(std::string_view pem) {
    std::string error;
    BOOST_TEST(!DkimPrivateKey::from_pem(pem, "test.key", &error));
    BOOST_TEST_MESSAGE(error);
    return error;
}

std::string load_error(const std::string& path, uid_t owner = ::geteuid()) {
    std::string error;
    BOOST_TEST(!DkimPrivateKey::load(path, owner, &error));
    BOOST_TEST_MESSAGE(error);
    return error;
}

const std::array<unsigned char, 32> digest = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10,
                                              11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
                                              21, 22, 23, 24, 25, 26, 27, 28};

bool verifies_with_public_key(const DkimPrivateKey& key, const std::string& signature) {
    const std::string der = *auth::decode_base64(key.public_key());
    const auto* bytes = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context(EVP_MD_CTX_new(),
                                                                    EVP_MD_CTX_free);
    const auto* signed_bytes = reinterpret_cast<const unsigned char*>(signature.data());
    if (key.type() == DkimKeyType::ed25519) {
        Pkey public_key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes, der.size()));
        return EVP_DigestVerifyInit(context.get(), nullptr, nullptr, nullptr, public_key.get()) ==
                   1 &&
               EVP_DigestVerify(context.get(), signed_bytes, signature.size(), digest.data(),
                                digest.size()) == 1;
    }
    Pkey public_key(d2i_PUBKEY(nullptr, &bytes, static_cast<long>(der.size())));
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> verify(
        EVP_PKEY_CTX_new(public_key.get(), nullptr), EVP_PKEY_CTX_free);
    return EVP_PKEY_verify_init(verify.get()) == 1 &&
           EVP_PKEY_CTX_set_signature_md(verify.get(), EVP_sha256()) == 1 &&
           EVP_PKEY_verify(verify.get(), signed_bytes, signature.size(), digest.data(),
                           digest.size()) == 1;
}

} // namespace

BOOST_AUTO_TEST_SUITE(dkim_private_key)

BOOST_AUTO_TEST_CASE(generated_keys_sign_what_their_public_key_verifies) {
    for (const auto* key : {&signing_test::rsa_key(), &signing_test::ed25519_key()}) {
        const auto signature = key->sign_digest(digest);
        BOOST_REQUIRE(signature);
        BOOST_TEST(signature->size() == (key->type() == DkimKeyType::rsa ? 256U : 64U));
        BOOST_TEST(verifies_with_public_key(*key, *signature));
    }
    BOOST_TEST(signing_test::rsa_key().bits() == 2048U);
    BOOST_TEST(signing_test::ed25519_key().bits() == 256U);
    BOOST_TEST(signing_test::ed25519_key().algorithm() == "ed25519-sha256");
    // RFC 8463 §4: the raw 32-byte key, 44 base64 characters.
    BOOST_TEST(signing_test::ed25519_key().public_key().size() == 44U);
    BOOST_TEST(signing_test::ed25519_key().key_record().starts_with("v=DKIM1; k=ed25519; p="));
    BOOST_TEST(signing_test::rsa_key().key_record().starts_with("v=DKIM1; k=rsa; p=MII"));
}

BOOST_AUTO_TEST_CASE(pkcs8_and_pkcs1_pem_keys_load) {
    const auto& rsa = signing_test::rsa_key();
    const auto pkcs8 = DkimPrivateKey::from_pem(rsa.pem(), "rsa.key", nullptr);
    BOOST_REQUIRE(pkcs8);
    BOOST_TEST(pkcs8->public_key() == rsa.public_key());
    const std::string pkcs1 = pem_of(pkey_of(rsa.pem()).get(), true);
    BOOST_TEST(pkcs1.starts_with("-----BEGIN RSA PRIVATE KEY-----")); // opendkim-genkey's form
    const auto traditional = DkimPrivateKey::from_pem(pkcs1, "rsa.key", nullptr);
    BOOST_REQUIRE(traditional);
    BOOST_TEST(traditional->public_key() == rsa.public_key());
    const auto ed25519 =
        DkimPrivateKey::from_pem(signing_test::ed25519_key().pem(), "ed.key", nullptr);
    BOOST_REQUIRE(ed25519);
    BOOST_TEST((ed25519->type() == DkimKeyType::ed25519));
    BOOST_TEST(ed25519->public_key() == signing_test::ed25519_key().public_key());
}

BOOST_AUTO_TEST_CASE(small_rsa_keys_other_algorithms_and_encrypted_keys_are_refused) {
    Pkey rsa1024(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", std::size_t{1024}));
    BOOST_TEST(error_of(pem_of(rsa1024.get())).find("1024 bits; use 2048 to 4096") !=
               std::string::npos);
    Pkey ec(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    BOOST_TEST(error_of(pem_of(ec.get())).find("RSA or Ed25519 keys only") != std::string::npos);
    const std::string encrypted =
        pem_of(pkey_of(signing_test::ed25519_key().pem()).get(), false, true);
    BOOST_TEST(error_of(encrypted).find("encrypted") != std::string::npos);
    BOOST_TEST(error_of("").find("not a PEM private key") != std::string::npos);
    BOOST_TEST(error_of("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
                   .find("not a PEM private key") != std::string::npos);
    BOOST_CHECK_THROW(DkimPrivateKey::generate(DkimKeyType::rsa, 1024), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(a_key_file_readable_by_group_or_others_is_refused) {
    TempDir dir;
    const std::string pem = signing_test::ed25519_key().pem();
    for (const mode_t mode : {0640, 0604, 0660, 0620, 0610, 0644}) {
        const auto path = write_file(dir.file("k.key"), pem, mode);
        BOOST_TEST(load_error(path).find("chmod 0600") != std::string::npos);
    }
    for (const mode_t mode : {0600, 0400}) {
        const auto path = write_file(dir.file("k.key"), pem, mode);
        std::string error;
        const auto key = DkimPrivateKey::load(path, ::geteuid(), &error);
        BOOST_TEST(key.has_value(), error);
    }
}

BOOST_AUTO_TEST_CASE(a_key_file_of_another_owner_is_refused) {
    TempDir dir;
    const auto path = write_file(dir.file("k.key"), signing_test::ed25519_key().pem(), 0600);
    const uid_t someone_else = ::geteuid() + 4242;
    const auto error = load_error(path, someone_else);
    BOOST_TEST(error.find("not to the user the daemons run as") != std::string::npos);
    BOOST_TEST(error.find("chown") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_key_in_a_directory_others_can_write_is_refused) {
    TempDir dir;
    const auto path = write_file(dir.file("k.key"), signing_test::ed25519_key().pem(), 0600);
    BOOST_REQUIRE(::chmod(dir.path().c_str(), 0770) == 0);
    BOOST_TEST(load_error(path).find("is writable by group or others") != std::string::npos);
    BOOST_REQUIRE(::chmod(dir.path().c_str(), 01777) == 0); // sticky, like /tmp: safe
    BOOST_TEST(DkimPrivateKey::load(path, ::geteuid(), nullptr).has_value());
    BOOST_REQUIRE(::chmod(dir.path().c_str(), 0700) == 0);
}

// The daemons read their keys again on reload, after dropping root: a key they could read
// only as root is refused when it is loaded, not at the first reload.
BOOST_AUTO_TEST_CASE(a_key_the_daemon_user_cannot_reach_is_refused) {
    const passwd* nobody = ::getpwnam("nobody");
    if (::geteuid() != 0 || nobody == nullptr) {
        BOOST_TEST_MESSAGE("skipped: needs root and a user nobody to give the key to");
        return;
    }
    TempDir dir;
    const auto path =
        write_file(dir.file("k.key"), signing_test::ed25519_key().pem(), 0600, nobody->pw_uid);
    BOOST_REQUIRE(::chmod(dir.path().c_str(), 0700) == 0);
    BOOST_TEST(load_error(path, nobody->pw_uid).find("cannot reach it") != std::string::npos);
    BOOST_REQUIRE(::chmod(dir.path().c_str(), 0711) == 0);
    std::string error;
    BOOST_TEST(DkimPrivateKey::load(path, nobody->pw_uid, &error).has_value(), error);
    // Owned by root, the user the daemons run as could not read it after the drop.
    const auto root_owned =
        write_file(dir.file("root.key"), signing_test::ed25519_key().pem(), 0600);
    BOOST_TEST(load_error(root_owned, nobody->pw_uid).find("chown nobody") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(missing_special_and_oversized_key_files_are_refused) {
    TempDir dir;
    BOOST_TEST(load_error(dir.file("absent.key")).find("cannot open") != std::string::npos);
    BOOST_TEST(load_error(dir.path().string()).find("not a regular file") != std::string::npos);
    const auto fifo = dir.file("fifo.key");
    BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    BOOST_TEST(load_error(fifo).find("not a regular file") != std::string::npos);
    const auto big = write_file(dir.file("big.key"), std::string(70000, 'A'), 0600);
    BOOST_TEST(load_error(big).find("too large") != std::string::npos);
    const auto garbage = write_file(dir.file("garbage.key"), "not a key\n", 0600);
    BOOST_TEST(load_error(garbage).find("not a PEM private key") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_published_record_is_compared_with_the_key) {
    const auto& rsa = signing_test::rsa_key();
    const auto& ed = signing_test::ed25519_key();
    const auto other = DkimPrivateKey::generate(DkimKeyType::ed25519);
    const std::vector<std::tuple<const DkimPrivateKey*, std::string, PublishedKey>> cases = {
        {&rsa, rsa.key_record(), PublishedKey::matches},
        {&rsa, "p=" + rsa.public_key(), PublishedKey::matches}, // k= defaults to rsa
        {&rsa, "v=DKIM1; h=sha256; s=email; t=y; p=" + rsa.public_key(), PublishedKey::matches},
        {&ed, ed.key_record(), PublishedKey::matches},
        {&ed, "v=DKIM1; k=ed25519; p=" + other.public_key(), PublishedKey::differs},
        {&ed, "v=DKIM1; k=rsa; p=" + ed.public_key(), PublishedKey::wrong_type},
        {&rsa, "v=DKIM1; k=ed25519; p=" + ed.public_key(), PublishedKey::wrong_type},
        {&rsa, "v=DKIM1; k=rsa; p=", PublishedKey::revoked},
        {&rsa, "v=DKIM1; h=sha1; p=" + rsa.public_key(), PublishedKey::not_for_email},
        {&rsa, "v=DKIM1; s=tlsrpt; p=" + rsa.public_key(), PublishedKey::not_for_email},
        {&rsa, "v=DKIM2; p=" + rsa.public_key(), PublishedKey::malformed},
        {&rsa, "v=DKIM1; p=" + ed.public_key(), PublishedKey::malformed},
        {&ed, "v=DKIM1; k=ed25519; p=" + rsa.public_key(), PublishedKey::malformed},
        {&rsa, "v=DKIM1; k=rsa", PublishedKey::malformed},
        {&rsa, "garbage", PublishedKey::malformed},
    };
    for (const auto& [key, record, expected] : cases)
        BOOST_TEST((key->compare_with_record(record) == expected), record);
}

BOOST_AUTO_TEST_CASE(a_key_that_cannot_sign_gives_no_signature) {
    for (const auto type : {DkimKeyType::rsa, DkimKeyType::ed25519})
        BOOST_TEST(!DkimPrivateKey::unusable_for_tests(type).sign_digest(digest));
}

BOOST_AUTO_TEST_SUITE_END()
