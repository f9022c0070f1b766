// The pieces of the DKIM rsa-sha256 fast path (lib/auth/dkim_key): tag-lists, base64, which
// key records it takes (everything else goes to libopendkim), the key cache and the verify.
#include "auth/dkim_key.hh"
#include "dkim_test_signer.hh"

#include <boost/test/unit_test.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>

#include <vector>

using namespace mailwarden::auth;

namespace {

const std::string& rsa_public() {
    return mailwarden::dkim_test::rsa_2048().public_base64;
}

std::string der_of(const std::string& base64) {
    return decode_base64(base64).value();
}

// An rsa-sha256 signature of SHA-256(text) with the test key, and the digest.
std::pair<std::string, std::string> signed_digest(const std::string& text) {
    const std::string& pem = mailwarden::dkim_test::rsa_2048().private_pem;
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(
        BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), &BIO_free);
    std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
        PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
    std::string digest(SHA256_DIGEST_LENGTH, '\0');
    SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
           reinterpret_cast<unsigned char*>(digest.data()));
    std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> context(
        EVP_PKEY_CTX_new(key.get(), nullptr), &EVP_PKEY_CTX_free);
    std::size_t length = 0;
    EVP_PKEY_sign_init(context.get());
    EVP_PKEY_CTX_set_rsa_padding(context.get(), RSA_PKCS1_PADDING);
    EVP_PKEY_CTX_set_signature_md(context.get(), EVP_sha256());
    EVP_PKEY_sign(context.get(), nullptr, &length,
                  reinterpret_cast<const unsigned char*>(digest.data()), digest.size());
    std::string signature(length, '\0');
    BOOST_REQUIRE(EVP_PKEY_sign(context.get(), reinterpret_cast<unsigned char*>(signature.data()),
                                &length, reinterpret_cast<const unsigned char*>(digest.data()),
                                digest.size()) == 1);
    signature.resize(length);
    return {signature, digest};
}

std::span<const unsigned char> bytes(const std::string& text) {
    return {reinterpret_cast<const unsigned char*>(text.data()), text.size()};
}

} // namespace

BOOST_AUTO_TEST_SUITE(dkim_key)

BOOST_AUTO_TEST_CASE(tag_lists_follow_rfc6376_3_2) {
    const auto tags = parse_tag_list(" v = DKIM1 ;k=rsa;\r\n\tp=AB CD ;");
    BOOST_REQUIRE(tags.has_value());
    BOOST_TEST(tags->at("v") == "DKIM1");
    BOOST_TEST(tags->at("k") == "rsa");
    BOOST_TEST(tags->at("p") == "AB CD");
    BOOST_TEST(parse_tag_list("").has_value());
    BOOST_TEST(!parse_tag_list("p=a; p=b").has_value());   // duplicate tag
    BOOST_TEST(!parse_tag_list("p").has_value());          // no '='
    BOOST_TEST(!parse_tag_list("1p=x").has_value());       // tag name must start with ALPHA
    BOOST_TEST(!parse_tag_list("p=x;;k=rsa").has_value()); // empty tag-spec inside
}

BOOST_AUTO_TEST_CASE(base64_ignores_whitespace_and_needs_padding) {
    BOOST_TEST(decode_base64("aGVs bG8=").value() == "hello");
    BOOST_TEST(decode_base64("aGVsbA==").value() == "hell");
    BOOST_TEST(decode_base64("aGVs\r\n\tbA==").value() == "hell");
    BOOST_TEST(decode_base64("").value().empty());
    BOOST_TEST(!decode_base64("aGVsbA=").has_value());  // bad length
    BOOST_TEST(!decode_base64("aG=sbA==").has_value()); // '=' inside
    BOOST_TEST(!decode_base64("aGV*bA==").has_value()); // not base64
}

BOOST_AUTO_TEST_CASE(only_plain_rsa_sha256_email_keys_are_taken) {
    const std::string p = "p=" + rsa_public();
    for (const std::string& record : std::vector<std::string>{
             p, "v=DKIM1; k=rsa; " + p, "k=rsa; h=sha1:sha256; " + p, "s=email; " + p, "s=*; " + p,
             "s=tlsrpt:Email; " + p, "t=y; " + p, "n=notes; g=*; " + p})
        BOOST_TEST(rsa_sha256_key_of(record).value_or("") == der_of(rsa_public()), record);
    for (const std::string& record : std::vector<std::string>{
             "v=DKIM1; k=rsa; p=", "v=DKIM2; " + p, "k=ed25519; " + p, "h=sha1; " + p,
             "h=md5:sha256; " + p, "s=tlsrpt; " + p, "t=s; " + p, "t=y:s; " + p, "p=%%%",
             "v=DKIM1; k=rsa", p + "; " + p, "not a key record", "n=caf\xc3\xa9; " + p,
             "n=a\x01"
             "b; " +
                 p,
             "n=" + std::string(1100, 'x') + "; " + p})
        BOOST_TEST(!rsa_sha256_key_of(record).has_value(), record);
}

BOOST_AUTO_TEST_CASE(canonical_base64_is_what_a_signer_writes) {
    BOOST_TEST(decode_canonical_base64("aGVsbG8=").value_or("") == "hello");
    BOOST_TEST(decode_canonical_base64("aGVs bG8=").value_or("") == "hello");
    BOOST_TEST(!decode_canonical_base64("aGVsbG9=").has_value()); // same bytes, spare bits set
    BOOST_TEST(!decode_canonical_base64("aGVsbG8").has_value());
}

BOOST_AUTO_TEST_CASE(cache_decodes_each_key_once_and_stays_bounded) {
    PublicKeyCache cache(2);
    const std::string der = der_of(rsa_public());
    const PublicKey first = cache.rsa_key(der);
    BOOST_REQUIRE(first != nullptr);
    BOOST_TEST(cache.rsa_key(der) == first); // the same decoded object
    BOOST_TEST(cache.size() == 1U);
    BOOST_TEST(key_bits(first) == 2048U);
    BOOST_TEST(cache.rsa_key("garbage") == nullptr);
    const auto ed25519 = mailwarden::dkim_test::make_key("ED25519", 0);
    BOOST_TEST(cache.rsa_key(der_of(ed25519.public_base64)) == nullptr); // not an SPKI RSA key
    const auto other = mailwarden::dkim_test::make_key("RSA", 1024);
    BOOST_TEST(cache.rsa_key(der_of(other.public_base64)) != nullptr);
    const auto third = mailwarden::dkim_test::make_key("RSA", 1024);
    BOOST_TEST(cache.rsa_key(der_of(third.public_base64)) != nullptr);
    BOOST_TEST(cache.size() <= 2U);
    BOOST_TEST(cache.rsa_key(der + "x") == nullptr); // trailing bytes
}

BOOST_AUTO_TEST_CASE(records_are_remembered_by_text_usable_or_not) {
    PublicKeyCache cache;
    const std::string record = "v=DKIM1; k=rsa; p=" + rsa_public();
    const PublicKey key = cache.rsa_key_of_record(record);
    BOOST_REQUIRE(key != nullptr);
    BOOST_TEST(cache.rsa_key_of_record(record) == key);
    BOOST_TEST(cache.rsa_key(der_of(rsa_public())) == key); // one decode for both
    BOOST_TEST(cache.rsa_key_of_record("v=DKIM1; k=rsa; t=s; p=" + rsa_public()) == nullptr);
    BOOST_TEST(cache.rsa_key_of_record("v=DKIM1; p=") == nullptr);
    BOOST_TEST(cache.size() == 1U);
}

BOOST_AUTO_TEST_CASE(rsa_sha256_verify_accepts_only_the_right_digest) {
    PublicKeyCache cache;
    const PublicKey key = cache.rsa_key(der_of(rsa_public()));
    const auto [signature, digest] = signed_digest("canonicalized headers");
    using enum VerifyOutcome;
    BOOST_TEST((verify_rsa_sha256(key, bytes(digest), signature) == pass));
    std::string other_digest = digest;
    other_digest[0] ^= 1;
    BOOST_TEST((verify_rsa_sha256(key, bytes(other_digest), signature) == mismatch));
    std::string other_signature = signature;
    other_signature[10] ^= 1;
    BOOST_TEST((verify_rsa_sha256(key, bytes(digest), other_signature) == mismatch));
    BOOST_TEST((verify_rsa_sha256(key, bytes(digest), "") == mismatch)); // a bad b=, no error
    BOOST_TEST((verify_rsa_sha256(nullptr, bytes(digest), signature) == error));
    // Each thread reuses one context per key: after failures it still verifies.
    BOOST_TEST((verify_rsa_sha256(key, bytes(digest), signature) == pass));
}

BOOST_AUTO_TEST_SUITE_END()
