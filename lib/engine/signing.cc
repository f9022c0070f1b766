// See signing.hh.
#include "engine/signing.hh"

#include "auth/header_from.hh"
#include "engine/message_text.hh"
#include "util/ascii.hh"
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

namespace {

// Collects the From fields while the signing session takes the message.
class SigningReceiver final : public MessageReceiver {
public:
    explicit SigningReceiver(const auth::DkimSignOptions& options) : session(options) {}
    void header(std::string_view name, std::string_view value) override {
        if (util::equal_ignoring_ascii_case(name, "From") && from_values.size() < 8)
            from_values.emplace_back(value);
        session.header(name, value);
    }
    void end_of_headers() override {}
    void body(std::string_view chunk) override { session.body(chunk); }

    auth::DkimSigningSession session;
    std::vector<std::string> from_values;
};

} // namespace

std::string_view sign_status_name(SignStatus status) {
    switch (status) {
    case SignStatus::signed_ok:
        return "signed";
    case SignStatus::no_author:
        return "no_author";
    case SignStatus::no_key:
        return "no_key";
    case SignStatus::error:
        return "error";
    }
    return "error";
}

SignOutcome sign_for_author(const Signing& signing, auth::DkimSigningSession& session,
                            const auth::HeaderFrom& author, std::uint64_t now) {
    SignOutcome outcome;
    if (author.problem != auth::FromProblem::none || author.domain.empty())
        return outcome; // no_author
    const auto keys = signing.keys.keys_for(author.domain);
    if (keys.empty()) {
        outcome.status = SignStatus::no_key;
        return outcome;
    }
    outcome.result = session.sign(keys, now);
    outcome.status = outcome.result.error.empty() ? SignStatus::signed_ok : SignStatus::error;
    return outcome;
}

SignedMessage sign_message(const Signing& signing, std::string_view message, std::uint64_t now) {
    SignedMessage result{std::string(message), {}, ""};
    if (!signing.enabled())
        return result;
    SigningReceiver receiver(signing.options);
    feed_message(receiver, message);
    const std::vector<std::string_view> from(receiver.from_values.begin(),
                                             receiver.from_values.end());
    SignOutcome outcome =
        sign_for_author(signing, receiver.session, auth::parse_header_from(from), now);
    if (outcome.status == SignStatus::error)
        result.error = std::move(outcome.result.error);
    if (outcome.status != SignStatus::signed_ok)
        return result;
    auto& signed_by = outcome.result;
    const std::size_t first_end = message.find('\n');
    const bool crlf =
        first_end != std::string_view::npos && first_end > 0 && message[first_end - 1] == '\r';
    std::string fields;
    for (const auto& signature : signed_by.signatures) {
        std::string field = std::string(auth::dkim_signature_field) + ": " + signature.value;
        if (!crlf)
            for (std::size_t at; (at = field.find("\r\n")) != std::string::npos;)
                field.erase(at, 1);
        fields += field + (crlf ? "\r\n" : "\n");
    }
    result.text = fields + result.text;
    result.signatures = std::move(signed_by.signatures);
    return result;
}

} // namespace mailwarden::engine
