// See spf.hh for the contract and what our DNS layer adds to libspf2.
#include "auth/spf.hh"

#include "auth/spf_syntax.hh"

#include "util/cidr.hh"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>

extern "C" {
#include <spf2/spf.h>
}

#include <algorithm>
#include <cstring>
#include <set>
#include <stdexcept>

namespace mailwarden::auth {

struct SpfVerifier::Layer {
    SPF_dns_server_t server{};
    dns::Resolver* resolver = nullptr;
};

namespace {

using Clock = std::chrono::steady_clock;

// RFC 7208 §4.6.4.
constexpr int max_void_lookups = 2;
constexpr int max_dns_terms = 10;
constexpr std::size_t max_mx_names = 10;
constexpr std::size_t max_ptr_names = 10;

// What one evaluation's lookups share; set on the evaluating thread while libspf2 runs.
struct Evaluation {
    dns::Resolver* resolver = nullptr;
    Clock::time_point deadline;
    int void_lookups = 0;
    bool void_limit_exceeded = false;
    bool out_of_time = false;
    bool timed_out = false;                  // a lookup timed out
    bool dns_trouble = false;                // a lookup failed (timeout, SERVFAIL, resolver error)
    std::optional<std::string> syntax_error; // of a record libspf2 fetched (RFC 7208 §12)
    bool client_is_ipv6 = false;
    int record_lookups = 0; // TXT lookups that found an SPF record
    int dns_terms = 0;      // DNS-querying terms so far (libspf2 counts per record only)
    bool term_limit_exceeded = false;
    bool mx_limit_exceeded = false;
    std::set<std::string> target_names; // from MX and PTR answers
};
thread_local Evaluation* current_evaluation = nullptr;

struct EvaluationScope {
    explicit EvaluationScope(Evaluation& evaluation) { current_evaluation = &evaluation; }
    ~EvaluationScope() { current_evaluation = nullptr; }
};

std::optional<dns::RrType> resolver_type(ns_type type) {
    switch (type) {
    case ns_t_a:
        return dns::RrType::a;
    case ns_t_aaaa:
        return dns::RrType::aaaa;
    case ns_t_mx:
        return dns::RrType::mx;
    case ns_t_ptr:
        return dns::RrType::ptr;
    case ns_t_txt:
        return dns::RrType::txt;
    case static_cast<ns_type>(99): // SPF
        return dns::RrType::spf;
    default:
        return std::nullopt;
    }
}

bool counts_as_void(ns_type type) {
    return type == ns_t_a || type == ns_t_aaaa || type == ns_t_mx || type == ns_t_ptr;
}

// Copies one record into slot `index` of rr; false when libspf2 cannot allocate.
bool store_record(SPF_dns_rr_t* rr, int index, ns_type type, const dns::Record& record) {
    if (type == ns_t_a || type == ns_t_aaaa) {
        const std::size_t size = type == ns_t_a ? sizeof(in_addr) : sizeof(in6_addr);
        if (SPF_dns_rr_buf_realloc(rr, index, size) != SPF_E_SUCCESS)
            return false;
        const int family = type == ns_t_a ? AF_INET : AF_INET6;
        return inet_pton(family, record.text.c_str(),
                         type == ns_t_a ? static_cast<void*>(&rr->rr[index]->a)
                                        : static_cast<void*>(&rr->rr[index]->aaaa)) == 1;
    }
    // Names and texts: NUL-terminated. A text holding NUL is cut there, as libspf2's own
    // resolver layer would see it.
    if (SPF_dns_rr_buf_realloc(rr, index, record.text.size() + 1) != SPF_E_SUCCESS)
        return false;
    std::memcpy(rr->rr[index]->txt, record.text.c_str(), record.text.size() + 1);
    return true;
}

// libspf2 compiles an explanation text like a domain-spec and mangles its spaces (each
// becomes '%'); "%_" is the macro for a literal space (RFC 7208 §7.1), which it handles.
std::string explanation_for_libspf2(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 8);
    for (char c : text) {
        if (c == ' ')
            out += "%_";
        else
            out += c;
    }
    return out;
}

SPF_dns_rr_t* answer_with(SPF_dns_server_t* server, const char* domain, ns_type type,
                          SPF_dns_stat_t herrno) {
    return SPF_dns_rr_new_init(server, domain, type, 0, herrno);
}

// RFC 7208 §7.3: an expanded name over 253 bytes loses labels on the left until it fits.
std::string_view truncate_left(std::string_view name) {
    while (name.size() > 253) {
        const auto dot = name.find('.');
        if (dot == std::string_view::npos)
            return {};
        name.remove_prefix(dot + 1);
    }
    return name;
}

bool is_ascii_text(std::string_view text) {
    return std::ranges::all_of(text, [](char c) { return c >= ' ' && c <= '~'; });
}

// TXT answers: the SPF record is checked strictly and rewritten where libspf2 is wrong; a
// text that is not an SPF record (an exp= lookup) gets its spaces escaped. Returns false
// when the answer is to be treated as no data.
bool prepare_txt_answer(Evaluation& evaluation, dns::Answer& answer) {
    const auto spf_records = std::ranges::count_if(
        answer.records, [](const dns::Record& record) { return is_spf_record(record.text); });
    if (spf_records == 0) {
        // An explanation must be one ASCII text (§6.2); anything else gives the default.
        if (answer.records.size() != 1 || !is_ascii_text(answer.records.front().text))
            return false;
        answer.records.front().text = explanation_for_libspf2(answer.records.front().text);
        return true;
    }
    if (evaluation.record_lookups++ > 0) // include: and redirect= are DNS-querying terms
        ++evaluation.dns_terms;
    if (spf_records > 1) // libspf2 gives the permerror of §4.5 itself
        return true;
    for (auto& record : answer.records) {
        if (!is_spf_record(record.text))
            continue;
        if (auto problem = spf_syntax_error(record.text); problem && !evaluation.syntax_error)
            evaluation.syntax_error = std::move(problem);
        else
            record.text = spf_record_for_libspf2(record.text, evaluation.client_is_ipv6);
    }
    return true;
}

// Counts terms and applies the MX and PTR limits of §4.6.4 to a positive answer.
void apply_limits(Evaluation& evaluation, ns_type type, std::string_view name,
                  dns::Answer& answer) {
    if (type == ns_t_mx) {
        ++evaluation.dns_terms;
        if (answer.records.size() > max_mx_names)
            evaluation.mx_limit_exceeded = true;
        for (const auto& record : answer.records)
            evaluation.target_names.insert(record.text);
    } else if (type == ns_t_ptr) {
        ++evaluation.dns_terms;
        if (answer.records.size() > max_ptr_names) // §4.6.4: the rest are ignored
            answer.records.resize(max_ptr_names);
        for (const auto& record : answer.records)
            evaluation.target_names.insert(record.text);
    } else if ((type == ns_t_a || type == ns_t_aaaa) &&
               !evaluation.target_names.contains(std::string(name))) {
        ++evaluation.dns_terms;
    }
    if (evaluation.dns_terms > max_dns_terms)
        evaluation.term_limit_exceeded = true;
}

SPF_dns_rr_t* lookup(SPF_dns_server_t* server, const char* domain, ns_type type,
                     int /*should_cache*/) noexcept try {
    Evaluation* evaluation = current_evaluation;
    const auto rr_type = resolver_type(type);
    if (evaluation == nullptr || domain == nullptr || !rr_type)
        return answer_with(server, domain ? domain : "", type, TRY_AGAIN);
    std::string_view name(domain);
    if (!name.empty() && name.back() == '.')
        name.remove_suffix(1);
    name = truncate_left(name);
    if (!is_spf_domain(name)) // §4.3: malformed names are NXDOMAIN
        return answer_with(server, domain, type, HOST_NOT_FOUND);
    if (Clock::now() >= evaluation->deadline) {
        evaluation->out_of_time = true;
        return answer_with(server, domain, type, TRY_AGAIN);
    }
    // A and AAAA lookups of MX and PTR targets: an error skips that name (§5.4, §5.5).
    const bool target = (type == ns_t_a || type == ns_t_aaaa) &&
                        evaluation->target_names.contains(std::string(name));
    dns::Answer answer = evaluation->resolver->query(name, *rr_type);
    switch (answer.status) {
    case dns::Status::ok:
        break;
    case dns::Status::nxdomain:
    case dns::Status::nodata:
        if (!target && counts_as_void(type) && ++evaluation->void_lookups > max_void_lookups)
            evaluation->void_limit_exceeded = true;
        if (!target && type != ns_t_txt)
            apply_limits(*evaluation, type, name, answer);
        return answer_with(server, domain, type,
                           answer.status == dns::Status::nxdomain ? HOST_NOT_FOUND : NO_DATA);
    default:
        if (target || type == ns_t_ptr) // §5.5: a PTR error means no match
            return answer_with(server, domain, type, HOST_NOT_FOUND);
        evaluation->timed_out = evaluation->timed_out || answer.status == dns::Status::timeout;
        evaluation->dns_trouble = true;
        return answer_with(server, domain, type, TRY_AGAIN);
    }
    if (type != ns_t_txt)
        apply_limits(*evaluation, type, name, answer);
    else if (!prepare_txt_answer(*evaluation, answer))
        return answer_with(server, domain, type, NO_DATA);
    SPF_dns_rr_t* rr = answer_with(server, domain, type, NETDB_SUCCESS);
    if (rr == nullptr)
        return nullptr;
    int stored = 0;
    for (const auto& record : answer.records)
        if (store_record(rr, stored, type, record))
            ++stored;
    rr->num_rr = stored;
    rr->ttl = static_cast<time_t>(answer.ttl.count());
    return rr;
} catch (...) { // nothing may cross into libspf2's C frames
    return answer_with(server, domain ? domain : "", type, TRY_AGAIN);
}

std::string_view result_word(SPF_result_t result) {
    switch (result) {
    case SPF_RESULT_PASS:
        return "pass";
    case SPF_RESULT_FAIL:
        return "fail";
    case SPF_RESULT_SOFTFAIL:
        return "softfail";
    case SPF_RESULT_NEUTRAL:
        return "neutral";
    case SPF_RESULT_NONE:
        return "none";
    case SPF_RESULT_TEMPERROR:
        return "temperror";
    default:
        return "permerror";
    }
}

struct RequestFree {
    void operator()(SPF_request_t* request) const noexcept { SPF_request_free(request); }
};
struct ResponseFree {
    void operator()(SPF_response_t* response) const noexcept { SPF_response_free(response); }
};

bool is_helo_literal(std::string_view helo) {
    return helo.starts_with('[') || util::parse_ip(helo).has_value();
}

// Identity and domain for a sender: local@domain; "" local part becomes postmaster (§4.3).
std::pair<std::string, std::string> sender_identity(std::string_view mail_from) {
    if (mail_from.size() >= 2 && mail_from.front() == '<' && mail_from.back() == '>')
        mail_from = mail_from.substr(1, mail_from.size() - 2);
    const auto at = mail_from.rfind('@');
    if (at == std::string_view::npos) // no domain: libspf2 would use HELO; we report none
        return {std::string(mail_from), ""};
    std::string local(mail_from.substr(0, at));
    if (local.empty())
        local = "postmaster";
    return {local + "@" + std::string(mail_from.substr(at + 1)),
            std::string(mail_from.substr(at + 1))};
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

void SpfVerifier::ServerFree::operator()(SPF_server_struct* server) const noexcept {
    SPF_server_free(server);
}

SpfVerifier::SpfVerifier(SpfOptions options, dns::Resolver& resolver)
    : options_(std::move(options)), layer_(std::make_unique<Layer>()) {
    layer_->resolver = &resolver;
    layer_->server.destroy = nullptr; // ours: libspf2 must not free it
    layer_->server.lookup = lookup;
    layer_->server.name = "mailwarden";
    layer_->server.hook = layer_.get();
    server_.reset(SPF_server_new_dns(&layer_->server, 0));
    if (!server_)
        throw std::runtime_error("libspf2: SPF_server_new_dns failed");
    SPF_server_set_rec_dom(server_.get(), options_.receiving_host.c_str());
    if (!options_.default_explanation.empty()) {
        SPF_response_t* response = nullptr;
        const auto status = SPF_server_set_explanation(
            server_.get(), explanation_for_libspf2(options_.default_explanation).c_str(),
            &response);
        SPF_response_free(response);
        if (status != SPF_E_SUCCESS)
            throw std::runtime_error("SPF default explanation is not a valid macro string");
    }
}

SpfVerifier::~SpfVerifier() = default;

SpfResult SpfVerifier::check_helo(std::string_view client_ip, std::string_view helo) const {
    return evaluate(SpfScope::helo, client_ip, helo, std::string(helo), std::string(helo));
}

SpfResult SpfVerifier::check_mail_from(std::string_view client_ip, std::string_view helo,
                                       std::string_view mail_from) const {
    if (mail_from.empty() || mail_from == "<>")
        return evaluate(SpfScope::mailfrom, client_ip, helo, "postmaster@" + std::string(helo),
                        std::string(helo));
    auto [identity, domain] = sender_identity(mail_from);
    return evaluate(SpfScope::mailfrom, client_ip, helo, std::move(identity), std::move(domain));
}

SpfResult SpfVerifier::evaluate(SpfScope scope, std::string_view client_ip, std::string_view helo,
                                std::string identity, std::string domain) const {
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
    if (is_helo_literal(result.domain) || !is_spf_domain(result.domain)) {
        result.reason = "invalid domain"; // §4.3: none, no lookup
        return result;
    }
    std::unique_ptr<SPF_request_t, RequestFree> request(SPF_request_new(server_.get()));
    if (!request) {
        result.result = "temperror";
        result.reason = "out of memory";
        return result;
    }
    const std::string ip = address->to_string();
    const auto set_ip = address->is_v6 ? SPF_request_set_ipv6_str(request.get(), ip.c_str())
                                       : SPF_request_set_ipv4_str(request.get(), ip.c_str());
    const std::string helo_name(helo.empty() ? std::string_view("unknown") : helo);
    if (set_ip != SPF_E_SUCCESS ||
        SPF_request_set_helo_dom(request.get(), helo_name.c_str()) != SPF_E_SUCCESS ||
        (scope == SpfScope::mailfrom &&
         SPF_request_set_env_from(request.get(), result.identity.c_str()) != 0) ||
        (scope == SpfScope::helo &&
         SPF_request_set_env_from(request.get(), ("postmaster@" + result.domain).c_str()) != 0)) {
        result.result = "permerror";
        result.reason = "invalid request";
        return result;
    }
    Evaluation evaluation;
    evaluation.resolver = layer_->resolver;
    evaluation.deadline = Clock::now() + options_.time_budget;
    evaluation.client_is_ipv6 = address->is_v6;
    SPF_response_t* raw_response = nullptr;
    {
        EvaluationScope active(evaluation);
        SPF_request_query_mailfrom(request.get(), &raw_response);
    }
    std::unique_ptr<SPF_response_t, ResponseFree> response(raw_response);
    const SPF_result_t raw_result =
        response ? SPF_response_result(response.get()) : SPF_RESULT_TEMPERROR;
    result.result = result_word(raw_result);
    // libspf2 leaves the result unset (SPF_RESULT_INVALID) when the record lookup itself
    // fails with TRY_AGAIN; RFC 7208 §4.4 makes that a temperror.
    if (raw_result == SPF_RESULT_INVALID && evaluation.dns_trouble)
        result.result = "temperror";
    if (evaluation.out_of_time) {
        result.result = "temperror";
        result.reason = "time budget spent";
    } else if (evaluation.syntax_error) { // libspf2 accepts many invalid records (§4.6)
        result.result = "permerror";
        result.reason = "record syntax: " + *evaluation.syntax_error;
        result.explanation.clear();
    } else if (evaluation.term_limit_exceeded || evaluation.mx_limit_exceeded) {
        result.result = "permerror";
        result.reason = evaluation.mx_limit_exceeded ? "more than 10 MX names"
                                                     : "more than 10 DNS-querying terms";
    } else if (evaluation.void_limit_exceeded && result.result != "temperror") {
        result.result = "permerror";
        result.reason = "void lookup limit";
    } else if (result.result == "temperror") {
        result.reason = evaluation.timed_out ? "dns timeout" : "dns error";
    } else if (raw_result == SPF_RESULT_INVALID) {
        result.reason = "no result from libspf2";
    } else if (result.result == "permerror" && response) {
        result.reason = SPF_strerror(SPF_response_errcode(response.get())); // libspf2's fixed text
    }
    if (result.result == "fail" && response && !evaluation.syntax_error) {
        if (const char* text = SPF_response_get_explanation(response.get()))
            result.explanation = text;
    }
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
