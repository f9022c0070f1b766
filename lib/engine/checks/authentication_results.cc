// Authentication-Results (RFC 8601). As header fields arrive: one that claims our
// authserv_id is a forgery and is removed at the end of the message; one from
// trusted_authserv_ids is kept in Report::trusted_authentication_results (at most
// max_trusted_authres_kept). At the end of an inbound message, after every other check and
// the decision table: our header from the Report's SPF, DKIM and DMARC results, added to the
// message unless it is refused. Parameters read: authserv_id, trusted_authserv_ids. Always
// on; never throws for any header.
#include "engine/checks/checks.hh"

#include "auth/authres.hh"

namespace mailwarden::engine::checks {

namespace {

struct Seen final : CheckState {
    std::size_t fields = 0; // Authentication-Results fields so far
};

auth::AuthResult auth_result(std::string method, std::string result, std::string reason = "") {
    auth::AuthResult entry;
    entry.method = std::move(method);
    entry.result = std::move(result);
    entry.reason = std::move(reason);
    return entry;
}

void add_spf(const Report& report, auth::AuthenticationResults& header) {
    if (!report.spf_mailfrom)
        return;
    const auth::SpfResult& spf = *report.spf_mailfrom;
    auth::AuthResult result = auth_result("spf", spf.result);
    if (spf.result != "pass" && !spf.reason.empty())
        result.reason = spf.reason;
    result.properties.push_back({"smtp.mailfrom", spf.identity});
    header.results.push_back(std::move(result));
}

void add_dkim(const Report& report, auth::AuthenticationResults& header) {
    if (report.dkim.empty())
        header.results.push_back(auth_result("dkim", "none"));
    for (const auto& signature : report.dkim) {
        auth::AuthResult result = auth_result("dkim", signature.result, signature.reason);
        if (!signature.domain.empty())
            result.properties.push_back({"header.d", signature.domain});
        if (!signature.selector.empty())
            result.properties.push_back({"header.s", signature.selector});
        if (!signature.algorithm.empty())
            result.properties.push_back({"header.a", signature.algorithm});
        header.results.push_back(std::move(result));
    }
}

void add_dmarc(const Report& report, auth::AuthenticationResults& header) {
    if (report.dmarc) {
        const auth::DmarcResult& dmarc = *report.dmarc;
        auth::AuthResult result = auth_result("dmarc", dmarc.result);
        if (!dmarc.policy.empty())
            result.reason = "p=" + dmarc.policy + " dis=" + dmarc.disposition;
        result.properties.push_back({"header.from", dmarc.from_domain});
        header.results.push_back(std::move(result));
    } else if (report.from.problem != auth::FromProblem::none) {
        header.results.push_back(
            auth_result("dmarc", "permerror",
                        "From header: " + std::string(from_problem_name(report.from.problem))));
    }
}

class AuthenticationResultsCheck final : public Check {
public:
    explicit AuthenticationResultsCheck(const CheckContext& context)
        : Check("authres", hooks_of(Hook::header, Hook::end_of_message), Direction::both,
                {"Authentication-Results"}),
          authserv_id_(context.authserv_id),
          trusted_authserv_ids_(context.config.list("trusted_authserv_ids")) {}

    void header(Stage& stage, std::string_view, std::string_view value) const override {
        const std::size_t index = ++stage.state<Seen>().fields;
        const std::string_view one[] = {value};
        const auto triage =
            auth::triage_authentication_results(one, authserv_id_, trusted_authserv_ids_);
        std::vector<std::string>& trusted = stage.report().trusted_authentication_results;
        if (!triage.remove.empty())
            stage.remove_header("Authentication-Results", index);
        else if (!triage.trusted.empty() && trusted.size() < max_trusted_authres_kept)
            trusted.emplace_back(value);
    }

    void end_of_message(Stage& stage) const override {
        Report& report = stage.report();
        if (report.outbound)
            return;
        auth::AuthenticationResults header;
        header.authserv_id = authserv_id_;
        add_spf(report, header);
        add_dkim(report, header);
        add_dmarc(report, header);
        report.authentication_results = auth::build_authentication_results(header);
        if (!stage.verdict().is_final())
            stage.add_header("Authentication-Results", report.authentication_results);
    }

private:
    std::string authserv_id_;
    std::vector<std::string> trusted_authserv_ids_;
};

} // namespace

std::unique_ptr<const Check> authentication_results(const CheckContext& context) {
    return std::make_unique<AuthenticationResultsCheck>(context);
}

} // namespace mailwarden::engine::checks
