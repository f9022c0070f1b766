// DMARC for several author domains; see dmarc_authors.hh for the contract and the order.
#include "auth/dmarc_authors.hh"

#include "util/ascii.hh"

#include <algorithm>

namespace mailwarden::auth {

namespace {

// Higher is stricter (dmarc_authors.hh, read from the bottom of its list up).
int strictness(const DmarcResult& dmarc) {
    if (dmarc.result == "fail")
        return dmarc.disposition == "reject" ? 8 : dmarc.disposition == "quarantine" ? 6 : 5;
    if (dmarc.result == "temperror")
        return dmarc_temperror_may_hide_a_refusal(
                   dmarc.result, dmarc.spf_aligned || dmarc.dkim_aligned, dmarc.policy)
                   ? 7
                   : 4;
    if (dmarc.result == "permerror")
        return 3;
    if (dmarc.result == "none")
        return 2;
    return dmarc.result == "pass" ? 1 : 3; // an unknown word is an error, never a pass
}

} // namespace

std::vector<std::string_view> distinct_author_domains(std::span<const std::string> domains) {
    std::vector<std::string_view> distinct;
    for (const std::string& domain : domains)
        if (std::ranges::none_of(distinct, [&](std::string_view seen) {
                return util::equal_ignoring_ascii_case(seen, domain);
            }))
            distinct.emplace_back(domain);
    return distinct;
}

bool dmarc_temperror_may_hide_a_refusal(std::string_view result, bool aligned,
                                        std::string_view policy) {
    return result == "temperror" && !aligned && (policy.empty() || policy == "reject");
}

std::size_t strictest_dmarc_result(std::span<const DmarcResult> results) {
    std::size_t strictest = 0;
    for (std::size_t i = 1; i < results.size(); ++i)
        if (strictness(results[i]) > strictness(results[strictest]))
            strictest = i;
    return strictest;
}

DmarcResult too_many_author_domains(std::size_t count) {
    DmarcResult dmarc;
    dmarc.result = "permerror";
    dmarc.reason = std::to_string(count) + " author domains, at most " +
                   std::to_string(max_author_domains) + " are evaluated";
    return dmarc;
}

} // namespace mailwarden::auth
