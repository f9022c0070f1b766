// The order in which the engine's checks run, at every stage. Each entry is a module of
// checks/ (its factory returns nullptr when the configuration leaves it off). Why this order:
//   from        the author, for DMARC and everything after it
//   networks    deny_networks refuses at MAIL before any DNS lookup is made
//   spf, dkim, dmarc   the authentication results, each reading the ones before it
//   decision    the decision table over those results (a refusal at MAIL counts no rate)
//   domains     deny_domains for the domain DMARC authenticated, unless already refused
//   rate, grey, rep   state: one batch per stage, in this order; reputation moves with the
//               verdict so far
//   authres     our Authentication-Results header from the final results
//   sign        DKIM signatures of outbound mail, after every check that can refuse it: only
//               mail no check refused is signed
//   reports     what the message adds to DMARC reports: its disposition and A-R are final
// A new capability is one module in checks/ and one line here.
#include "engine/check.hh"
#include "engine/checks/checks.hh"

namespace mailwarden::engine {

CheckList standard_checks(const CheckContext& context) {
    CheckList list;
    const auto add = [&list](std::unique_ptr<const Check> check) {
        if (check)
            list.push_back(std::move(check));
    };
    add(checks::from_header(context));
    add(checks::network_lists(context));
    add(checks::spf(context));
    add(checks::dkim_verify(context));
    add(checks::dmarc(context));
    add(checks::decision_table(context));
    add(checks::domain_lists(context));
    add(checks::rate_limits(context));
    add(checks::greylisting(context));
    add(checks::reputation(context));
    add(checks::authentication_results(context));
    add(checks::dkim_sign(context));
    add(checks::dmarc_report(context));
    return list;
}

} // namespace mailwarden::engine
