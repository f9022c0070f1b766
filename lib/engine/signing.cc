// See signing.hh.
#include "engine/signing.hh"

#include "util/daemon.hh"

#include <stdexcept>

namespace mailwarden::engine {

std::optional<Signing> load_signing(const config::Config& config,
                                    std::vector<std::string>* errors) {
    Signing signing;
    const std::string& canonicalization = config.string("dkim_sign_canonicalization");
    const auto canon_of = [](std::string_view name) {
        return name == "simple" ? auth::DkimBodyHash::Canon::simple
                                : auth::DkimBodyHash::Canon::relaxed;
    };
    const std::size_t slash = canonicalization.find('/');
    signing.options.header_canon = canon_of(canonicalization.substr(0, slash));
    signing.options.body_canon = canon_of(canonicalization.substr(slash + 1));
    signing.options.oversigned = config.list("dkim_oversign_headers");
    signing.options.headers =
        auth::signed_header_names(config.list("dkim_sign_headers"), signing.options.oversigned);
    signing.options.lifetime_seconds =
        static_cast<std::uint64_t>(config.duration("dkim_signature_lifetime").count() / 1000);
    signing.on_error = config.action("on_sign_error");
    const auto& lines = config.list("dkim_sign_key");
    if (lines.empty())
        return signing;
    uid_t owner = 0;
    try {
        owner = util::serving_uid(config.string("user"), config.boolean("allow_root"));
    } catch (const std::runtime_error& error) {
        if (errors != nullptr)
            *errors = {std::string("dkim_sign_key: the key files must belong to user, but ") +
                       error.what()};
        return std::nullopt;
    }
    auto keys =
        auth::DkimKeyTable::load(lines, config.boolean("dkim_sign_subdomains"), owner, errors);
    if (!keys)
        return std::nullopt;
    signing.keys = std::move(*keys);
    return signing;
}

} // namespace mailwarden::engine
