// DMARC (auth/dmarc.hh) for inbound mail at the end of the message: the From domain's policy
// and the alignment of what SPF (MAIL FROM only, never HELO: CVE-2019-20790) and DKIM found,
// into Report::dmarc. A From with several author domains (several addresses, or repeated From
// headers of one address each) has each distinct domain evaluated, at most max_author_domains,
// and the strictest result speaks for the message (auth/dmarc_authors.hh, RFC 9989 §11.5); each
// one is kept in Report::dmarc_authors. A From without author domain is permerror. The decision
// table's from_header_action still comes first for both. What our DNS trouble leaves undecided
// is temperror, not fail (settle_dns_trouble). The verdict is the decision table's. Reads
// dmarc_discovery (treewalk, or psl with public_suffix_list through the Engine); always on;
// never throws for any message.
#include "engine/checks/checks.hh"

#include "auth/dmarc.hh"
#include "auth/dmarc_authors.hh"
#include "util/ascii.hh"

namespace mailwarden::engine::checks {

namespace {

// An identifier SPF or DKIM gave a result for, and the lookup behind it.
struct Identifier {
    std::string_view result;
    std::string_view domain;
    std::string lookup; // what a 4.4.3 text names when the result is temperror
    bool dkim = false;
};

std::vector<Identifier> identifiers(const Report& report) {
    std::vector<Identifier> found;
    if (report.spf_mailfrom)
        found.push_back({report.spf_mailfrom->result, report.spf_mailfrom->domain,
                         "the SPF record of " + report.spf_mailfrom->domain});
    for (const auto& signature : report.dkim)
        found.push_back({signature.result, signature.domain,
                         signature.selector + "._domainkey." + signature.domain, true});
    return found;
}

// What our DNS trouble leaves undecided (RFC 9989 §5.3.6: a query that did not complete means
// the message can neither pass nor fail; RFC 8601 then says temperror):
// - a fail where SPF or DKIM is temperror for a domain that could align with the From domain
//   (DmarcResult::temperror_could_align, decided on the record's own discovery) becomes
//   temperror, since that result could have made it pass; a temperror of a domain that can
//   never align leaves the fail certain;
// - a record that could not be fetched cannot refuse a message whose SPF or DKIM passes for
//   the From domain itself (aligned under any record): it is marked aligned, and the decision
//   table accepts it.
// failed_lookup names the lookup behind a temperror for the 4.4.3 text.
void settle_dns_trouble(auth::DmarcResult& dmarc, const Report& report) {
    const bool settle_fail = dmarc.result == "fail" && dmarc.temperror_could_align;
    if (!settle_fail && dmarc.result != "temperror")
        return; // no DNS trouble: nothing to build for most messages
    const std::string from = util::ascii_lowered(dmarc.from_domain);
    const std::vector<Identifier> found = identifiers(report);
    if (settle_fail) {
        dmarc.result = "temperror";
        dmarc.reason = "aligned lookup failed";
        dmarc.disposition = "none";
        for (const Identifier& identifier : found)
            if (identifier.result == "temperror" && dmarc.failed_lookup.empty())
                dmarc.failed_lookup = identifier.lookup;
    } else if (dmarc.result == "temperror") {
        for (const Identifier& identifier : found)
            if (identifier.result == "pass" && util::ascii_lowered(identifier.domain) == from) {
                (identifier.dkim ? dmarc.dkim_aligned : dmarc.spf_aligned) = true;
                if (identifier.dkim && dmarc.aligned_dkim_domain.empty())
                    dmarc.aligned_dkim_domain = from;
            }
    }
}

class Dmarc final : public Check {
public:
    explicit Dmarc(const CheckContext& context)
        : Check("dmarc", hooks_of(Hook::end_of_message), Direction::inbound),
          evaluator_(context.resolver, context.public_suffixes,
                     {.discovery = context.config.string("dmarc_discovery") == "psl"
                                       ? auth::DmarcDiscovery::psl
                                       : auth::DmarcDiscovery::treewalk}) {}

    void end_of_message(Stage& stage) const override {
        Report& report = stage.report();
        if (report.from.problem == auth::FromProblem::none) {
            auth::DmarcInput input = dmarc_input(report);
            input.from_domain = report.from.domain;
            report.dmarc = evaluate(input, report);
        } else if (report.from.domains.size() > 1) {
            evaluate_each_author(report);
        } else {
            report.dmarc.emplace();
            report.dmarc->result = "permerror";
            report.dmarc->reason =
                "From header: " + std::string(auth::from_problem_name(report.from.problem));
        }
    }

private:
    static auth::DmarcInput dmarc_input(const Report& report) {
        auth::DmarcInput input;
        if (report.spf_mailfrom) {
            input.spf_mailfrom_result = report.spf_mailfrom->result;
            input.spf_mailfrom_domain = report.spf_mailfrom->domain;
        }
        for (const auto& signature : report.dkim)
            input.dkim.push_back({signature.result, signature.domain});
        return input;
    }

    auth::DmarcResult evaluate(const auth::DmarcInput& input, const Report& report) const {
        auth::DmarcResult dmarc = evaluator_.evaluate(input);
        settle_dns_trouble(dmarc, report);
        return dmarc;
    }

    // RFC 9989 §11.5: each author domain, the strictest result for the message.
    void evaluate_each_author(Report& report) const {
        const auto domains = auth::distinct_author_domains(report.from.domains);
        if (domains.size() > auth::max_author_domains) {
            report.dmarc = auth::too_many_author_domains(domains.size());
            return;
        }
        auth::DmarcInput input = dmarc_input(report);
        std::vector<auth::DmarcResult> results;
        for (const std::string_view domain : domains) {
            input.from_domain = domain;
            results.push_back(evaluate(input, report));
        }
        report.dmarc = results[auth::strictest_dmarc_result(results)];
        if (results.size() > 1)
            report.dmarc_authors = std::move(results);
    }

    auth::DmarcEvaluator evaluator_;
};

} // namespace

std::unique_ptr<const Check> dmarc(const CheckContext& context) {
    return std::make_unique<Dmarc>(context);
}

} // namespace mailwarden::engine::checks
