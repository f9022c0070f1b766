// Unit tests of DKIM verification (lib/auth/dkim_verify). Keys are generated here (OpenSSL
// EVP), messages are signed here with libopendkim's signer, public keys are served by a
// FakeResolver zone; then good, tampered and badly keyed copies are verified. Also the RFC
// 6376 / RFC 8463 vectors in ../shared/conformance/dkim/rfc-vectors when present. No network.
#include "auth/dkim_verify.hh"
#include "auth/opendkim_api.hh"
#include "dns/fake_resolver.hh"

#include <boost/test/unit_test.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

using namespace mailwarden;
using auth::DkimOptions;
using auth::DkimSignatureResult;
using auth::DkimVerifier;

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

std::string base64(const std::string& raw) {
    std::string out(4 * ((raw.size() + 2) / 3) + 1, '\0');
    const int length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                       reinterpret_cast<const unsigned char*>(raw.data()),
                                       static_cast<int>(raw.size()));
    out.resize(static_cast<std::size_t>(length));
    return out;
}

struct TestKey {
    std::string private_pem;
    std::string public_base64; // p= value
};

TestKey make_key(const char* type, std::size_t rsa_bits) {
    std::unique_ptr<EVP_PKEY, PkeyFree> key(
        rsa_bits != 0 ? EVP_PKEY_Q_keygen(nullptr, nullptr, type, rsa_bits)
                      : EVP_PKEY_Q_keygen(nullptr, nullptr, type));
    BOOST_REQUIRE(key);
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    BOOST_REQUIRE(
        PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
    char* pem = nullptr;
    const long pem_length = BIO_get_mem_data(bio.get(), &pem);
    TestKey result{std::string(pem, static_cast<std::size_t>(pem_length)), ""};
    std::string public_raw;
    if (rsa_bits != 0) { // RSA: SubjectPublicKeyInfo DER (RFC 6376 3.6.1)
        const int length = i2d_PUBKEY(key.get(), nullptr);
        public_raw.resize(static_cast<std::size_t>(length));
        auto* cursor = reinterpret_cast<unsigned char*>(public_raw.data());
        i2d_PUBKEY(key.get(), &cursor);
    } else { // Ed25519: the raw 32-byte key (RFC 8463 4)
        std::size_t length = 32;
        public_raw.resize(length);
        EVP_PKEY_get_raw_public_key(key.get(), reinterpret_cast<unsigned char*>(public_raw.data()),
                                    &length);
    }
    result.public_base64 = base64(public_raw);
    return result;
}

// Generated once per test run: RSA-2048 keygen is the slow part of this suite.
struct Keys {
    TestKey rsa = make_key("RSA", 2048);
    TestKey ed25519 = make_key("ED25519", 0);
    TestKey rsa512 = make_key("RSA", 512);
};
const Keys& keys() {
    static const Keys generated;
    return generated;
}

// A TXT record in zone syntax, split into quoted strings the zone parser accepts.
std::string txt_line(const std::string& owner, const std::string& text) {
    std::string line = owner + " TXT";
    for (std::size_t at = 0; at < text.size(); at += 200)
        line += " \"" + text.substr(at, 200) + "\"";
    return line + "\n";
}

std::string standard_zone() {
    return txt_line("rsa._domainkey.example.test",
                    "v=DKIM1; k=rsa; p=" + keys().rsa.public_base64) +
           txt_line("ed._domainkey.example.test",
                    "v=DKIM1; k=ed25519; p=" + keys().ed25519.public_base64) +
           txt_line("small._domainkey.example.test",
                    "v=DKIM1; k=rsa; p=" + keys().rsa512.public_base64) +
           txt_line("revoked._domainkey.example.test", "v=DKIM1; k=rsa; p=") +
           txt_line("wrongtype._domainkey.example.test",
                    "v=DKIM1; k=ed25519; p=" + keys().ed25519.public_base64) +
           "rsa._domainkey.slow.test TIMEOUT\n" + "rsa._domainkey.broken.test SERVFAIL\n";
}

struct Message {
    std::vector<std::pair<std::string, std::string>> headers; // value after the colon
    std::string body;                                         // CRLF line ends
};

Message sample_message() {
    return {{{"From", " Alice <alice@example.test>"},
             {"To", " bob@example.net"},
             {"Subject", " quarterly report"},
             {"Date", " Sun, 22 Nov 2026 10:00:00 +0000"},
             {"Message-ID", " <1@example.test>"}},
            "Hello Bob,\r\n\r\nthe numbers are in.\r\n-- \r\nAlice\r\n"};
}

struct SignSpec {
    const TestKey* key;
    std::string selector;
    std::string domain = "example.test";
    dkim_alg_t algorithm = DKIM_SIGN_RSASHA256;
    dkim_canon_t body_canon = DKIM_CANON_RELAXED;
    bool length_tag = false;
};

// Signs with libopendkim and puts the DKIM-Signature header on top of `message`.
void sign(Message& message, const SignSpec& spec) {
    std::unique_ptr<DKIM_LIB, LibClose> library(dkim_init(nullptr, nullptr));
    BOOST_REQUIRE(library);
    if (spec.length_tag) {
        std::uint32_t flags = DKIM_LIBFLAGS_SIGNLEN;
        dkim_options(library.get(), DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags);
    }
    DKIM_STAT status = DKIM_STAT_OK;
    std::unique_ptr<DKIM, DkimFree> signer(
        dkim_sign(library.get(), reinterpret_cast<const unsigned char*>("test"), nullptr,
                  const_cast<unsigned char*>(
                      reinterpret_cast<const unsigned char*>(spec.key->private_pem.c_str())),
                  reinterpret_cast<const unsigned char*>(spec.selector.c_str()),
                  reinterpret_cast<const unsigned char*>(spec.domain.c_str()), DKIM_CANON_RELAXED,
                  spec.body_canon, spec.algorithm, -1, &status));
    BOOST_REQUIRE_MESSAGE(signer, "dkim_sign status " << status);
    dkim_set_margin(signer.get(), 0); // one line: no folding to reproduce
    for (const auto& [name, value] : message.headers) {
        std::string line = name + ":" + value;
        BOOST_REQUIRE_EQUAL(
            dkim_header(signer.get(), reinterpret_cast<unsigned char*>(line.data()), line.size()),
            DKIM_STAT_OK);
    }
    BOOST_REQUIRE_EQUAL(dkim_eoh(signer.get()), DKIM_STAT_OK);
    BOOST_REQUIRE_EQUAL(dkim_body(signer.get(),
                                  reinterpret_cast<unsigned char*>(message.body.data()),
                                  message.body.size()),
                        DKIM_STAT_OK);
    BOOST_REQUIRE_EQUAL(dkim_eom(signer.get(), nullptr), DKIM_STAT_OK);
    unsigned char* value = nullptr;
    std::size_t length = 0;
    const std::string header_name = DKIM_SIGNHEADER;
    BOOST_REQUIRE_EQUAL(dkim_getsighdr_d(signer.get(), header_name.size() + 2, &value, &length),
                        DKIM_STAT_OK);
    message.headers.insert(
        message.headers.begin(),
        {header_name, " " + std::string(reinterpret_cast<char*>(value), length)});
}

std::vector<DkimSignatureResult> verify(DkimVerifier& verifier, const Message& message,
                                        std::size_t chunk = 4096) {
    auto session = verifier.session();
    for (const auto& [name, value] : message.headers)
        session.header(name, value);
    session.end_of_headers();
    const std::span<const char> body(message.body);
    for (std::size_t at = 0; at < body.size(); at += chunk)
        session.body(body.subspan(at, std::min(chunk, body.size() - at)));
    return session.end_of_message();
}

// One signed message verified against the standard zone.
struct Fixture {
    dns::FakeResolver resolver = dns::FakeResolver::from_text(standard_zone());
    DkimOptions options;

    std::vector<DkimSignatureResult> check(const Message& message, std::size_t chunk = 4096) {
        DkimVerifier verifier(options, resolver);
        return verify(verifier, message, chunk);
    }
    DkimSignatureResult check_one(const Message& message) {
        const auto results = check(message);
        BOOST_REQUIRE_EQUAL(results.size(), 1U);
        BOOST_TEST_MESSAGE(results[0].result << " " << results[0].reason);
        return results[0];
    }
};

Message signed_with(const SignSpec& spec) {
    auto message = sample_message();
    sign(message, spec);
    return message;
}

std::string& header_value(Message& message, const std::string& name) {
    for (auto& [header_name, value] : message.headers)
        if (header_name == name)
            return value;
    throw std::logic_error("no header " + name);
}

} // namespace

// libopendkim's C `struct dkim` lives in the global namespace: the suite's namespace must not.
namespace dkim_tests {

BOOST_AUTO_TEST_SUITE(dkim)

BOOST_FIXTURE_TEST_CASE(rsa_sha256_passes_and_reports_the_signature, Fixture) {
    const auto result = check_one(signed_with({&keys().rsa, "rsa"}));
    BOOST_TEST(result.result == "pass");
    BOOST_TEST(result.domain == "example.test");
    BOOST_TEST(result.selector == "rsa");
    BOOST_TEST(result.algorithm == "rsa-sha256");
    BOOST_TEST(result.key_bits == 2048U);
    BOOST_TEST(result.reason.empty());
    BOOST_TEST(resolver.query_count("rsa._domainkey.example.test") == 1U);
}

BOOST_FIXTURE_TEST_CASE(ed25519_sha256_passes, Fixture) {
    const auto result =
        check_one(signed_with({&keys().ed25519, "ed", "example.test", DKIM_SIGN_ED25519SHA256}));
    BOOST_TEST(result.result == "pass");
    BOOST_TEST(result.algorithm == "ed25519-sha256");
    BOOST_TEST(result.key_bits == 256U);
}

BOOST_FIXTURE_TEST_CASE(unsigned_message_gives_no_results, Fixture) {
    BOOST_TEST(check(sample_message()).empty());
    BOOST_TEST(resolver.query_count() == 0U);
}

BOOST_FIXTURE_TEST_CASE(changed_body_fails, Fixture) {
    auto message = signed_with({&keys().rsa, "rsa"});
    message.body += "P.S. send money\r\n";
    const auto result = check_one(message);
    BOOST_TEST(result.result == "fail");
    BOOST_TEST(result.reason == "body hash mismatch");
}

BOOST_FIXTURE_TEST_CASE(changed_header_fails, Fixture) {
    auto message = signed_with({&keys().ed25519, "ed", "example.test", DKIM_SIGN_ED25519SHA256});
    header_value(message, "Subject") = " urgent: wire transfer";
    const auto result = check_one(message);
    BOOST_TEST(result.result == "fail");
    BOOST_TEST(result.reason == "signature mismatch");
}

BOOST_FIXTURE_TEST_CASE(revoked_key_fails, Fixture) {
    const auto result = check_one(signed_with({&keys().rsa, "revoked"}));
    BOOST_TEST(result.result == "fail");
    BOOST_TEST(result.reason == "key revoked");
}

BOOST_FIXTURE_TEST_CASE(missing_key_is_permerror, Fixture) {
    const auto result = check_one(signed_with({&keys().rsa, "absent"}));
    BOOST_TEST(result.result == "permerror");
    BOOST_TEST(result.reason == "no key");
}

BOOST_FIXTURE_TEST_CASE(dns_timeout_and_servfail_are_temperror, Fixture) {
    for (const std::string domain : {"slow.test", "broken.test"}) {
        const auto result = check_one(signed_with({&keys().rsa, "rsa", domain}));
        BOOST_TEST(result.result == "temperror", domain);
        BOOST_TEST(result.domain == domain);
    }
}

namespace {
// Never answers: the verifier must give up after dns_timeout.
struct SilentResolver final : dns::Resolver {
    std::vector<std::function<void(dns::Answer)>> parked;
    dns::Answer query(std::string_view, dns::RrType) override { return {}; }
    void query_async(std::string_view, dns::RrType,
                     std::function<void(dns::Answer)> done) override {
        parked.push_back(std::move(done));
    }
};
} // namespace

BOOST_AUTO_TEST_CASE(dns_timeout_bound_is_enforced) {
    SilentResolver resolver;
    DkimOptions options;
    options.dns_timeout = std::chrono::milliseconds(50);
    DkimVerifier verifier(options, resolver);
    const auto started = std::chrono::steady_clock::now();
    const auto results = verify(verifier, signed_with({&keys().rsa, "rsa"}));
    const auto elapsed = std::chrono::steady_clock::now() - started;
    BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() < 2000);
    BOOST_REQUIRE_EQUAL(results.size(), 1U);
    BOOST_TEST(results[0].result == "temperror");
    for (auto& done : resolver.parked) // a late answer after the cancel is harmless
        done(dns::Answer{dns::Status::timeout, {}, std::chrono::seconds(0), false, ""});
}

BOOST_FIXTURE_TEST_CASE(wrong_algorithm_is_permerror, Fixture) {
    auto message = signed_with({&keys().rsa, "rsa"});
    auto& signature = header_value(message, DKIM_SIGNHEADER);
    const auto at = signature.find("a=rsa-sha256");
    BOOST_REQUIRE(at != std::string::npos);
    signature.replace(at, 12, "a=rsa-sha512");
    auto result = check_one(message);
    BOOST_TEST(result.result == "permerror");
    BOOST_TEST(result.algorithm == "rsa-sha512");
    // An RSA signature whose selector publishes an Ed25519 key.
    result = check_one(signed_with({&keys().rsa, "wrongtype"}));
    BOOST_TEST(result.result == "permerror");
}

BOOST_FIXTURE_TEST_CASE(malformed_signature_is_permerror_not_exception, Fixture) {
    auto message = sample_message();
    message.headers.insert(message.headers.begin(), {DKIM_SIGNHEADER, " v=1; d=example.test; b=x"});
    const auto results = check(message);
    BOOST_REQUIRE_EQUAL(results.size(), 1U);
    BOOST_TEST(results[0].result == "permerror");
}

BOOST_FIXTURE_TEST_CASE(rsa_sha1_is_policy_or_fail_per_option, Fixture) {
    const auto message = signed_with({&keys().rsa, "rsa", "example.test", DKIM_SIGN_RSASHA1});
    auto result = check_one(message);
    BOOST_TEST(result.result == "policy");
    BOOST_TEST(result.algorithm == "rsa-sha1");
    options.sha1 = DkimOptions::Sha1::fail;
    result = check_one(message);
    BOOST_TEST(result.result == "fail");
}

BOOST_FIXTURE_TEST_CASE(key_below_min_key_bits_is_policy, Fixture) {
    const auto message = signed_with({&keys().rsa512, "small"});
    auto result = check_one(message);
    BOOST_TEST(result.result == "policy");
    BOOST_TEST(result.reason == "key too small");
    options.min_key_bits = 512;
    result = check_one(message);
    BOOST_TEST(result.result == "pass");
    BOOST_TEST(result.key_bits == 512U);
}

BOOST_FIXTURE_TEST_CASE(two_signatures_both_reported, Fixture) {
    auto message = sample_message();
    sign(message, {&keys().rsa, "rsa"});
    sign(message, {&keys().ed25519, "ed", "example.test", DKIM_SIGN_ED25519SHA256});
    header_value(message, "To") = " mallory@example.net"; // both sign To
    auto results = check(message);
    BOOST_REQUIRE_EQUAL(results.size(), 2U);
    BOOST_TEST(results[0].selector == "ed");
    BOOST_TEST(results[0].result == "fail");
    BOOST_TEST(results[1].selector == "rsa");
    BOOST_TEST(results[1].result == "fail");
}

BOOST_FIXTURE_TEST_CASE(signatures_beyond_max_signatures_are_not_evaluated, Fixture) {
    auto message = sample_message();
    sign(message, {&keys().rsa, "rsa"});
    sign(message, {&keys().ed25519, "ed", "example.test", DKIM_SIGN_ED25519SHA256});
    sign(message, {&keys().rsa, "absent"});
    options.max_signatures = 2;
    const auto results = check(message);
    BOOST_REQUIRE_EQUAL(results.size(), 3U);
    BOOST_TEST(results[0].result == "permerror"); // "absent", on top
    BOOST_TEST(results[1].result == "pass");
    BOOST_TEST(results[2].result == "policy");
    BOOST_TEST(results[2].reason.starts_with("not evaluated"));
    BOOST_TEST(resolver.query_count("rsa._domainkey.example.test") == 0U);
}

BOOST_FIXTURE_TEST_CASE(length_tag_with_appended_body_per_option, Fixture) {
    auto message = signed_with(
        {&keys().rsa, "rsa", "example.test", DKIM_SIGN_RSASHA256, DKIM_CANON_SIMPLE, true});
    BOOST_REQUIRE(header_value(message, DKIM_SIGNHEADER).find("l=") != std::string::npos);
    BOOST_TEST(check_one(message).result == "pass");
    message.body += "Click here: http://phish.example/\r\n";
    auto result = check_one(message);
    BOOST_TEST(result.result == "policy");
    options.body_length = DkimOptions::BodyLength::allow;
    result = check_one(message);
    BOOST_TEST(result.result == "pass");
}

BOOST_FIXTURE_TEST_CASE(body_chunking_does_not_change_the_result, Fixture) {
    auto message = signed_with({&keys().rsa, "rsa"});
    std::string long_body;
    for (int line = 0; line < 3000; ++line)
        long_body += "line " + std::to_string(line) + " of a long message body\r\n";
    message.body = long_body; // re-sign over the long body
    message.headers.erase(message.headers.begin());
    sign(message, {&keys().rsa, "rsa"});
    for (const std::size_t chunk : {std::size_t{1}, std::size_t{7}, std::size_t{65536}}) {
        const auto results = check(message, chunk);
        BOOST_REQUIRE_EQUAL(results.size(), 1U);
        BOOST_TEST(results[0].result == "pass", "chunk " << chunk);
    }
    message.body[100] = 'X';
    for (const std::size_t chunk : {std::size_t{1}, std::size_t{65536}})
        BOOST_TEST(check(message, chunk)[0].result == "fail", "chunk " << chunk);
}

BOOST_AUTO_TEST_CASE(verifier_is_usable_from_many_threads) {
    auto resolver = dns::FakeResolver::from_text(standard_zone());
    DkimVerifier verifier(DkimOptions{}, resolver);
    const auto message = signed_with({&keys().rsa, "rsa"});
    std::vector<std::string> outcomes(4);
    std::vector<std::thread> threads;
    for (std::size_t index = 0; index < outcomes.size(); ++index)
        threads.emplace_back([&, index] {
            for (int round = 0; round < 20; ++round)
                outcomes[index] = verify(verifier, message)[0].result;
        });
    for (auto& thread : threads)
        thread.join();
    for (const auto& outcome : outcomes)
        BOOST_TEST(outcome == "pass");
}

BOOST_AUTO_TEST_SUITE_END()

} // namespace dkim_tests
