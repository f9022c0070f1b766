// DKIM signing as the configuration describes it: the key table (dkim_sign_key,
// dkim_sign_subdomains; keys owned by the user the daemons serve as), how to sign
// (dkim_sign_headers, dkim_oversign_headers, dkim_sign_canonicalization,
// dkim_signature_lifetime) and what a failure gets (on_sign_error). Built with every Engine,
// so a reload loads the keys again; and by `mailwarden config check`, which therefore refuses
// exactly the keys the daemons refuse.
//
// Failure: load_signing() gives std::nullopt and one text per problem (a bad line, a key file
// that is missing, unsafe or unusable, an unknown user).
#pragma once

#include "auth/dkim_key_table.hh"
#include "auth/dkim_sign.hh"
#include "config/config.hh"

#include <optional>
#include <string>
#include <vector>

namespace mailwarden::engine {

struct Signing {
    auth::DkimSignOptions options;
    auth::DkimKeyTable keys;
    config::Action on_error = config::Action::tempfail;
    bool enabled() const { return !keys.empty(); }
};

std::optional<Signing> load_signing(const config::Config& config, std::vector<std::string>* errors);

} // namespace mailwarden::engine
