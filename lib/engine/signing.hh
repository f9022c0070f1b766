// DKIM signing as the configuration describes it: the key table (dkim_sign_key,
// dkim_sign_subdomains; keys owned by the user the daemons serve as), how to sign
// (dkim_sign_headers, dkim_oversign_headers, dkim_sign_canonicalization,
// dkim_signature_lifetime) and what a failure gets (on_sign_error). Built with every Engine,
// so a reload loads the keys again; and by `mailwarden config check`, which therefore refuses
// exactly the keys the daemons refuse.
//
// Outbound mail is signed by the engine's check (checks/dkim_sign.cc) as it streams;
// sign_message() is the whole of it for a message already written, e.g. a report. Both pick
// the keys and sign through sign_for_author().
//
// Failure: load_signing() gives std::nullopt and one text per problem (a bad line, a key file
// that is missing, unsafe or unusable, an unknown user).
#pragma once

#include "auth/dkim_key_table.hh"
#include "auth/dkim_sign.hh"
#include "auth/header_from.hh"
#include "config/config.hh"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::engine {

struct Signing {
    auth::DkimSignOptions options;
    auth::DkimKeyTable keys;
    config::Action on_error = config::Action::tempfail;
    bool enabled() const { return !keys.empty(); }
};

std::optional<Signing> load_signing(const config::Config& config, std::vector<std::string>* errors);

// The signatures of a message whose header fields and body went into `session`, with the
// keys of its author's domain. status: signed (result.signatures, one per key), no_author
// (no single From domain), no_key (no key for that domain: sent unsigned), error
// (result.error; on_error decides). Never throws but std::bad_alloc.
enum class SignStatus { signed_ok, no_author, no_key, error };
std::string_view sign_status_name(SignStatus status); // signed, no_author, no_key, error
struct SignOutcome {
    SignStatus status = SignStatus::no_author;
    auth::DkimSignResult result;
};
SignOutcome sign_for_author(const Signing& signing, auth::DkimSigningSession& session,
                            const auth::HeaderFrom& author, std::uint64_t now);

// For mail mailwarden writes itself (DMARC reports): signs a complete RFC 5322 message (CRLF
// or LF line ends) with the keys of its From domain, as outbound mail is signed. `text` comes
// back with the DKIM-Signature fields on top, in the message's own line ends; unchanged when
// no key signs that domain (or there is no single From domain) or when signing failed, which
// `error` then says (the caller decides whether to send it unsigned).
struct SignedMessage {
    std::string text;
    std::vector<auth::DkimSignature> signatures;
    std::string error;
};
SignedMessage sign_message(const Signing& signing, std::string_view message, std::uint64_t now);

} // namespace mailwarden::engine
