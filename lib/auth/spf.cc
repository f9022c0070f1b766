// See spf.hh for the contract and what our DNS layer adds to libspf2.
#include "auth/spf.hh"

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
#include <stdexcept>

namespace mailwarden::auth {

struct SpfVerifier::Layer {
    SPF_dns_server_t server{};
    dns::Resolver* resolver = nullptr;
};

namespace {

using Clock = std::chrono::steady_clock;

constexpr int max_void_lookups = 2; // RFC 7208 §4.6.4

// What one evaluation's lookups share; set on the evaluating thread while libspf2 runs.
struct Evaluation {
    dns::Resolver* resolver = nullptr;
    Clock::time_point deadline;
    int void_lookups = 0;
    bool void_limit_exceeded = false;
    bool out_of_time = false;
    bool timed_out = false; // a lookup timed out (else: other DNS trouble)
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

SPF_dns_rr_t* answer_with(SPF_dns_server_t* server, const char* domain, ns_type type,
                          SPF_dns_stat_t herrno) {
    return SPF_dns_rr_new_init(server, domain, type, 0, herrno);
}

SPF_dns_rr_t* lookup(SPF_dns_server_t* server, const char* domain, ns_type type,
                     int /*should_cache*/) noexcept {
    Evaluation* evaluation = current_evaluation;
    const auto rr_type = resolver_type(type);
    if (evaluation == nullptr || domain == nullptr || !rr_type)
        return answer_with(server, domain ? domain : "", type, TRY_AGAIN);
    std::string_view name(domain);
    if (!name.empty() && name.back() == '.')
        name.remove_suffix(1);
    if (name.size() > 253 || !is_spf_domain(name)) // §4.3: malformed names are NXDOMAIN
        return answer_with(server, domain, type, HOST_NOT_FOUND);
    if (Clock::now() >= evaluation->deadline) {
        evaluation->out_of_time = true;
        return answer_with(server, domain, type, TRY_AGAIN);
    }
    dns::Answer answer;
    try {
        answer = evaluation->resolver->query(name, *rr_type);
    } catch (...) {
        return answer_with(server, domain, type, TRY_AGAIN);
    }
    switch (answer.status) {
    case dns::Status::ok:
        break;
    case dns::Status::nxdomain:
    case dns::Status::nodata:
        if (counts_as_void(type) && ++evaluation->void_lookups > max_void_lookups)
            evaluation->void_limit_exceeded = true;
        return answer_with(server, domain, type,
                           answer.status == dns::Status::nxdomain ? HOST_NOT_FOUND : NO_DATA);
    case dns::Status::timeout:
        evaluation->timed_out = true;
        return answer_with(server, domain, type, TRY_AGAIN);
    default:
        return answer_with(server, domain, type, TRY_AGAIN);
    }
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
            server_.get(), options_.default_explanation.c_str(), &response);
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
    Evaluation evaluation{.resolver = layer_->resolver,
                          .deadline = Clock::now() + options_.time_budget};
    SPF_response_t* raw_response = nullptr;
    {
        EvaluationScope active(evaluation);
        SPF_request_query_mailfrom(request.get(), &raw_response);
    }
    std::unique_ptr<SPF_response_t, ResponseFree> response(raw_response);
    result.result =
        response ? std::string(result_word(SPF_response_result(response.get()))) : "temperror";
    if (evaluation.out_of_time) {
        result.result = "temperror";
        result.reason = "time budget spent";
    } else if (evaluation.void_limit_exceeded && result.result != "temperror") {
        result.result = "permerror";
        result.reason = "void lookup limit";
    } else if (result.result == "temperror") {
        result.reason = evaluation.timed_out ? "dns timeout" : "dns error";
    } else if (result.result == "permerror") {
        result.reason = "invalid record";
    }
    if (result.result == "fail" && response) {
        if (const char* text = SPF_response_get_explanation(response.get()))
            result.explanation = text;
    }
    return result;
}

} // namespace mailwarden::auth
