// SPF (RFC 7208) for inbound mail at MAIL: the HELO identity and the MAIL FROM identity
// (postmaster@HELO for the null sender) into Report::spf_helo and spf_mailfrom. The verdict
// (spf_fail_action, spf_temperror_action) is the decision table's, after this. Parameters
// read: spf_time_budget, spf_explanation (and authserv_id as the receiving host). Always on;
// construction throws std::runtime_error when libspf2 cannot start.
#include "engine/checks/checks.hh"

#include "auth/spf.hh"

namespace mailwarden::engine::checks {

namespace {

auth::SpfOptions spf_options(const config::Config& config, const std::string& authserv_id) {
    auth::SpfOptions options;
    options.time_budget = config.duration("spf_time_budget");
    options.receiving_host = authserv_id;
    options.default_explanation = config.string("spf_explanation");
    return options;
}

class Spf final : public Check {
public:
    explicit Spf(const CheckContext& context)
        : Check("spf", hooks_of(Hook::mail), Direction::inbound),
          verifier_(spf_options(context.config, context.authserv_id), context.resolver) {}

    void mail(Stage& stage) const override {
        Report& report = stage.report();
        const ConnectionFacts& connection = stage.connection();
        report.spf_helo = verifier_.check_helo(connection.client_ip, connection.helo);
        report.spf_mailfrom =
            verifier_.check_mail_from(connection.client_ip, connection.helo, report.sender);
    }

private:
    auth::SpfVerifier verifier_;
};

} // namespace

std::unique_ptr<const Check> spf(const CheckContext& context) {
    return std::make_unique<Spf>(context);
}

} // namespace mailwarden::engine::checks
