// DMARC (auth/dmarc.hh) for inbound mail at the end of the message: the From domain's policy
// and the alignment of what SPF (MAIL FROM only, never HELO: CVE-2019-20790) and DKIM found,
// into Report::dmarc. Not evaluated when the From header has no single author domain (the
// decision table's from_header_action applies). What our DNS trouble leaves undecided is
// temperror, not fail (settle_dns_trouble). The verdict is the decision table's. Reads
// dmarc_discovery (treewalk, or psl with public_suffix_list through the Engine); always on;
// never throws for any message.
#include "engine/checks/checks.hh"

#include "auth/dmarc.hh"
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
        if (report.from.problem != auth::FromProblem::none)
            return;
        auth::DmarcInput input;
        input.from_domain = report.from.domain;
        if (report.spf_mailfrom) {
            input.spf_mailfrom_result = report.spf_mailfrom->result;
            input.spf_mailfrom_domain = report.spf_mailfrom->domain;
        }
        for (const auto& signature : report.dkim)
            input.dkim.push_back({signature.result, signature.domain});
        report.dmarc = evaluator_.evaluate(input);
        settle_dns_trouble(*report.dmarc, report);
    }

private:
    auth::DmarcEvaluator evaluator_;
};

} // namespace

std::unique_ptr<const Check> dmarc(const CheckContext& context) {
    return std::make_unique<Dmarc>(context);
}

} // namespace mailwarden::engine::checks
