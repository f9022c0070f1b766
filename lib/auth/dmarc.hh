// DMARC (RFC 9989) for one author domain: policy discovery, Organizational Domains and
// identifier alignment, by the DNS Tree Walk (dmarc_discovery.hh, the default) or, for
// comparison, by RFC 7489's Public Suffix List method (dmarc_discovery = psl); records are
// read by our own parser (dmarc_record.hh: libopendmarc 1.4.2 knows neither np, psd nor t,
// and refuses records without p). All DNS goes through our dns::Resolver.
//
// Decisions (RFC 9989 unless said otherwise):
//   - Discovery (§4.10.1): the record at _dmarc.<author domain>; else, by tree walk, the
//     record of the author domain's Organizational Domain, else that of its Public Suffix
//     Domain (the psd=y record the walk stopped at). PSL mode: the author domain, then its
//     PSL organizational domain. No record: result none.
//   - A broken record (v=DMARC1 without a usable p and without a valid rua, see
//     dmarc_record.hh) is found but not applied: result permerror (RFC 9989 §9.2, RFC 7489
//     §11.2), no policy.
//   - Alignment (§4.4, §4.10.2): a pass of the SPF MAIL FROM identity (never HELO: the hole
//     behind CVE-2019-20790) or of a DKIM d=; strict = the same name; relaxed = the same
//     Organizational Domain. Identical names align without DNS; names without a common
//     suffix never align and cost no walk.
//   - Result: pass when an identifier aligns; else temperror when DNS trouble left a needed
//     walk or record unread; else fail. A fail says whether an SPF or DKIM temperror was for
//     a domain that could have aligned (temperror_could_align): only then can the decision
//     table call the fail uncertain.
//   - Policy (§4.10.1): p when the record is the author domain's; else np when the record
//     has np and the author domain does not exist (NXDOMAIN, asked only for a failing
//     message), else sp, else p. t=y lowers the disposition one step (reject → quarantine →
//     none). pct, rf and ri are ignored (RFC 9989 removed them).
//   - The author domain's Organizational Domain is determined only when needed (a walk for
//     discovery or relaxed alignment); "" otherwise.
// Never throws; thread-safe (each evaluation has its own per-message DNS view).
#pragma once

#include "auth/public_suffix.hh"
#include "dns/resolver.hh"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::auth {

enum class DmarcDiscovery { treewalk, psl };
std::string_view discovery_name(DmarcDiscovery method); // "treewalk", "psl"

struct DmarcInput {
    std::string from_domain;         // RFC5322.From domain, already parsed strictly
    std::string spf_mailfrom_result; // RFC 8601 word for the MAIL FROM identity only
    std::string spf_mailfrom_domain; // that identity's domain (null sender: the HELO name)
    struct Dkim {
        std::string result; // RFC 8601 word
        std::string domain; // d=
    };
    std::vector<Dkim> dkim;
};

struct DmarcResult {
    std::string result; // pass fail none temperror permerror
    std::string from_domain;
    std::string organizational_domain; // of the From domain; "" when not needed
    std::string record_domain;         // the DMARC Policy Domain; "" when no record applies
    std::string record;                // that record's text as published
    std::string discovery_method;      // "treewalk" or "psl"
    std::string policy;     // requested for this message: none quarantine reject; "" = none found
    std::string policy_tag; // where it came from: "p", "sp" or "np"
    bool testing = false;   // t=y: the disposition is one step below the policy
    std::string disposition = "none"; // what the policy asks for this message
    bool psd_record = false;          // the record applied has psd=y (no failure reports)
    bool spf_aligned = false;
    bool dkim_aligned = false;
    std::string aligned_dkim_domain; // the d= that aligned
    // Without a pass: an SPF (MAIL FROM) or DKIM temperror was for a domain that could have
    // aligned (or whether it could is unknown), so the DNS trouble may have changed the result.
    // A temperror of a domain that can never align leaves the fail certain (issue 13 item 8).
    bool temperror_could_align = false;
    std::string reason;             // short fixed text, e.g. "no record", "dns timeout"
    std::string failed_lookup;      // temperror: the name whose lookup failed ("_dmarc.x.org")
    std::vector<std::string> notes; // record problems, for the aggregate report's <error>
    std::size_t dns_queries = 0;    // TXT/A queries this evaluation sent
};

struct DmarcOptions {
    DmarcDiscovery discovery = DmarcDiscovery::treewalk;
};

// The Organizational Domain of a name by the given method, for callers outside one message's
// evaluation (the report job's external-destination check); nullopt on DNS trouble. The
// finder keeps the answers it got (a job's worth) and is not thread-safe.
using OrganizationFinder = std::function<std::optional<std::string>(const std::string& domain)>;
OrganizationFinder make_organization_finder(dns::Resolver& resolver,
                                            const PublicSuffixList& public_suffixes,
                                            DmarcDiscovery method);

class DmarcEvaluator {
public:
    // public_suffixes is used in psl mode only.
    DmarcEvaluator(dns::Resolver& resolver, const PublicSuffixList& public_suffixes,
                   DmarcOptions options = {});
    DmarcResult evaluate(const DmarcInput& input) const; // thread-safe

    DmarcDiscovery discovery() const { return options_.discovery; }

private:
    dns::Resolver* resolver_;
    const PublicSuffixList* public_suffixes_;
    DmarcOptions options_;
};

} // namespace mailwarden::auth
