// Verifying external report destinations (RFC 9990 §4; RFC 9991 §4 for ruf): an address whose
// host is not in the policy domain's Organizational Domain is used only when
// <policy domain>._report._dmarc.<host> holds a TXT record starting with v=DMARC1; an rua (or
// ruf) tag there replaces the address, on the same host only, otherwise neither is used.
//
// Decisions:
//   - Organizational Domains by the configured discovery method (auth::OrganizationFinder).
//   - A name over 253 bytes cannot be asked: the address is refused.
//   - DNS trouble (timeout, SERVFAIL) refuses nothing for good: dns_error is set and the
//     caller tries the whole report again later (RFC 9990 §4 step 5 allows it).
//   - Addresses are returned once each (case-insensitive), in the order of the record.
#pragma once

#include "auth/dmarc.hh"
#include "dns/resolver.hh"

#include <string>
#include <vector>

namespace mailwarden::report {

struct VerifiedDestinations {
    std::vector<std::string> addresses; // where the report goes
    std::vector<std::string> refused;   // "ADDRESS: why", for the log
    bool dns_error = false;
};

// failure_reports: read ruf instead of rua from the confirming record.
VerifiedDestinations verify_destinations(dns::Resolver& resolver,
                                         const auth::OrganizationFinder& organization_of,
                                         const std::string& policy_domain,
                                         const std::vector<std::string>& addresses,
                                         bool failure_reports);

} // namespace mailwarden::report
