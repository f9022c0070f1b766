// See dmarc.hh for the contract and the decisions.
#include "auth/dmarc.hh"
#include "util/ascii.hh"

#include <sys/types.h> // u_char, which dmarc.h uses without including it

#include <netinet/in.h>
#include <opendmarc/dmarc.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>

namespace mailwarden::auth {

namespace {

struct PolicyFree {
    void operator()(DMARC_POLICY_T* policy) const noexcept {
        opendmarc_policy_connect_shutdown(policy);
    }
};

void initialize_library() {
    static std::once_flag once;
    static int status = 0;
    std::call_once(once, [] {
        static OPENDMARC_LIB_T settings{}; // no TLD file, no name servers: we do both
        settings.tld_type = OPENDMARC_TLD_TYPE_NONE;
        status = opendmarc_policy_library_init(&settings);
    });
    if (status != DMARC_PARSE_OKAY)
        throw std::runtime_error("libopendmarc: library init failed");
}

// "v=DMARC1" as the first tag, spaces around '=' allowed (RFC 7489 §6.4 ABNF).
bool is_dmarc_record(std::string_view text) {
    const auto skip_space = [&] {
        while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
            text.remove_prefix(1);
    };
    skip_space();
    if (text.empty() || text.front() != 'v')
        return false;
    text.remove_prefix(1);
    skip_space();
    if (text.empty() || text.front() != '=')
        return false;
    text.remove_prefix(1);
    skip_space();
    if (!text.starts_with("DMARC1"))
        return false;
    text.remove_prefix(6);
    skip_space();
    return text.empty() || text.front() == ';';
}

// A rua= tag with a mailto: URI: enough to act as p=none under §6.6.3 step 6.
bool has_rua_tag(std::string_view record) {
    const std::string text = util::ascii_lowered(record);
    const auto tag = text.find("rua");
    return tag != std::string::npos && text.find("mailto:", tag) != std::string::npos;
}

enum class Discovery { found, absent, several, temperror };

struct Lookup {
    Discovery outcome = Discovery::absent;
    std::string record;
    std::string reason;
};

Lookup fetch_record(dns::Resolver& resolver, const std::string& domain) {
    const dns::Answer answer = resolver.query("_dmarc." + domain, dns::RrType::txt);
    switch (answer.status) {
    case dns::Status::ok:
        break;
    case dns::Status::nxdomain:
    case dns::Status::nodata:
        return {Discovery::absent, "", "no record"};
    case dns::Status::timeout:
        return {Discovery::temperror, "", "dns timeout"};
    default:
        return {Discovery::temperror, "", "dns error"};
    }
    Lookup lookup{Discovery::absent, "", "no record"};
    for (const auto& record : answer.records) {
        if (!is_dmarc_record(record.text))
            continue;
        if (lookup.outcome == Discovery::found)
            return {Discovery::several, "", "several records"};
        lookup = {Discovery::found, record.text, ""};
    }
    return lookup;
}

std::string policy_word(int code) {
    switch (code) {
    case DMARC_RECORD_P_NONE:
        return "none";
    case DMARC_RECORD_P_QUARANTINE:
        return "quarantine";
    case DMARC_RECORD_P_REJECT:
        return "reject";
    default:
        return "";
    }
}

std::string weaker(const std::string& disposition) {
    return disposition == "reject" ? "quarantine" : "none";
}

unsigned random_percent() {
    thread_local std::mt19937 engine{std::random_device{}()};
    return static_cast<unsigned>(std::uniform_int_distribution<unsigned>(0, 99)(engine));
}

struct ParsedRecord {
    bool valid = false;
    std::string p, sp;
    unsigned pct = 100;
    bool strict_dkim = false, strict_spf = false;
};

// libopendmarc parses; a record it rejects is p=none when it has rua=, else invalid.
ParsedRecord parse_record(const std::string& record, const std::string& record_domain,
                          const std::string& organizational_domain) {
    std::unique_ptr<DMARC_POLICY_T, PolicyFree> context(opendmarc_policy_connect_init(
        reinterpret_cast<u_char*>(const_cast<char*>("127.0.0.1")), DMARC_POLICY_IP_TYPE_IPV4));
    ParsedRecord parsed;
    if (!context)
        return parsed;
    std::string record_copy = record, domain_copy = record_domain,
                organization_copy = organizational_domain;
    const int status =
        opendmarc_policy_store_dmarc(context.get(), reinterpret_cast<u_char*>(record_copy.data()),
                                     reinterpret_cast<u_char*>(domain_copy.data()),
                                     reinterpret_cast<u_char*>(organization_copy.data()));
    if (status != DMARC_PARSE_OKAY) {
        if (has_rua_tag(record)) {
            parsed.valid = true;
            parsed.p = "none";
        }
        return parsed;
    }
    int p = 0, sp = 0, pct = 100, adkim = 0, aspf = 0;
    opendmarc_policy_fetch_p(context.get(), &p);
    opendmarc_policy_fetch_sp(context.get(), &sp);
    opendmarc_policy_fetch_pct(context.get(), &pct);
    opendmarc_policy_fetch_adkim(context.get(), &adkim);
    opendmarc_policy_fetch_aspf(context.get(), &aspf);
    parsed.valid = !policy_word(p).empty();
    parsed.p = policy_word(p);
    parsed.sp = policy_word(sp);
    parsed.pct = static_cast<unsigned>(std::clamp(pct, 0, 100));
    parsed.strict_dkim = adkim == DMARC_RECORD_A_STRICT;
    parsed.strict_spf = aspf == DMARC_RECORD_A_STRICT;
    return parsed;
}

} // namespace

DmarcEvaluator::DmarcEvaluator(dns::Resolver& resolver, const PublicSuffixList& public_suffixes,
                               std::function<unsigned()> percent_sampler)
    : resolver_(&resolver), public_suffixes_(&public_suffixes),
      percent_sampler_(percent_sampler ? std::move(percent_sampler) : random_percent) {
    initialize_library();
}

bool DmarcEvaluator::aligned(std::string_view identifier, std::string_view from_domain,
                             bool strict) const {
    const std::string a = util::ascii_lowered(identifier), b = util::ascii_lowered(from_domain);
    if (a.empty() || b.empty())
        return false;
    if (strict)
        return a == b;
    const std::string organization = public_suffixes_->organizational_domain(a);
    return !organization.empty() && organization == public_suffixes_->organizational_domain(b);
}

DmarcResult DmarcEvaluator::evaluate(const DmarcInput& input) const {
    DmarcResult result;
    result.from_domain = util::ascii_lowered(input.from_domain);
    result.organizational_domain = public_suffixes_->organizational_domain(result.from_domain);
    if (result.from_domain.empty() || result.organizational_domain.empty()) {
        result.result = "permerror";
        result.reason = "invalid From domain";
        return result;
    }
    Lookup lookup = fetch_record(*resolver_, result.from_domain);
    result.record_domain = result.from_domain;
    if (lookup.outcome == Discovery::absent && result.organizational_domain != result.from_domain) {
        lookup = fetch_record(*resolver_, result.organizational_domain);
        result.record_domain = result.organizational_domain;
    }
    if (lookup.outcome != Discovery::found) {
        if (lookup.outcome == Discovery::temperror)
            result.failed_lookup = "_dmarc." + result.record_domain;
        result.record_domain.clear();
        result.result = lookup.outcome == Discovery::temperror ? "temperror" : "none";
        result.reason = lookup.reason;
        return result;
    }
    const ParsedRecord record =
        parse_record(lookup.record, result.record_domain, result.organizational_domain);
    if (!record.valid) {
        result.record_domain.clear();
        result.result = "none";
        result.reason = "invalid record";
        return result;
    }
    const bool subdomain_policy = result.record_domain != result.from_domain && !record.sp.empty();
    result.policy = subdomain_policy ? record.sp : record.p;
    result.pct = record.pct;

    result.spf_aligned = input.spf_mailfrom_result == "pass" &&
                         aligned(input.spf_mailfrom_domain, result.from_domain, record.strict_spf);
    for (const auto& signature : input.dkim) {
        if (signature.result == "pass" &&
            aligned(signature.domain, result.from_domain, record.strict_dkim)) {
            result.dkim_aligned = true;
            result.aligned_dkim_domain = util::ascii_lowered(signature.domain);
            break;
        }
    }
    if (result.spf_aligned || result.dkim_aligned) {
        result.result = "pass";
        result.disposition = "none";
        return result;
    }
    result.result = "fail";
    result.reason = "not aligned";
    result.disposition = result.policy;
    if (result.pct < 100 && percent_sampler_() >= result.pct)
        result.disposition = weaker(result.disposition);
    return result;
}

} // namespace mailwarden::auth
