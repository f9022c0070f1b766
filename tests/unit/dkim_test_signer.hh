// Test and benchmark helper: DKIM keys generated with OpenSSL, messages signed with
// libopendkim's signer, and the TXT records that publish the keys in a test zone. Errors
// throw std::runtime_error (no Boost.Test dependency, so the benchmark links it too).
#pragma once

#include "auth/dkim_sign.hh"
#include "auth/opendkim_api.hh"

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace mailwarden::dkim_test {

struct TestKey {
    std::string private_pem;
    std::string public_base64; // the p= value
};

// type "RSA" (rsa_bits > 0) or "ED25519" (rsa_bits 0).
TestKey make_key(const char* type, std::size_t rsa_bits);
// Generated once per process (RSA-2048 key generation is the slow part of the tests).
const TestKey& rsa_2048();

// "OWNER TXT "..." "..."" in zone syntax (dns::zone_txt_line).
std::string txt_line(const std::string& owner, const std::string& text);

struct Message {
    std::vector<std::pair<std::string, std::string>> headers; // value after the colon
    std::string body;                                         // CRLF line ends
};

// A small, ordinary message from `from` (the From header's value, without leading space).
Message sample_message(const std::string& from = "Alice <alice@example.test>");

struct SignSpec {
    const TestKey* key = nullptr;
    std::string selector;
    std::string domain = "example.test";
    dkim_alg_t algorithm = DKIM_SIGN_RSASHA256;
    dkim_canon_t body_canon = DKIM_CANON_RELAXED;
    bool length_tag = false;
};

// Signs with libopendkim and puts the DKIM-Signature header on top of `message`.
void sign(Message& message, const SignSpec& spec);

// Signs with our own signer (lib/auth/dkim_sign), as the milter does: one signature per key,
// put on top of `message` in the order of the keys; the body is fed in `chunk`-byte pieces.
// Gives the signer's result (its error text when it could not sign).
auth::DkimSignResult sign_with_ours(Message& message, const auth::DkimSignOptions& options,
                                    const std::vector<auth::DkimSigningKey>& keys,
                                    std::size_t chunk = 4096);

// The message as text with CRLF line ends.
std::string to_text(const Message& message);

} // namespace mailwarden::dkim_test
