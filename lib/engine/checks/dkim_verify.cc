// DKIM verification (auth/dkim_verify.hh) of inbound mail: a session per message started at
// MAIL, fed every header field and the body as they arrive, judged at the end of the message
// into Report::dkim. The body stops being fed once no signature needs it (unsigned mail). The
// verdict is the decision table's (through DMARC). Parameters read: dkim_max_signatures,
// dkim_min_key_bits, dkim_sha1, dkim_body_length, dns_timeout. Always on; construction throws
// std::runtime_error when libopendkim cannot start.
#include "engine/checks/checks.hh"

#include "auth/dkim_verify.hh"

namespace mailwarden::engine::checks {

namespace {

auth::DkimOptions dkim_options(const config::Config& config) {
    auth::DkimOptions options;
    options.max_signatures = static_cast<std::size_t>(config.integer("dkim_max_signatures"));
    options.min_key_bits = static_cast<unsigned>(config.integer("dkim_min_key_bits"));
    options.sha1 = config.string("dkim_sha1") == "fail" ? auth::DkimOptions::Sha1::fail
                                                        : auth::DkimOptions::Sha1::policy;
    options.body_length = config.string("dkim_body_length") == "allow"
                              ? auth::DkimOptions::BodyLength::allow
                              : auth::DkimOptions::BodyLength::policy_when_partial;
    options.dns_timeout = config.duration("dns_timeout");
    return options;
}

struct Session final : CheckState {
    explicit Session(auth::DkimSession started) : dkim(std::move(started)) {}
    auth::DkimSession dkim;
};

constexpr Hooks message_hooks =
    hooks_of(Hook::header, Hook::end_of_headers, Hook::body, Hook::end_of_message);

class DkimVerify final : public Check {
public:
    explicit DkimVerify(const CheckContext& context)
        : Check("dkim", hook_bit(Hook::mail) | message_hooks, Direction::inbound),
          verifier_(dkim_options(context.config), context.resolver) {}

    void mail(Stage& stage) const override { stage.make_state<Session>(verifier_.session()); }

    void header(Stage& stage, std::string_view name, std::string_view value) const override {
        if (Session* session = stage.find_state<Session>())
            session->dkim.header(name, value);
    }

    void end_of_headers(Stage& stage) const override {
        Session* session = stage.find_state<Session>();
        if (session != nullptr)
            session->dkim.end_of_headers();
        if (session == nullptr || !session->dkim.wants_body())
            stage.stop(hook_bit(Hook::body));
    }

    void body(Stage& stage, std::span<const char> chunk) const override {
        if (Session* session = stage.find_state<Session>())
            session->dkim.body(chunk);
    }

    void end_of_message(Stage& stage) const override {
        if (Session* session = stage.find_state<Session>())
            stage.report().dkim = session->dkim.end_of_message();
    }

private:
    auth::DkimVerifier verifier_;
};

} // namespace

std::unique_ptr<const Check> dkim_verify(const CheckContext& context) {
    return std::make_unique<DkimVerify>(context);
}

} // namespace mailwarden::engine::checks
