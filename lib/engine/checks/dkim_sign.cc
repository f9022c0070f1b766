// DKIM signing of outbound mail (engine/signing.hh, auth/dkim_sign.hh): the header fields
// the signature covers and the body stream into a signing session as they arrive (one body
// hash shared by every key), and at the end of the message the keys of the From domain
// (Report::from, from the "from" check) sign it: one DKIM-Signature field per key, added
// first in the message unless it is refused. No key for the domain: sent unsigned, logged
// (sign=no_key). A key that cannot sign: on_sign_error (tempfail 451 4.3.0, or accept
// unsigned with sign=error). Runs last, after every check that may refuse the message.
// Parameters read: [signing] (signing.hh), on_sign_error, user, allow_root. Off unless
// dkim_sign_key names a key; construction throws std::runtime_error when a key cannot be
// loaded (a reload then keeps the running configuration). Never throws at a hook.
#include "engine/checks/checks.hh"

#include "engine/signing.hh"

#include <ctime>
#include <stdexcept>

namespace mailwarden::engine::checks {

namespace {

struct Signer final : CheckState {
    explicit Signer(const auth::DkimSignOptions& options) : session(options) {}
    auth::DkimSigningSession session;
};

// The h= names as views into the Signing the check keeps (they live as long as it does).
std::vector<std::string_view> header_names_of(const Signing& signing) {
    return {signing.options.headers.begin(), signing.options.headers.end()};
}

class DkimSign final : public Check {
public:
    explicit DkimSign(std::unique_ptr<const Signing> signing)
        : Check("sign", hooks_of(Hook::header, Hook::body, Hook::end_of_message),
                Direction::outbound, header_names_of(*signing)),
          signing_(std::move(signing)) {}

    void header(Stage& stage, std::string_view name, std::string_view value) const override {
        signer(stage).session.header(name, value);
    }

    void body(Stage& stage, std::span<const char> chunk) const override {
        signer(stage).session.body(std::string_view(chunk.data(), chunk.size()));
    }

    void end_of_message(Stage& stage) const override {
        if (stage.verdict().is_final())
            return; // refused: nothing goes out to sign
        Report& report = stage.report();
        report.signing_domain = report.from.domain;
        SignOutcome outcome = sign_for_author(*signing_, signer(stage).session, report.from,
                                              static_cast<std::uint64_t>(std::time(nullptr)));
        report.signing = std::string(sign_status_name(outcome.status));
        if (outcome.status == SignStatus::error) {
            report.signing_error = std::move(outcome.result.error);
            if (signing_->on_error == config::Action::tempfail)
                stage.propose(Verdict::tempfail("4.3.0", "cannot sign the message, try again later",
                                                "sign_error"));
            return;
        }
        for (auto& signature : outcome.result.signatures)
            stage.add_header(std::string(auth::dkim_signature_field), signature.value);
        report.signatures = std::move(outcome.result.signatures);
    }

private:
    Signer& signer(Stage& stage) const {
        Signer* found = stage.find_state<Signer>();
        return found != nullptr ? *found : stage.make_state<Signer>(signing_->options);
    }

    std::unique_ptr<const Signing> signing_;
};

} // namespace

std::unique_ptr<const Check> dkim_sign(const CheckContext& context) {
    std::vector<std::string> errors;
    auto signing = load_signing(context.config, &errors);
    if (!signing) {
        std::string text;
        for (const auto& error : errors)
            text += (text.empty() ? "" : "; ") + error;
        throw std::runtime_error(text.empty() ? "dkim_sign_key: cannot load the keys" : text);
    }
    if (!signing->enabled())
        return nullptr;
    return std::make_unique<DkimSign>(std::make_unique<const Signing>(std::move(*signing)));
}

} // namespace mailwarden::engine::checks
