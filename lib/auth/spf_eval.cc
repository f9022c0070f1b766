// See spf_eval.hh. Section numbers are RFC 7208's.
#include "auth/spf_eval.hh"

#include "auth/spf.hh"
#include "auth/spf_macro.hh"
#include "util/ascii.hh"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <utility>

namespace mailwarden::auth::spf_detail {

namespace {

// §4.6.4.
constexpr int max_dns_terms = 10;
constexpr int max_void_lookups = 2;
constexpr std::size_t max_mx_names = 10;
constexpr std::size_t max_ptr_names = 10;
// Each include or redirect is a DNS-querying term, so the term limit ends any loop first;
// this bound only keeps the recursion finite should that ever change.
constexpr int max_depth = max_dns_terms + 2;

SpfCode qualifier_code(char qualifier) {
    switch (qualifier) {
    case '-':
        return SpfCode::fail;
    case '~':
        return SpfCode::softfail;
    case '?':
        return SpfCode::neutral;
    default:
        return SpfCode::pass;
    }
}

// A name that can be queried: labels of 1..63 bytes, at most 253 in all. §7.3: longer
// expansions lose labels on the left until they fit.
std::optional<std::string> queryable(std::string name) {
    while (name.size() > 253) {
        const auto dot = name.find('.');
        if (dot == std::string::npos)
            return std::nullopt;
        name.erase(0, dot + 1);
    }
    if (name.empty())
        return std::nullopt;
    std::size_t start = 0;
    while (start <= name.size()) {
        const std::size_t dot = std::min(name.find('.', start), name.size());
        if (dot == start || dot - start > 63)
            return std::nullopt;
        start = dot + 1;
    }
    return name;
}

std::optional<util::IpAddress> record_address(const dns::Record& record, bool ipv6) {
    util::IpAddress address;
    address.is_v6 = ipv6;
    if (record.text.size() >= 64)
        return std::nullopt;
    char literal[64];
    std::memcpy(literal, record.text.c_str(), record.text.size() + 1);
    if (inet_pton(ipv6 ? AF_INET6 : AF_INET, literal, address.bytes.data()) != 1)
        return std::nullopt;
    return address;
}

bool same_prefix(const util::IpAddress& a, const util::IpAddress& b, int bits) {
    const auto whole = static_cast<std::size_t>(bits / 8);
    if (std::memcmp(a.bytes.data(), b.bytes.data(), whole) != 0)
        return false;
    if (bits % 8 == 0)
        return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - bits % 8));
    return (a.bytes[whole] & mask) == (b.bytes[whole] & mask);
}

std::string reverse_lookup_name(const util::IpAddress& client) {
    std::string name;
    if (!client.is_v6) {
        for (int i = 3; i >= 0; --i)
            name += std::to_string(client.bytes[static_cast<std::size_t>(i)]) + ".";
        return name + "in-addr.arpa";
    }
    static constexpr char hex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
        const auto byte = client.bytes[static_cast<std::size_t>(i)];
        name += {hex[byte & 0x0f], '.', hex[byte >> 4], '.'};
    }
    return name + "ip6.arpa";
}

// name equals domain or is a subdomain of it, ignoring case and a trailing dot.
bool within(std::string_view name, std::string_view domain) {
    if (!name.empty() && name.back() == '.')
        name.remove_suffix(1);
    if (!domain.empty() && domain.back() == '.')
        domain.remove_suffix(1);
    if (name.size() < domain.size())
        return false;
    const std::string_view tail = name.substr(name.size() - domain.size());
    return util::equal_ignoring_ascii_case(tail, domain) &&
           (name.size() == domain.size() || name[name.size() - domain.size() - 1] == '.');
}

bool is_ascii_text(std::string_view text) {
    return std::ranges::all_of(text, [](char c) { return c >= ' ' && c <= '~'; });
}

SpfOutcome outcome_of(SpfCode code, std::string reason = {}) {
    SpfOutcome outcome;
    outcome.code = code;
    outcome.reason = std::move(reason);
    return outcome;
}

// The current term's "has counted a void lookup" flag, set aside for a nested term (the
// terms of an include's record) and restored after it.
struct TermScope {
    explicit TermScope(bool& flag) : flag_(flag), outer_(std::exchange(flag, false)) {}
    ~TermScope() { flag_ = outer_; }
    TermScope(const TermScope&) = delete;
    TermScope& operator=(const TermScope&) = delete;

private:
    bool& flag_;
    bool outer_;
};

} // namespace

std::string_view code_word(SpfCode code) {
    static constexpr std::string_view words[] = {"pass", "fail",      "softfail", "neutral",
                                                 "none", "temperror", "permerror"};
    return words[static_cast<int>(code)];
}

SpfEvaluation::SpfEvaluation(const SpfRequest& request, dns::Resolver& resolver,
                             Clock::time_point deadline)
    : request_(request), resolver_(resolver), deadline_(deadline) {}

SpfOutcome SpfEvaluation::check_host(std::string_view domain) {
    SpfOutcome outcome = evaluate_domain(domain);
    return stop_ ? *stop_ : outcome;
}

std::optional<dns::Answer> SpfEvaluation::lookup(std::string_view name, dns::RrType type) {
    if (stop_)
        return std::nullopt;
    if (Clock::now() >= deadline_) {
        stop(SpfCode::temperror, "time budget spent");
        return std::nullopt;
    }
    return resolver_.query(name, type);
}

// A lookup of a term: the records, none for a void answer (counted), nullopt when the
// evaluation stops (a DNS error is a temperror, §5; the void limit; the time budget).
std::optional<dns::Answer> SpfEvaluation::term_lookup(std::string_view name, dns::RrType type) {
    auto answer = lookup(name, type);
    if (!answer)
        return std::nullopt;
    if (answer->status == dns::Status::nxdomain || answer->status == dns::Status::nodata) {
        if (!count_void_lookup())
            return std::nullopt;
        answer->records.clear();
        return answer;
    }
    if (answer->status != dns::Status::ok) {
        stop_for_dns(*answer);
        return std::nullopt;
    }
    return answer;
}

SpfEvaluation::Match SpfEvaluation::stop(SpfCode code, std::string reason) {
    if (!stop_)
        stop_ = outcome_of(code, std::move(reason));
    return Match::stop;
}

SpfEvaluation::Match SpfEvaluation::stop_for_dns(const dns::Answer& answer) {
    return stop(SpfCode::temperror,
                answer.status == dns::Status::timeout ? "dns timeout" : "dns error");
}

bool SpfEvaluation::count_dns_term() {
    if (++dns_terms_ > max_dns_terms) {
        stop(SpfCode::permerror, "more than 10 DNS-querying terms");
        return false;
    }
    return true;
}

// §4.6.4 limits the terms whose lookups found nothing: one term counts once, whichever of
// its lookups (its target, its MX or PTR names' addresses) came back empty.
bool SpfEvaluation::count_void_lookup() {
    if (!counting_voids_ || term_void_)
        return true;
    term_void_ = true;
    if (++void_lookups_ > max_void_lookups) {
        stop(SpfCode::permerror, "void lookup limit");
        return false;
    }
    return true;
}

// §4.3 - §4.6 for one domain: the identity's, an include's or a redirect's.
SpfOutcome SpfEvaluation::evaluate_domain(std::string_view domain) {
    if (!is_spf_domain(domain)) // §4.3
        return outcome_of(SpfCode::none, "invalid domain");
    const auto answer = lookup(domain, dns::RrType::txt);
    if (!answer)
        return *stop_;
    if (answer->status == dns::Status::nxdomain || answer->status == dns::Status::nodata)
        return outcome_of(SpfCode::none, "no SPF record");
    if (answer->status != dns::Status::ok) { // §4.4
        stop_for_dns(*answer);
        return *stop_;
    }
    const dns::Record* found = nullptr;
    for (const auto& record : answer->records) {
        if (!is_spf_record(record.text))
            continue;
        if (found) // §4.5
            return outcome_of(SpfCode::permerror, "more than one SPF record");
        found = &record;
    }
    if (!found)
        return outcome_of(SpfCode::none, "no SPF record");
    const SpfParse parse = parse_spf_record(found->text);
    if (!parse.record) // §4.6
        return outcome_of(SpfCode::permerror, "record syntax: " + parse.error);
    ++depth_;
    SpfOutcome outcome = evaluate_record(*parse.record, domain);
    --depth_;
    return outcome;
}

SpfOutcome SpfEvaluation::evaluate_record(const SpfRecord& record, std::string_view domain) {
    for (const auto& mechanism : record.mechanisms) {
        const Match match = evaluate(mechanism, domain);
        if (match == Match::stop)
            return *stop_;
        if (match == Match::no)
            continue;
        SpfOutcome outcome = outcome_of(qualifier_code(mechanism.qualifier));
        if (outcome.code == SpfCode::fail) {
            outcome.explanation_spec = std::string(record.explanation);
            outcome.explanation_domain = std::string(domain);
        }
        return outcome;
    }
    if (!record.redirect.empty()) // §6.1: wherever it stands, only when nothing matched
        return apply_redirect(record.redirect, domain);
    return outcome_of(SpfCode::neutral); // §4.7
}

SpfOutcome SpfEvaluation::apply_redirect(std::string_view redirect, std::string_view domain) {
    if (!count_dns_term())
        return *stop_;
    const TermScope term(term_void_);
    const auto target = target_name(redirect, domain);
    if (stop_)
        return *stop_;
    if (!target || !is_spf_domain(*target))
        return outcome_of(SpfCode::permerror, "invalid redirect= target");
    if (depth_ >= max_depth)
        return outcome_of(SpfCode::permerror, "more than 10 DNS-querying terms");
    SpfOutcome outcome = evaluate_domain(*target);
    if (!stop_ && outcome.code == SpfCode::none)
        return outcome_of(SpfCode::permerror, "redirect= target has no SPF record");
    return outcome;
}

SpfEvaluation::Match SpfEvaluation::evaluate(const SpfMechanism& mechanism,
                                             std::string_view domain) {
    switch (mechanism.kind) {
    case SpfMechanismKind::all:
        return Match::yes;
    case SpfMechanismKind::ip4:
    case SpfMechanismKind::ip6:
        return mechanism.network.is_v6 == request_.client.is_v6 &&
                       same_prefix(mechanism.network, request_.client,
                                   request_.client.is_v6 ? mechanism.ip6_length
                                                         : mechanism.ip4_length)
                   ? Match::yes
                   : Match::no;
    default:
        break;
    }
    if (!count_dns_term())
        return Match::stop;
    const TermScope term(term_void_);
    if (mechanism.kind == SpfMechanismKind::include)
        return match_include(mechanism, domain);
    const auto target = target_name(mechanism.domain_spec, domain);
    if (!target) // not a usable name: nothing to look up, no match
        return stop_ ? Match::stop : Match::no;
    switch (mechanism.kind) {
    case SpfMechanismKind::a:
        return match_addresses(*target, mechanism.ip4_length, mechanism.ip6_length);
    case SpfMechanismKind::mx:
        return match_mx(*target, mechanism);
    case SpfMechanismKind::ptr:
        return match_ptr(*target);
    default:
        return match_exists(*target);
    }
}

bool SpfEvaluation::matches_client(const util::IpAddress& address, int ip4_length,
                                   int ip6_length) const {
    return address.is_v6 == request_.client.is_v6 &&
           same_prefix(address, request_.client, address.is_v6 ? ip6_length : ip4_length);
}

// The client's family of address records of name (§5: A for IPv4, AAAA for IPv6 clients).
SpfEvaluation::Match SpfEvaluation::match_addresses(std::string_view name, int ip4_length,
                                                    int ip6_length) {
    const bool ipv6 = request_.client.is_v6;
    const auto answer = term_lookup(name, ipv6 ? dns::RrType::aaaa : dns::RrType::a);
    if (!answer)
        return Match::stop;
    for (const auto& record : answer->records) {
        const auto address = record_address(record, ipv6);
        if (address && matches_client(*address, ip4_length, ip6_length))
            return Match::yes;
    }
    return Match::no;
}

// §5.4: more than 10 MX names is a permerror; every name's addresses are looked up, and a
// DNS error there is a temperror like any other (§5: only ptr is an exception).
SpfEvaluation::Match SpfEvaluation::match_mx(std::string_view target,
                                             const SpfMechanism& mechanism) {
    auto answer = term_lookup(target, dns::RrType::mx);
    if (!answer)
        return Match::stop;
    if (answer->records.size() > max_mx_names)
        return stop(SpfCode::permerror, "more than 10 MX names");
    std::stable_sort(
        answer->records.begin(), answer->records.end(),
        [](const dns::Record& a, const dns::Record& b) { return a.preference < b.preference; });
    bool matched = false;
    for (const auto& exchange : answer->records) {
        const auto name = queryable(exchange.text);
        if (!name) // "" is RFC 7505's null MX: no host
            continue;
        const Match match = match_addresses(*name, mechanism.ip4_length, mechanism.ip6_length);
        if (match == Match::stop)
            return Match::stop;
        matched = matched || match == Match::yes;
    }
    return matched ? Match::yes : Match::no;
}

// §5.5: a validated reverse name equal to or under the target. A PTR lookup error is no
// match; an address lookup error skips that name.
SpfEvaluation::Match SpfEvaluation::match_ptr(std::string_view target) {
    std::vector<std::string> names;
    if (!validate_reverse_names(names))
        return Match::stop;
    for (const auto& name : names)
        if (within(name, target))
            return Match::yes;
    return Match::no;
}

// The client's reverse names (the first 10 of the PTR answer, §4.6.4) whose addresses include
// the client's. False when the evaluation must stop (void lookup limit, time budget).
bool SpfEvaluation::validate_reverse_names(std::vector<std::string>& validated) {
    const auto answer = lookup(reverse_lookup_name(request_.client), dns::RrType::ptr);
    if (!answer)
        return false;
    if (answer->status == dns::Status::nxdomain || answer->status == dns::Status::nodata)
        return count_void_lookup();
    if (answer->status != dns::Status::ok) // §5.5: no names
        return true;
    const std::size_t names = std::min(answer->records.size(), max_ptr_names);
    for (std::size_t i = 0; i < names; ++i) {
        const std::string& name = answer->records[i].text;
        if (has_address(name))
            validated.push_back(name);
        else if (stop_)
            return false;
    }
    return true;
}

// Whether name has the client's address; false when it has not or the lookup failed (§5.5:
// the name is skipped).
bool SpfEvaluation::has_address(std::string_view name) {
    const auto queried = queryable(std::string(name));
    if (!queried)
        return false;
    const bool ipv6 = request_.client.is_v6;
    const auto answer = lookup(*queried, ipv6 ? dns::RrType::aaaa : dns::RrType::a);
    if (!answer)
        return false;
    if (answer->status == dns::Status::nxdomain || answer->status == dns::Status::nodata) {
        count_void_lookup();
        return false;
    }
    for (const auto& record : answer->records) {
        const auto address = record_address(record, ipv6);
        if (address && *address == request_.client)
            return true;
    }
    return false;
}

// §5.7: an A lookup whatever the client's address family.
SpfEvaluation::Match SpfEvaluation::match_exists(std::string_view target) {
    const auto answer = term_lookup(target, dns::RrType::a);
    if (!answer)
        return Match::stop;
    return answer->records.empty() ? Match::no : Match::yes;
}

// §5.2: pass matches; fail, softfail, neutral do not; the errors end the evaluation, and
// none (no record, or a malformed target) is a permerror.
SpfEvaluation::Match SpfEvaluation::match_include(const SpfMechanism& mechanism,
                                                  std::string_view domain) {
    const auto target = target_name(mechanism.domain_spec, domain);
    if (stop_)
        return Match::stop;
    if (!target || !is_spf_domain(*target))
        return stop(SpfCode::permerror, "invalid include target");
    if (depth_ >= max_depth)
        return stop(SpfCode::permerror, "more than 10 DNS-querying terms");
    const SpfOutcome outcome = evaluate_domain(*target);
    if (stop_)
        return Match::stop;
    switch (outcome.code) {
    case SpfCode::pass:
        return Match::yes;
    case SpfCode::fail:
    case SpfCode::softfail:
    case SpfCode::neutral:
        return Match::no;
    case SpfCode::none:
        return stop(SpfCode::permerror, "include target has no SPF record");
    default:
        return stop(outcome.code, outcome.reason);
    }
}

std::optional<std::string> SpfEvaluation::target_name(std::string_view domain_spec,
                                                      std::string_view domain) {
    if (domain_spec.empty())
        return queryable(std::string(domain));
    SpfMacroValues values{.sender = request_.sender,
                          .local_part = request_.local_part,
                          .sender_domain = request_.sender_domain,
                          .domain = domain,
                          .helo = request_.helo,
                          .receiver = request_.receiver,
                          .client = &request_.client,
                          .now = 0,
                          .validated_name = nullptr};
    if (domain_spec.find("{p") != std::string_view::npos ||
        domain_spec.find("{P") != std::string_view::npos)
        values.validated_name = [this, domain] { return validated_name(domain); };
    auto expanded = expand_spf_macros(domain_spec, SpfMacroUse::domain_spec, values);
    if (!expanded || stop_)
        return std::nullopt;
    return queryable(std::move(*expanded));
}

// Computed once per evaluation, when %{p} is first used. Its lookups are not void lookups:
// %{p} never fails, it becomes "unknown" (§7.3), and the names are the client's choice.
const std::vector<std::string>& SpfEvaluation::validated_names() {
    if (!validated_names_) {
        validated_names_.emplace();
        const bool counting = std::exchange(counting_voids_, false);
        validate_reverse_names(*validated_names_);
        counting_voids_ = counting;
    }
    return *validated_names_;
}

// §7.3 "p": the domain itself if validated, else a validated subdomain, else any.
std::string SpfEvaluation::validated_name(std::string_view domain) {
    const auto& names = validated_names();
    if (names.empty())
        return "unknown";
    for (const auto& name : names)
        if (within(name, domain) && within(domain, name))
            return name;
    for (const auto& name : names)
        if (within(name, domain))
            return name;
    return names.front();
}

// §6.2: the exp= text if it can be had (one TXT record, printable ASCII, a valid
// explain-string), else the default; never an error.
std::string SpfEvaluation::explanation(const SpfOutcome& outcome,
                                       std::string_view default_explanation) {
    SpfMacroValues values{.sender = request_.sender,
                          .local_part = request_.local_part,
                          .sender_domain = request_.sender_domain,
                          .domain = outcome.explanation_domain,
                          .helo = request_.helo,
                          .receiver = request_.receiver,
                          .client = &request_.client,
                          .now = static_cast<long long>(std::time(nullptr)),
                          .validated_name = nullptr};
    values.validated_name = [this, &outcome] { return validated_name(outcome.explanation_domain); };
    counting_voids_ = false; // §6.2: the exp= lookup is not a term
    std::string text(default_explanation);
    if (!outcome.explanation_spec.empty()) {
        const auto target = target_name(outcome.explanation_spec, outcome.explanation_domain);
        const auto answer = target ? lookup(*target, dns::RrType::txt) : std::nullopt;
        if (answer && answer->status == dns::Status::ok && answer->records.size() == 1 &&
            is_ascii_text(answer->records.front().text) &&
            is_spf_explain_string(answer->records.front().text))
            text = answer->records.front().text;
    }
    stop_.reset(); // a spent budget here leaves the result as it is
    return expand_spf_macros(text, SpfMacroUse::explanation, values).value_or("");
}

} // namespace mailwarden::auth::spf_detail
