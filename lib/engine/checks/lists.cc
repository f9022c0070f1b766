// The allow and deny lists. Parameters read: allow_networks, deny_networks (client addresses,
// at MAIL) and allow_domains, deny_domains (the domain DMARC authenticated, at the end of the
// message; a name written in U-labels is compared as its A-labels). Each pair is one check
// for inbound mail, off when both its lists are empty. A denied client or domain is rejected
// (550 5.7.1); an allowed one is noted in the Report (client_allow_listed,
// domain_allow_listed) for the checks after it: client rate limits, greylisting and
// reputation spare it. Never throws after construction.
#include "engine/checks/checks.hh"

#include "engine/limits.hh"
#include "util/ascii.hh"
#include "util/cidr.hh"

#include <algorithm>

namespace mailwarden::engine::checks {

namespace {

class NetworkLists final : public Check {
public:
    explicit NetworkLists(const config::Config& config)
        : Check("networks", hooks_of(Hook::mail), Direction::inbound),
          allow_(config.cidrs("allow_networks")), deny_(config.cidrs("deny_networks")) {}
    bool off() const { return allow_.empty() && deny_.empty(); }

    void mail(Stage& stage) const override {
        const std::string& client_ip = stage.connection().client_ip;
        stage.report().client_allow_listed = allow_.contains(client_ip);
        if (deny_.contains(client_ip))
            stage.propose(
                Verdict::reject("5.7.1", "client network is not accepted here", "deny_network"));
    }

private:
    util::CidrSet allow_;
    util::CidrSet deny_;
};

// The configured domains as the authenticated domain is written: lower case, A-labels
// (domain_key_text, the form state keys hold domains in; config check refused a name that
// does not convert).
std::vector<std::string> in_dns_form(const std::vector<std::string>& domains) {
    std::vector<std::string> result;
    for (const auto& domain : domains)
        result.push_back(domain_key_text(domain));
    return result;
}

bool listed(const std::vector<std::string>& domains, std::string_view domain) {
    const std::string key = util::ascii_lowered(domain);
    return !key.empty() && std::ranges::find(domains, key) != domains.end();
}

class DomainLists final : public Check {
public:
    explicit DomainLists(const config::Config& config)
        : Check("domains", hooks_of(Hook::end_of_message), Direction::inbound),
          allow_(in_dns_form(config.list("allow_domains"))),
          deny_(in_dns_form(config.list("deny_domains"))) {}
    bool off() const { return allow_.empty() && deny_.empty(); }

    void end_of_message(Stage& stage) const override {
        Report& report = stage.report();
        const std::string domain = report.authenticated_domain();
        report.domain_allow_listed = listed(allow_, domain);
        if (!stage.verdict().is_final() && listed(deny_, domain))
            stage.propose(Verdict::reject(
                "5.7.1", "mail from " + smtp_safe_text(domain, 100) + " is not accepted here",
                "deny_domain"));
    }

private:
    std::vector<std::string> allow_; // lower case, A-labels
    std::vector<std::string> deny_;
};

template <typename List> std::unique_ptr<const Check> unless_off(std::unique_ptr<List> check) {
    if (check->off())
        return nullptr;
    return check;
}

} // namespace

std::unique_ptr<const Check> network_lists(const CheckContext& context) {
    return unless_off(std::make_unique<NetworkLists>(context.config));
}

std::unique_ptr<const Check> domain_lists(const CheckContext& context) {
    return unless_off(std::make_unique<DomainLists>(context.config));
}

} // namespace mailwarden::engine::checks
