// Authentication-Results (RFC 8601). As header fields arrive: one that claims our
// authserv_id is a forgery and is removed at the end of the message; one from
// trusted_authserv_ids is kept in Report::trusted_authentication_results (at most
// max_trusted_authres_kept). At the end of an inbound message, after every other check and
// the decision table: our header from the Report's SPF, DKIM and DMARC results, added to the
// message unless it is refused (one line; the front-end folds it, auth::fold_header_value).
// Attacker text in it is bounded so that every line stays within RFC 5322's 998 octets: a
// local part over 64 octets or not ASCII is left out of smtp.mailfrom (domains are A-labels:
// the header stays ASCII, RFC 8616), a value over 255 octets is left out,
// and at most dkim_max_signatures DKIM results are named. Parameters read: authserv_id,
// trusted_authserv_ids. Always on; never throws for any header.
#include "engine/checks/checks.hh"

#include "auth/authres.hh"
#include "auth/idna.hh"

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

// Attacker text in our header is bounded, since a property value is never folded inside and a
// line holds at most 998 octets (RFC 5322 §2.1.1). A value longer than the longest DNS name is
// left out rather than cut: a cut value would name another domain or selector.
constexpr std::size_t max_property_octets = 255;
// RFC 5321 §4.5.3.1.1: a local part has at most 64 octets.
constexpr std::size_t max_local_part_octets = 64;

void add_property(auth::AuthResult& result, std::string name, std::string_view value) {
    if (!value.empty() && value.size() <= max_property_octets)
        result.properties.emplace_back(std::move(name), std::string(value));
}

// smtp.mailfrom: the address, or only its domain when the local part is longer than RFC 5321
// allows or is not ASCII (an SMTPUTF8 sender: our header stays ASCII, its domain is already
// A-labels). RFC 8601's pvalue may be a bare domain-name, and SPF authenticates the domain
// alone, so nothing authenticated is lost; a cut local part would name another mailbox. A
// domain that is still not ASCII (malformed, SPF none) is left out.
std::string_view mailfrom_value(std::string_view identity) {
    const std::size_t at = identity.rfind('@');
    if (at != std::string_view::npos &&
        (at > max_local_part_octets || auth::has_non_ascii(identity.substr(0, at))))
        identity = identity.substr(at + 1);
    return auth::has_non_ascii(identity) ? std::string_view{} : identity;
}

void add_spf(const Report& report, auth::AuthenticationResults& header) {
    if (!report.spf_mailfrom)
        return;
    const auth::SpfResult& spf = *report.spf_mailfrom;
    auth::AuthResult result = auth_result("spf", spf.result);
    if (spf.result != "pass" && !spf.reason.empty())
        result.reason = spf.reason;
    add_property(result, "smtp.mailfrom", mailfrom_value(spf.identity));
    header.results.push_back(std::move(result));
}

// The signatures evaluated (at most dkim_max_signatures), then one dkim=policy saying how many
// more there were: a message with 200 signatures cannot make us name 200 domains.
void add_dkim(const Report& report, auth::AuthenticationResults& header) {
    if (report.dkim.empty())
        header.results.push_back(auth_result("dkim", "none"));
    for (const auto& signature : report.dkim) {
        auth::AuthResult result = auth_result("dkim", signature.result, signature.reason);
        add_property(result, "header.d", signature.domain);
        add_property(result, "header.s", signature.selector);
        add_property(result, "header.a", signature.algorithm);
        header.results.push_back(std::move(result));
    }
    if (report.dkim_not_evaluated > 0)
        header.results.push_back(auth_result("dkim", "policy",
                                             std::to_string(report.dkim_not_evaluated) +
                                                 " more signatures not evaluated"));
}

// One dmarc result: for several author domains the strictest (checks/dmarc.cc). RFC 9989 §9.1's
// policy.dmarc names the policy applied after its options (t=y) when DMARC fails.
void add_dmarc(const Report& report, auth::AuthenticationResults& header) {
    if (!report.dmarc)
        return;
    const auth::DmarcResult& dmarc = *report.dmarc;
    auth::AuthResult result = auth_result("dmarc", dmarc.result);
    result.properties.reserve(2); // header.from, and policy.dmarc on fail: one allocation
    if (!dmarc.policy.empty())
        result.reason = "p=" + dmarc.policy + " dis=" + dmarc.disposition;
    else if (dmarc.from_domain.empty())
        result.reason = dmarc.reason; // no author domain evaluated: why
    add_property(result, "header.from", dmarc.from_domain);
    // No author domain at all: header.from=none (issue 15 item 7).
    if (report.from.problem == auth::FromProblem::missing ||
        report.from.problem == auth::FromProblem::no_domain)
        result.properties.push_back({"header.from", "none"});
    if (dmarc.result == "fail" && !dmarc.policy.empty())
        result.properties.push_back({"policy.dmarc", dmarc.disposition});
    header.results.push_back(std::move(result));
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
