// DMARC (RFC 7489) for one message: policy discovery through our dns::Resolver, the record
// parsed by libopendmarc (handed over with opendmarc_policy_store_dmarc, so the library never
// does DNS), organizational domains from our Public Suffix List, identifier alignment, and
// the policy and disposition that apply.
//
// Decisions (RFC 7489 §6.6.3 unless said otherwise):
//   - The record is looked up at _dmarc.<From domain>, then at _dmarc.<organizational
//     domain> when the first name has none (NXDOMAIN/NODATA or no v=DMARC1 record).
//   - TXT strings that do not start with v=DMARC1 are discarded; several DMARC records at
//     one name mean no DMARC processing: result none, reason "several records".
//   - A record libopendmarc cannot parse (bad p=, bad pct=, no p=...) is treated as p=none
//     when it has a rua= tag, else as no record (result none, reason "invalid record").
//   - DNS timeout or SERVFAIL on either lookup: temperror (no fallback on trouble).
//   - Alignment: strict = same name, relaxed = same organizational domain (adkim=/aspf=).
//     Only the MAIL FROM identity's SPF result may align; the input has no HELO field, so
//     a HELO pass can never count (the hole behind CVE-2019-20790).
//   - sp= applies when the record came from the organizational domain and the From domain
//     is a subdomain of it; else p=.
//   - pct= sampling (§6.6.4): a message outside the sample gets the next weaker
//     disposition (reject → quarantine → none). The sampler is injectable for tests.
// Never throws after construction (which throws std::runtime_error if libopendmarc fails).
#pragma once

#include "auth/public_suffix.hh"
#include "dns/resolver.hh"

#include <functional>
#include <string>
#include <vector>

namespace mailwarden::auth {

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
    std::string organizational_domain;
    std::string record_domain;        // where the record was found; "" when none
    std::string policy;               // none quarantine reject as applied (p or sp); "" = no record
    std::string disposition = "none"; // what the policy asks for this message, after pct
    unsigned pct = 100;
    bool spf_aligned = false;
    bool dkim_aligned = false;
    std::string aligned_dkim_domain; // the d= that aligned
    std::string reason;              // short fixed text, e.g. "no record", "dns timeout"
    std::string failed_lookup;       // temperror: the name whose lookup failed ("_dmarc.x.org")
};

class DmarcEvaluator {
public:
    // percent_sampler returns 0..99; the default draws from a thread-local random engine.
    DmarcEvaluator(dns::Resolver& resolver, const PublicSuffixList& public_suffixes,
                   std::function<unsigned()> percent_sampler = {});
    DmarcResult evaluate(const DmarcInput& input) const; // thread-safe

private:
    bool aligned(std::string_view identifier, std::string_view from_domain, bool strict) const;

    dns::Resolver* resolver_;
    const PublicSuffixList* public_suffixes_;
    std::function<unsigned()> percent_sampler_;
};

} // namespace mailwarden::auth
