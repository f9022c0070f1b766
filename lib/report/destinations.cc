// See destinations.hh.
#include "report/destinations.hh"

#include "auth/dmarc_record.hh"
#include "util/ascii.hh"

#include <algorithm>

namespace mailwarden::report {

namespace {

constexpr std::size_t max_dns_name_bytes = 253;

std::string host_of(const std::string& address) {
    return util::ascii_lowered(address.substr(address.rfind('@') + 1));
}

enum class Check { same_organization, authorized, refused, dns_error };

struct Confirmation {
    Check check = Check::refused;
    std::vector<std::string> overrides; // from the confirming record, same host only
    std::string why;
};

Confirmation confirm(dns::Resolver& resolver, const auth::OrganizationFinder& organization_of,
                     const std::string& policy_domain, const std::string& host,
                     bool failure_reports) {
    const auto ours = organization_of(policy_domain);
    const auto theirs = organization_of(host);
    if (!ours || !theirs)
        return {Check::dns_error, {}, "dns error"};
    if (*ours == *theirs)
        return {Check::same_organization, {}, ""};
    const std::string name = policy_domain + "._report._dmarc." + host;
    if (name.size() > max_dns_name_bytes)
        return {Check::refused, {}, "verification name too long"};
    const dns::Answer answer = resolver.query(name, dns::RrType::txt);
    if (answer.status == dns::Status::timeout || answer.status == dns::Status::servfail ||
        answer.status == dns::Status::error)
        return {Check::dns_error, {}, "dns error"};
    for (const dns::Record& record : answer.records) {
        const auto parsed = auth::parse_dmarc_record(record.text);
        if (!parsed)
            continue;
        Confirmation confirmation{Check::authorized, {}, ""};
        for (const std::string& address : failure_reports ? parsed->ruf : parsed->rua) {
            if (host_of(address) != host)
                return {Check::refused, {}, "override to another host"};
            confirmation.overrides.push_back(address);
        }
        return confirmation;
    }
    return {Check::refused, {}, "not authorized by " + name};
}

void add_once(std::vector<std::string>& addresses, const std::string& address) {
    if (std::none_of(addresses.begin(), addresses.end(), [&](const std::string& known) {
            return util::equal_ignoring_ascii_case(known, address);
        }))
        addresses.push_back(address);
}

} // namespace

VerifiedDestinations verify_destinations(dns::Resolver& resolver,
                                         const auth::OrganizationFinder& organization_of,
                                         const std::string& policy_domain,
                                         const std::vector<std::string>& addresses,
                                         bool failure_reports) {
    VerifiedDestinations verified;
    const std::string domain = util::ascii_lowered(policy_domain);
    for (const std::string& address : addresses) {
        if (address.empty() || address.front() == '-') {
            verified.refused.push_back(address + ": not a usable address");
            continue;
        }
        const Confirmation confirmation =
            confirm(resolver, organization_of, domain, host_of(address), failure_reports);
        switch (confirmation.check) {
        case Check::same_organization:
            add_once(verified.addresses, address);
            break;
        case Check::authorized:
            if (confirmation.overrides.empty())
                add_once(verified.addresses, address);
            for (const std::string& replacement : confirmation.overrides)
                add_once(verified.addresses, replacement);
            break;
        case Check::dns_error:
            verified.dns_error = true;
            [[fallthrough]];
        case Check::refused:
            verified.refused.push_back(address + ": " + confirmation.why);
            break;
        }
    }
    return verified;
}

} // namespace mailwarden::report
