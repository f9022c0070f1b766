// See spf.hh for the contract; check_host() itself is in spf_eval.cc.
#include "auth/spf.hh"

#include "auth/idna.hh"
#include "auth/spf_eval.hh"
#include "auth/spf_syntax.hh"

#include "util/cidr.hh"

#include <algorithm>
#include <stdexcept>

namespace mailwarden::auth {

namespace {

bool is_helo_literal(std::string_view helo) {
    return helo.starts_with('[') || util::parse_ip(helo).has_value();
}

// RFC 8616 §3: the domain in A-labels for check_host() and the macros; one that is not UTF-8
// or that IDNA2008 refuses stays as it came, marked malformed (§4.3: none, no lookup). An ASCII
// domain is kept as given (its case shows in %{d} and the explanation).
std::string spf_domain(std::string_view domain, bool& malformed) {
    if (!has_non_ascii(domain))
        return std::string(domain);
    auto ascii = domain_to_ascii(domain);
    malformed = malformed || !ascii;
    return ascii ? std::move(*ascii) : std::string(domain);
}

// Identity and domain for a sender: local@domain; "" local part becomes postmaster (§4.3).
std::pair<std::string, std::string> sender_identity(std::string_view mail_from, bool& malformed) {
    if (mail_from.size() >= 2 && mail_from.front() == '<' && mail_from.back() == '>')
        mail_from = mail_from.substr(1, mail_from.size() - 2);
    const auto at = mail_from.rfind('@');
    if (at == std::string_view::npos) // no domain: libspf2 would use HELO; we report none
        return {std::string(mail_from), ""};
    std::string local(mail_from.substr(0, at));
    if (local.empty())
        local = "postmaster";
    std::string domain = spf_domain(mail_from.substr(at + 1), malformed);
    return {local + "@" + domain, domain};
}

} // namespace

bool is_spf_domain(std::string_view domain) {
    if (!domain.empty() && domain.back() == '.')
        domain.remove_suffix(1);
    if (domain.empty() || domain.size() > 253)
        return false;
    std::size_t labels = 0;
    std::size_t start = 0;
    while (start <= domain.size()) {
        const std::size_t dot = std::min(domain.find('.', start), domain.size());
        const std::size_t length = dot - start;
        if (length == 0 || length > 63)
            return false;
        ++labels;
        start = dot + 1;
    }
    return labels >= 2;
}

SpfVerifier::SpfVerifier(SpfOptions options, dns::Resolver& resolver)
    : options_(std::move(options)), resolver_(&resolver) {
    if (!is_spf_explain_string(options_.default_explanation))
        throw std::runtime_error("SPF default explanation is not a valid macro string");
}

SpfVerifier::~SpfVerifier() = default;

SpfResult SpfVerifier::check_helo(std::string_view client_ip,
                                  std::string_view helo_as_given) const {
    bool malformed = false;
    const std::string helo = spf_domain(helo_as_given, malformed);
    return evaluate(SpfScope::helo, client_ip, helo, helo, helo, malformed);
}

SpfResult SpfVerifier::check_mail_from(std::string_view client_ip, std::string_view helo_as_given,
                                       std::string_view mail_from) const {
    bool helo_malformed = false;
    const std::string helo = spf_domain(helo_as_given, helo_malformed);
    if (mail_from.empty() || mail_from == "<>")
        return evaluate(SpfScope::mailfrom, client_ip, helo, "postmaster@" + helo, helo,
                        helo_malformed);
    bool malformed = false;
    auto [identity, domain] = sender_identity(mail_from, malformed);
    return evaluate(SpfScope::mailfrom, client_ip, helo, std::move(identity), std::move(domain),
                    malformed);
}

SpfResult SpfVerifier::evaluate(SpfScope scope, std::string_view client_ip, std::string_view helo,
                                std::string identity, std::string domain, bool malformed) const {
    SpfResult result{.result = "none",
                     .scope = scope,
                     .identity = std::move(identity),
                     .domain = std::move(domain),
                     .explanation = "",
                     .reason = ""};
    const auto address = util::parse_ip(client_ip);
    if (!address) {
        result.result = "permerror";
        result.reason = "invalid client address";
        return result;
    }
    if (malformed || is_helo_literal(result.domain) || !is_spf_domain(result.domain)) {
        result.reason = "invalid domain"; // §4.3: none, no lookup
        return result;
    }
    spf_detail::SpfRequest request{
        .client = *address,
        .sender = scope == SpfScope::helo ? "postmaster@" + result.domain : result.identity,
        .local_part = {},
        .sender_domain = {},
        .helo = helo.empty() ? std::string("unknown") : std::string(helo),
        .receiver = options_.receiving_host};
    const auto at = request.sender.rfind('@');
    request.local_part = std::string_view(request.sender).substr(0, at);
    request.sender_domain = std::string_view(request.sender).substr(at + 1);
    spf_detail::SpfEvaluation evaluation(
        request, *resolver_, spf_detail::SpfEvaluation::Clock::now() + options_.time_budget);
    const spf_detail::SpfOutcome outcome = evaluation.check_host(result.domain);
    result.result = spf_detail::code_word(outcome.code);
    result.reason = outcome.reason;
    if (outcome.code == spf_detail::SpfCode::fail)
        result.explanation = evaluation.explanation(outcome, options_.default_explanation);
    return result;
}

namespace {

// A quoted-string of printable ASCII, at most 200 bytes of content.
std::string header_quoted(std::string_view text) {
    std::string quoted = "\"";
    for (const char c : text.substr(0, 200))
        if (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\')
            quoted += c;
    return quoted + "\"";
}

std::string spf_comment(const SpfResult& result, std::string_view client_ip,
                        std::string_view receiver) {
    const std::string who = result.identity.empty() ? result.domain : result.identity;
    const std::string domain_of = "domain of " + who;
    std::string comment;
    if (result.result == "pass")
        comment = domain_of + " designates " + std::string(client_ip) + " as permitted sender";
    else if (result.result == "fail")
        comment =
            domain_of + " does not designate " + std::string(client_ip) + " as permitted sender";
    else if (result.result == "softfail")
        comment = "transitioning " + domain_of + " does not designate " + std::string(client_ip) +
                  " as permitted sender";
    else if (result.result == "neutral")
        comment = std::string(client_ip) + " is neither permitted nor denied by " + domain_of;
    else if (result.result == "none")
        comment = domain_of + " does not designate permitted sender hosts";
    else
        comment = "error in processing during lookup of " + who;
    std::string safe; // the identity came from the client: no parentheses or control bytes
    for (const char c : std::string(receiver) + ": " + comment)
        safe += (c >= 0x20 && c <= 0x7e && c != '(' && c != ')' && c != '\\') ? c : '?';
    return safe.substr(0, 300);
}

} // namespace

std::string received_spf(const SpfResult& result, std::string_view client_ip, std::string_view helo,
                         std::string_view receiver) {
    const bool mail_from = result.scope == SpfScope::mailfrom;
    return result.result + " (" + spf_comment(result, client_ip, receiver) +
           ") client-ip=" + std::string(client_ip) +
           "; envelope-from=" + header_quoted(mail_from ? result.identity : "") +
           "; helo=" + header_quoted(helo) + "; receiver=" + std::string(receiver) +
           "; identity=" + (mail_from ? "mailfrom" : "helo") + ";";
}

} // namespace mailwarden::auth
