// check_host() of RFC 7208 §4 on our dns::Resolver: record lookup and selection (§4.4, §4.5),
// strict parsing (§4.6, spf_syntax.hh), mechanisms left to right (§4.6.2, §5), redirect=
// only when no mechanism matched (§6.1), exp= for fail (§6.2), macros (§7, spf_macro.hh),
// and the limits of §4.6.4 counted over the whole evaluation, include and redirect chains
// included: 10 DNS-querying terms, 2 terms with void lookups, 10 MX names, the first 10 PTR
// names.
// A deadline bounds the evaluation (temperror when spent). Used by SpfVerifier (spf.hh);
// one SpfEvaluation per check, on one thread. Never throws except std::bad_alloc.
#pragma once

#include "auth/spf_syntax.hh"
#include "dns/resolver.hh"
#include "util/cidr.hh"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::auth::spf_detail {

enum class SpfCode { pass, fail, softfail, neutral, none, temperror, permerror };

std::string_view code_word(SpfCode code); // RFC 8601 result words

struct SpfRequest {
    util::IpAddress client;
    std::string sender;             // local-part@domain (postmaster@HELO for HELO checks)
    std::string_view local_part;    // into sender
    std::string_view sender_domain; // into sender
    std::string helo;
    std::string receiver; // %{r}
};

struct SpfOutcome {
    SpfCode code = SpfCode::neutral;
    std::string reason;
    // For fail: the exp= domain-spec of the record that decided ("" = none) and that
    // record's domain (%{d} of the explanation).
    std::string explanation_spec;
    std::string explanation_domain;
};

class SpfEvaluation {
public:
    using Clock = std::chrono::steady_clock;

    SpfEvaluation(const SpfRequest& request, dns::Resolver& resolver, Clock::time_point deadline);

    // The whole check_host() for the request's identity domain.
    SpfOutcome check_host(std::string_view domain);
    // The explanation of a fail outcome: its exp= text, else default_explanation, expanded.
    std::string explanation(const SpfOutcome& outcome, std::string_view default_explanation);

private:
    enum class Match { no, yes, stop };

    SpfOutcome evaluate_domain(std::string_view domain);
    SpfOutcome evaluate_record(const SpfRecord& record, std::string_view domain);
    SpfOutcome apply_redirect(std::string_view redirect, std::string_view domain);
    Match evaluate(const SpfMechanism& mechanism, std::string_view domain);
    Match match_addresses(std::string_view name, int ip4_length, int ip6_length);
    Match match_mx(std::string_view target, const SpfMechanism& mechanism);
    Match match_ptr(std::string_view target);
    Match match_exists(std::string_view target);
    Match match_include(const SpfMechanism& mechanism, std::string_view domain);

    // The expanded, truncated (§7.3) name of a domain-spec ("" = %{d}); nullopt when the
    // expansion is not a usable DNS name. Sets stop_ when a lookup for %{p} ran out of time.
    std::optional<std::string> target_name(std::string_view domain_spec, std::string_view domain);
    std::string validated_name(std::string_view domain); // %{p}
    const std::vector<std::string>& validated_names();
    bool validate_reverse_names(std::vector<std::string>& validated);
    bool has_address(std::string_view name);

    std::optional<dns::Answer> lookup(std::string_view name, dns::RrType type);
    std::optional<dns::Answer> term_lookup(std::string_view name, dns::RrType type);
    bool count_dns_term();
    bool count_void_lookup();
    Match stop(SpfCode code, std::string reason);
    Match stop_for_dns(const dns::Answer& answer);
    bool matches_client(const util::IpAddress& address, int ip4_length, int ip6_length) const;

    const SpfRequest& request_;
    dns::Resolver& resolver_;
    Clock::time_point deadline_;
    int dns_terms_ = 0;
    int void_lookups_ = 0;
    int depth_ = 0;
    bool term_void_ = false;         // the current term has counted its void lookup
    bool counting_voids_ = true;     // not for the explanation
    std::optional<SpfOutcome> stop_; // set once: the evaluation ends with it
    std::optional<std::vector<std::string>> validated_names_;
};

} // namespace mailwarden::auth::spf_detail
