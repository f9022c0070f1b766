// See dmarc.hh for the contract and the decisions.
#include "auth/dmarc.hh"

#include "auth/dmarc_discovery.hh"
#include "util/ascii.hh"

#include <algorithm>
#include <memory>
#include <optional>

namespace mailwarden::auth {

namespace {

enum class Aligned { yes, no, unknown };

// A name we can query under _dmarc: 1..63-byte labels, at most 253 bytes with the prefix room
// (the From parser has already refused anything that is not a hostname).
bool queryable_domain(std::string_view domain) {
    if (domain.empty() || domain.size() > 253 - 7)
        return false;
    std::size_t label = 0;
    for (const char c : domain) {
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (++label > 63 || static_cast<unsigned char>(c) <= ' ') {
            return false;
        }
    }
    return label > 0;
}

// The last label two names share ("" when they share none): relaxed alignment needs it.
bool share_a_suffix(std::string_view a, std::string_view b) {
    const std::size_t a_dot = a.rfind('.'), b_dot = b.rfind('.');
    const std::string_view a_last = a_dot == std::string_view::npos ? a : a.substr(a_dot + 1);
    const std::string_view b_last = b_dot == std::string_view::npos ? b : b.substr(b_dot + 1);
    return !a_last.empty() && a_last == b_last;
}

// One evaluation: the author domain, the message's DNS view, and what was learnt so far.
class Evaluation {
public:
    Evaluation(dns::Resolver& resolver, const PublicSuffixList& suffixes, DmarcDiscovery method,
               std::string author)
        : lookups_(resolver), suffixes_(&suffixes), method_(method), author_(std::move(author)) {}

    // The record that applies and where; sets the result's record fields, or its result and
    // reason when no record applies.
    const DmarcRecord* discover(DmarcResult& result);
    Aligned aligned(std::string_view identifier, bool strict);
    // The Organizational Domain of the author domain; nullopt after DNS trouble.
    std::optional<std::string> author_organization();
    std::optional<bool> author_exists() { return lookups_.domain_exists(author_); }
    // The author domain's Organizational Domain when already known (or free: psl mode).
    std::optional<std::string> known_organization() {
        if (method_ == DmarcDiscovery::psl || (author_organization_ && *author_organization_))
            return author_organization();
        return std::nullopt;
    }
    std::size_t queries() const { return lookups_.queries(); }
    const std::string& dns_error() const { return dns_error_; }

private:
    std::optional<std::string> organization_of(const std::string& domain);

    DmarcLookups lookups_;
    const PublicSuffixList* suffixes_;
    DmarcDiscovery method_;
    std::string author_;
    std::optional<std::optional<std::string>> author_organization_; // once known
    std::string dns_error_;
};

std::optional<std::string> Evaluation::organization_of(const std::string& domain) {
    if (method_ == DmarcDiscovery::psl) {
        std::string organization = suffixes_->organizational_domain(domain);
        return organization.empty() ? domain : organization;
    }
    const TreeWalk walk = tree_walk(lookups_, domain);
    if (walk.dns_error) {
        dns_error_ = walk.error;
        return std::nullopt;
    }
    return organizational_domain(walk, domain);
}

std::optional<std::string> Evaluation::author_organization() {
    if (!author_organization_)
        author_organization_ = organization_of(author_);
    return *author_organization_;
}

Aligned Evaluation::aligned(std::string_view identifier, bool strict) {
    const std::string name = util::ascii_lowered(identifier);
    if (name.empty())
        return Aligned::no;
    if (name == author_)
        return Aligned::yes;
    if (strict || !share_a_suffix(name, author_))
        return Aligned::no;
    const auto author = author_organization();
    const auto other = organization_of(name);
    if (!author || !other)
        return Aligned::unknown;
    return *author == *other ? Aligned::yes : Aligned::no;
}

// A lookup's record into the result; nullptr (and result/reason set) when it cannot apply.
const DmarcRecord* take_record(const DmarcLookup& lookup, const std::string& domain,
                               DmarcResult& result) {
    result.record_domain = domain;
    result.record = lookup.text;
    const DmarcRecord& record = *lookup.record;
    result.notes.insert(result.notes.end(), record.errors.begin(), record.errors.end());
    if (record.broken) {
        result.result = "permerror";
        result.reason = "invalid record";
        return nullptr;
    }
    result.psd_record = record.psd == DmarcPsd::yes;
    return &record;
}

const DmarcRecord* Evaluation::discover(DmarcResult& result) {
    const DmarcLookup& own = lookups_.at(author_);
    auto fail = [&](std::string result_word, std::string reason) -> const DmarcRecord* {
        result.result = std::move(result_word);
        result.reason = std::move(reason);
        return nullptr;
    };
    if (own.status == DmarcLookup::Status::dns_error) {
        result.failed_lookup = "_dmarc." + author_;
        return fail("temperror", own.error);
    }
    if (own.status == DmarcLookup::Status::record)
        return take_record(own, author_, result);
    if (method_ == DmarcDiscovery::psl) {
        if (own.status == DmarcLookup::Status::several)
            result.notes.push_back("several records at _dmarc." + author_);
        const auto organization = author_organization();
        result.organizational_domain = *organization;
        if (*organization == author_)
            return fail("none", "no record");
        const DmarcLookup& parent = lookups_.at(*organization);
        if (parent.status == DmarcLookup::Status::dns_error) {
            result.failed_lookup = "_dmarc." + *organization;
            return fail("temperror", parent.error);
        }
        if (parent.status != DmarcLookup::Status::record)
            return fail("none", "no record");
        return take_record(parent, *organization, result);
    }
    const TreeWalk walk = tree_walk(lookups_, author_);
    result.notes.insert(result.notes.end(), walk.notes.begin(), walk.notes.end());
    if (walk.dns_error) {
        result.failed_lookup = "_dmarc." + walk.failed_name;
        return fail("temperror", walk.error);
    }
    const std::string organization = organizational_domain(walk, author_);
    author_organization_ = organization;
    result.organizational_domain = organization;
    const WalkRecord* chosen = nullptr;
    for (const WalkRecord& found : walk.records)
        if (found.domain == organization ||
            (chosen == nullptr && found.lookup->record->psd == DmarcPsd::yes))
            chosen = &found;
    if (chosen == nullptr)
        return fail("none", "no record");
    return take_record(*chosen->lookup, chosen->domain, result);
}

// §4.10.1: p for the author domain's own record, else np (non-existent author domain), sp, p.
// nullopt (result temperror) when whether the author domain exists cannot be learnt.
std::optional<DmarcPolicy> choose_policy(const DmarcRecord& record, Evaluation& evaluation,
                                         bool failing, DmarcResult& result) {
    DmarcPolicy policy = record.p;
    result.policy_tag = "p";
    if (result.record_domain != result.from_domain) {
        std::optional<bool> exists = true;
        if (record.np && failing)
            exists = evaluation.author_exists();
        if (!exists) {
            result.result = "temperror";
            result.reason = "dns error";
            return std::nullopt;
        }
        if (!*exists && record.np) {
            policy = *record.np;
            result.policy_tag = "np";
        } else if (record.sp) {
            policy = *record.sp;
            result.policy_tag = "sp";
        }
    }
    result.policy = std::string(policy_name(policy));
    result.testing = record.testing;
    return policy;
}

// Whether an SPF (MAIL FROM) or DKIM temperror was for a domain that would align had it
// passed; unknown counts as yes. An Organizational Domain is the name itself or an ancestor,
// so a name outside the author's Organizational Domain never aligns, whatever its own DNS
// says; the others are asked as for a pass.
bool temperror_could_align(const DmarcInput& input, const DmarcRecord& record,
                           Evaluation& evaluation) {
    const auto could_align = [&](std::string_view domain, bool strict) {
        const std::string name = util::ascii_lowered(domain);
        if (!strict)
            if (const auto organization = evaluation.author_organization())
                if (name != *organization && !name.ends_with("." + *organization))
                    return false;
        return evaluation.aligned(name, strict) != Aligned::no;
    };
    if (input.spf_mailfrom_result == "temperror" &&
        could_align(input.spf_mailfrom_domain, record.strict_spf))
        return true;
    return std::ranges::any_of(input.dkim, [&](const DmarcInput::Dkim& signature) {
        return signature.result == "temperror" && could_align(signature.domain, record.strict_dkim);
    });
}

} // namespace

OrganizationFinder make_organization_finder(dns::Resolver& resolver,
                                            const PublicSuffixList& public_suffixes,
                                            DmarcDiscovery method) {
    auto lookups = std::make_shared<DmarcLookups>(resolver);
    return [lookups, &public_suffixes,
            method](const std::string& domain) -> std::optional<std::string> {
        const std::string name = util::ascii_lowered(domain);
        if (method == DmarcDiscovery::psl) {
            std::string organization = public_suffixes.organizational_domain(name);
            return organization.empty() ? name : organization;
        }
        const TreeWalk walk = tree_walk(*lookups, name);
        if (walk.dns_error)
            return std::nullopt;
        return organizational_domain(walk, name);
    };
}

std::string_view discovery_name(DmarcDiscovery method) {
    return method == DmarcDiscovery::psl ? "psl" : "treewalk";
}

DmarcEvaluator::DmarcEvaluator(dns::Resolver& resolver, const PublicSuffixList& public_suffixes,
                               DmarcOptions options)
    : resolver_(&resolver), public_suffixes_(&public_suffixes), options_(options) {}

DmarcResult DmarcEvaluator::evaluate(const DmarcInput& input) const {
    DmarcResult result;
    result.from_domain = util::ascii_lowered(input.from_domain);
    while (!result.from_domain.empty() && result.from_domain.back() == '.')
        result.from_domain.pop_back();
    result.discovery_method = std::string(discovery_name(options_.discovery));
    if (!queryable_domain(result.from_domain)) {
        result.result = "permerror";
        result.reason = "invalid From domain";
        return result;
    }
    Evaluation evaluation(*resolver_, *public_suffixes_, options_.discovery, result.from_domain);
    const DmarcRecord* record = evaluation.discover(result);
    if (record == nullptr) {
        result.dns_queries = evaluation.queries();
        return result;
    }
    bool unknown = false;
    if (input.spf_mailfrom_result == "pass") {
        const Aligned spf = evaluation.aligned(input.spf_mailfrom_domain, record->strict_spf);
        result.spf_aligned = spf == Aligned::yes;
        unknown = spf == Aligned::unknown;
    }
    for (const auto& signature : input.dkim) {
        if (signature.result != "pass" || result.dkim_aligned)
            continue;
        const Aligned dkim = evaluation.aligned(signature.domain, record->strict_dkim);
        result.dkim_aligned = dkim == Aligned::yes;
        unknown = unknown || dkim == Aligned::unknown;
        if (result.dkim_aligned)
            result.aligned_dkim_domain = util::ascii_lowered(signature.domain);
    }
    const bool pass = result.spf_aligned || result.dkim_aligned;
    if (!pass)
        result.temperror_could_align = temperror_could_align(input, *record, evaluation);
    if (!pass && unknown) {
        result.result = "temperror";
        result.reason = evaluation.dns_error();
    } else if (const auto policy = choose_policy(*record, evaluation, !pass, result)) {
        result.result = pass ? "pass" : "fail";
        if (!pass) {
            result.reason = "not aligned";
            result.disposition =
                std::string(policy_name(record->testing ? weaker_policy(*policy) : *policy));
        }
    }
    if (const auto organization = evaluation.known_organization())
        result.organizational_domain = *organization;
    result.dns_queries = evaluation.queries();
    return result;
}

} // namespace mailwarden::auth
