// See engine.hh.
#include "engine/engine.hh"
#include "util/ascii.hh"

#include "auth/authres.hh"
#include "engine/state_keys.hh"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <unistd.h>

namespace mailwarden::engine {

namespace {

auth::DkimOptions dkim_options(const config::Config& config) {
    auth::DkimOptions options;
    options.max_signatures = static_cast<std::size_t>(config.integer("dkim_max_signatures"));
    options.min_key_bits = static_cast<unsigned>(config.integer("dkim_min_key_bits"));
    options.sha1 = config.string("dkim_sha1") == "fail" ? auth::DkimOptions::Sha1::fail
                                                        : auth::DkimOptions::Sha1::policy;
    options.body_length = config.string("dkim_body_length") == "allow"
                              ? auth::DkimOptions::BodyLength::allow
                              : auth::DkimOptions::BodyLength::policy_when_partial;
    options.dns_timeout = config.duration("dns_timeout");
    return options;
}

auth::SpfOptions spf_options(const config::Config& config, const std::string& authserv_id) {
    auth::SpfOptions options;
    options.time_budget = config.duration("spf_time_budget");
    options.receiving_host = authserv_id;
    options.default_explanation = config.string("spf_explanation");
    return options;
}

std::shared_ptr<const auth::PublicSuffixList> load_public_suffixes(const config::Config& config) {
    std::string error;
    auto list = auth::PublicSuffixList::load(config.string("public_suffix_list"), &error);
    if (!list)
        throw std::runtime_error("public_suffix_list: " + error);
    return std::make_shared<const auth::PublicSuffixList>(std::move(*list));
}

// RFC 7489 §6.6.1: several author addresses may be evaluated when they share one domain.
void accept_single_author_domain(auth::HeaderFrom& from) {
    if (from.problem != auth::FromProblem::multiple_addresses || from.domains.empty())
        return;
    if (std::ranges::all_of(from.domains, [&](const std::string& domain) {
            return util::equal_ignoring_ascii_case(domain, from.domains.front());
        }))
        from.problem = auth::FromProblem::none;
}

auth::AuthResult auth_result(std::string method, std::string result, std::string reason = "") {
    auth::AuthResult entry;
    entry.method = std::move(method);
    entry.result = std::move(result);
    entry.reason = std::move(reason);
    return entry;
}

bool is_temperror(std::string_view result) {
    return result == "temperror";
}

} // namespace

std::string local_host_name() {
    char name[256] = {};
    if (::gethostname(name, sizeof name - 1) != 0 || name[0] == '\0')
        return "localhost";
    return name;
}

Engine::Engine(config::ConfigPtr config, dns::Resolver& resolver,
               std::shared_ptr<state::Store> store)
    : Engine(config, resolver, load_public_suffixes(*config), std::move(store)) {}

Engine::Engine(config::ConfigPtr config, dns::Resolver& resolver,
               std::shared_ptr<const auth::PublicSuffixList> public_suffixes,
               std::shared_ptr<state::Store> store)
    : config_(std::move(config)), policy_(DecisionPolicy::from_config(*config_)),
      authserv_id_(config_->string("authserv_id").empty() ? local_host_name()
                                                          : config_->string("authserv_id")),
      trusted_authserv_ids_(config_->list("trusted_authserv_ids")),
      public_suffixes_(std::move(public_suffixes)),
      spf_(std::make_unique<auth::SpfVerifier>(spf_options(*config_, authserv_id_), resolver)),
      dkim_(std::make_unique<auth::DkimVerifier>(dkim_options(*config_), resolver)),
      dmarc_(std::make_unique<auth::DmarcEvaluator>(resolver, *public_suffixes_)),
      limits_(*config_), reputation_(ReputationPolicy::from_config(*config_)),
      greylisting_(Greylisting::from_config(*config_)), store_(std::move(store)) {}

MessageEvaluation Engine::evaluate(ConnectionFacts connection) const {
    return MessageEvaluation(*this, std::move(connection));
}

bool Engine::is_outbound(std::string_view client_ip, std::string_view auth_user) const {
    // No client address: mail submitted on this host (Postfix non_smtpd_milters, sendmail -bm).
    return !auth_user.empty() || client_ip.empty() ||
           config_->cidrs("internal_networks").contains(client_ip);
}

MessageEvaluation::MessageEvaluation(const Engine& engine, ConnectionFacts connection)
    : engine_(&engine), connection_(std::move(connection)) {
    if (engine_->store_ && !engine_->limits_.empty())
        report_.rate = "ok";
    if (engine_->store_)
        report_.reputation = "new";
}

// One round trip for a stage: its rate checks (unless with_limits is false), then the extra
// operations given (reputation, greylisting), whose outcomes go to *extra_outcomes.
std::optional<Verdict>
MessageEvaluation::consult_state(config::RateStage stage, bool with_limits,
                                 std::vector<state::Operation> extra,
                                 std::vector<state::Outcome>* extra_outcomes) {
    if (!engine_->store_)
        return std::nullopt;
    RateLimits::Checks checks;
    if (with_limits && engine_->limits_.any_at(stage))
        checks = engine_->limits_.checks_at(stage, subject_);
    const std::size_t rate_checks = checks.operations.size();
    for (auto& operation : extra)
        checks.operations.push_back(std::move(operation));
    if (checks.operations.empty())
        return std::nullopt;
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    const state::BatchResult result = engine_->store_->run(checks.operations, now.count());
    if (!result.ok) {
        if (rate_checks > 0)
            report_.rate = "error";
        if (rate_checks < checks.operations.size())
            (stage == config::RateStage::rcpt ? report_.greylist : report_.reputation) = "error";
        Verdict verdict = state_error_verdict(engine_->policy_);
        return verdict.is_final() ? std::optional(std::move(verdict)) : std::nullopt;
    }
    for (std::size_t i = rate_checks; extra_outcomes != nullptr && i < result.outcomes.size(); ++i)
        extra_outcomes->push_back(result.outcomes[i]);
    auto verdict = RateLimits::verdict(checks, result);
    if (verdict)
        report_.rate = "limited:" + verdict->reason.substr(std::string("ratelimit_").size());
    return verdict;
}

// The client's address and network records, read (or moved by good and bad).
std::vector<state::Operation> MessageEvaluation::client_reputation(double good, double bad) const {
    std::vector<state::Operation> operations;
    const state::Millis half_life = engine_->reputation_.half_life;
    for (std::string key :
         {reputation_ip_key(connection_.client_ip), reputation_net_key(connection_.client_ip)})
        if (!key.empty())
            operations.push_back(state::ReputationChange{
                .key = std::move(key), .good = good, .bad = bad, .half_life = half_life});
    return operations;
}

// The reputation records among outcomes, in order.
static std::vector<state::Reputation> reputations_in(const std::vector<state::Outcome>& outcomes) {
    std::vector<state::Reputation> values;
    for (const auto& outcome : outcomes)
        if (const auto* value = std::get_if<state::Reputation>(&outcome))
            values.push_back(*value);
    return values;
}

void MessageEvaluation::note_reputation(const std::vector<state::Reputation>& values) {
    if (values.empty())
        return;
    const auto score = reputation_score(values.front(), engine_->reputation_.min_messages);
    char text[16];
    if (score)
        std::snprintf(text, sizeof text, "%+.2f", *score / 100.0);
    report_.reputation = score ? text : "new";
}

Verdict MessageEvaluation::mail_from(std::string_view sender, std::string_view auth_user) {
    report_.sender = std::string(sender);
    report_.outbound = engine_->is_outbound(connection_.client_ip, auth_user);
    const ReputationPolicy& reputation = engine_->reputation_;
    if (!report_.outbound && reputation.denied_network(connection_.client_ip))
        return Verdict::reject("5.7.1", "client network is not accepted here", "deny_network");
    EnvelopeFacts facts;
    facts.outbound = report_.outbound;
    if (!report_.outbound) {
        report_.spf_helo = engine_->spf_->check_helo(connection_.client_ip, connection_.helo);
        report_.spf_mailfrom =
            engine_->spf_->check_mail_from(connection_.client_ip, connection_.helo, sender);
        facts.spf_result = report_.spf_mailfrom->result;
        facts.spf_domain = report_.spf_mailfrom->domain;
        facts.spf_explanation = report_.spf_mailfrom->explanation;
        dkim_.emplace(engine_->dkim_->session());
    }
    Verdict verdict = decide_envelope(engine_->policy_, facts);
    if (verdict.is_final())
        return verdict;
    subject_.inbound = !report_.outbound && !reputation.allowed_network(connection_.client_ip);
    subject_.client_ip = connection_.client_ip;
    subject_.sasl_user = std::string(auth_user);
    subject_.sender = std::string(sender);
    const bool judge_client = subject_.inbound && reputation.refuses();
    std::vector<state::Outcome> outcomes;
    if (auto refused = consult_state(
            config::RateStage::mail, true,
            judge_client ? client_reputation(0, 0) : std::vector<state::Operation>{}, &outcomes))
        return std::move(*refused);
    const std::vector<state::Reputation> values = reputations_in(outcomes);
    note_reputation(values);
    if (judge_client && !values.empty())
        if (auto refused = reputation.verdict(values.front(),
                                              values.size() > 1 ? values[1] : state::Reputation{}))
            return std::move(*refused);
    return verdict;
}

Verdict MessageEvaluation::recipient(std::string_view address) {
    subject_.recipient = std::string(address);
    const Greylisting& greylisting = engine_->greylisting_;
    const bool greylist = greylisting.enabled && subject_.inbound;
    std::vector<state::Outcome> outcomes;
    std::vector<state::Operation> extra;
    if (greylist)
        if (auto check = greylisting.check(connection_.client_ip, subject_.sender, address))
            extra.push_back(std::move(*check));
    if (auto limited = consult_state(config::RateStage::rcpt, true, std::move(extra), &outcomes))
        return std::move(*limited);
    if (greylist && !outcomes.empty())
        if (const auto* outcome = std::get_if<state::GreylistOutcome>(&outcomes.front())) {
            report_.greylist = greylist_word(*outcome);
            if (auto deferred = greylisting.verdict(*outcome))
                return std::move(*deferred);
        }
    ++recipients_;
    return Verdict::accept();
}

void MessageEvaluation::header(std::string_view name, std::string_view value) {
    if (util::equal_ignoring_ascii_case(name, "From")) {
        if (++from_headers_seen_ <= max_from_headers_kept)
            from_values_.emplace_back(value);
    } else if (util::equal_ignoring_ascii_case(name, "Authentication-Results")) {
        const std::size_t index = ++authres_headers_seen_;
        const std::string_view one[] = {value};
        const auto triage = auth::triage_authentication_results(one, engine_->authserv_id_,
                                                                engine_->trusted_authserv_ids_);
        if (!triage.remove.empty())
            report_.verdict.remove_headers.push_back({"Authentication-Results", index});
        else if (!triage.trusted.empty() &&
                 report_.trusted_authentication_results.size() < max_trusted_authres_kept)
            report_.trusted_authentication_results.emplace_back(value);
    }
    if (dkim_)
        dkim_->header(name, value);
}

void MessageEvaluation::end_of_headers() {
    if (dkim_)
        dkim_->end_of_headers();
}

void MessageEvaluation::body(std::span<const char> chunk) {
    if (dkim_)
        dkim_->body(chunk);
}

Verdict MessageEvaluation::end_of_data(std::size_t recipients) {
    subject_.recipients = static_cast<std::int64_t>(recipients);
    if (auto limited = consult_state(config::RateStage::end_of_message, true, {}, nullptr))
        return std::move(*limited);
    return Verdict::accept();
}

Report MessageEvaluation::end_of_message() {
    std::vector<HeaderRemoval> removals = std::move(report_.verdict.remove_headers);
    std::ranges::sort(removals, [](const HeaderRemoval& a, const HeaderRemoval& b) {
        return a.index > b.index; // highest first: each removal leaves the others in place
    });
    std::vector<std::string_view> from_views(from_values_.begin(), from_values_.end());
    report_.from = auth::parse_header_from(from_views);
    if (from_headers_seen_ > max_from_headers_kept)
        report_.from.problem = auth::FromProblem::multiple_headers;
    accept_single_author_domain(report_.from);

    MessageFacts facts;
    facts.envelope.outbound = report_.outbound;
    if (dkim_)
        report_.dkim = dkim_->end_of_message();
    if (!report_.outbound) {
        facts.envelope.spf_result = report_.spf_mailfrom ? report_.spf_mailfrom->result : "";
        facts.envelope.spf_domain = report_.spf_mailfrom ? report_.spf_mailfrom->domain : "";
        facts.envelope.spf_explanation =
            report_.spf_mailfrom ? report_.spf_mailfrom->explanation : "";
        facts.from_problem = report_.from.problem;
        facts.from_domain = report_.from.domain;
        if (report_.from.problem == auth::FromProblem::none)
            evaluate_dmarc();
        if (report_.dmarc) {
            facts.dmarc_result = report_.dmarc->result;
            facts.dmarc_disposition = report_.dmarc->disposition;
        }
        facts.auth_temperror =
            is_temperror(facts.envelope.spf_result) ||
            std::ranges::any_of(report_.dkim, [](const auth::DkimSignatureResult& signature) {
                return is_temperror(signature.result);
            });
    }
    Verdict verdict = decide_message(engine_->policy_, facts);
    const std::string domain = authenticated_domain();
    if (!report_.outbound && !verdict.is_final() && engine_->reputation_.denied_domain(domain))
        verdict = Verdict::reject(
            "5.7.1", "mail from " + smtp_safe_text(domain, 100) + " is not accepted here",
            "deny_domain");
    // One round trip: outbound quotas (delivered recipients only) and the reputation update.
    subject_.recipients = static_cast<std::int64_t>(recipients_);
    std::vector<state::Outcome> outcomes;
    auto limited = consult_state(config::RateStage::end_of_message, !verdict.is_final(),
                                 reputation_updates(verdict, domain), &outcomes);
    note_reputation(reputations_in(outcomes));
    if (limited && !verdict.is_final())
        verdict = std::move(*limited);
    verdict.remove_headers = std::move(removals);
    report_.verdict = std::move(verdict);
    if (!report_.outbound) {
        build_authentication_results();
        if (!report_.verdict.is_final())
            report_.verdict.add_headers.emplace_back("Authentication-Results",
                                                     report_.authentication_results);
    }
    return std::move(report_);
}

// The domain DMARC passed with (its aligned DKIM d=, else the SPF domain); "" when none.
std::string MessageEvaluation::authenticated_domain() const {
    if (!report_.dmarc || report_.dmarc->result != "pass")
        return "";
    if (report_.dmarc->dkim_aligned)
        return report_.dmarc->aligned_dkim_domain;
    return report_.spf_mailfrom ? report_.spf_mailfrom->domain : "";
}

// Inbound messages move the counters of their client (and authenticated domain): good for a
// DMARC pass, bad for a DMARC fail or a refusal, unless an allow-listed domain sent it.
std::vector<state::Operation>
MessageEvaluation::reputation_updates(const Verdict& verdict, const std::string& domain) const {
    if (report_.outbound || !engine_->store_)
        return {};
    const bool refused = verdict.is_final() || verdict.action == Action::quarantine;
    const bool good = report_.dmarc && report_.dmarc->result == "pass" && !refused;
    bool bad = refused || (report_.dmarc && report_.dmarc->result == "fail");
    if (bad && engine_->reputation_.allowed_domain(domain))
        bad = false;
    if (!good && !bad)
        return {};
    std::vector<state::Operation> operations = client_reputation(good ? 1 : 0, bad ? 1 : 0);
    if (!domain.empty())
        operations.push_back(state::ReputationChange{.key = reputation_domain_key(domain),
                                                     .good = good ? 1.0 : 0.0,
                                                     .bad = bad ? 1.0 : 0.0,
                                                     .half_life = engine_->reputation_.half_life});
    return operations;
}

void MessageEvaluation::evaluate_dmarc() {
    auth::DmarcInput input;
    input.from_domain = report_.from.domain;
    if (report_.spf_mailfrom) { // the MAIL FROM identity only, never HELO (CVE-2019-20790)
        input.spf_mailfrom_result = report_.spf_mailfrom->result;
        input.spf_mailfrom_domain = report_.spf_mailfrom->domain;
    }
    for (const auto& signature : report_.dkim)
        input.dkim.push_back({signature.result, signature.domain});
    report_.dmarc = engine_->dmarc_->evaluate(input);
}

void MessageEvaluation::build_authentication_results() {
    auth::AuthenticationResults header;
    header.authserv_id = engine_->authserv_id_;
    if (report_.spf_mailfrom) {
        const auth::SpfResult& spf = *report_.spf_mailfrom;
        auth::AuthResult result = auth_result("spf", spf.result);
        if (spf.result != "pass" && !spf.reason.empty())
            result.reason = spf.reason;
        result.properties.push_back({"smtp.mailfrom", spf.identity});
        header.results.push_back(std::move(result));
    }
    if (report_.dkim.empty())
        header.results.push_back(auth_result("dkim", "none"));
    for (const auto& signature : report_.dkim) {
        auth::AuthResult result = auth_result("dkim", signature.result, signature.reason);
        if (!signature.domain.empty())
            result.properties.push_back({"header.d", signature.domain});
        if (!signature.selector.empty())
            result.properties.push_back({"header.s", signature.selector});
        if (!signature.algorithm.empty())
            result.properties.push_back({"header.a", signature.algorithm});
        header.results.push_back(std::move(result));
    }
    if (report_.dmarc) {
        const auth::DmarcResult& dmarc = *report_.dmarc;
        auth::AuthResult result = auth_result("dmarc", dmarc.result);
        if (!dmarc.policy.empty())
            result.reason = "p=" + dmarc.policy + " dis=" + dmarc.disposition;
        result.properties.push_back({"header.from", dmarc.from_domain});
        header.results.push_back(std::move(result));
    } else if (report_.from.problem != auth::FromProblem::none) {
        header.results.push_back(
            auth_result("dmarc", "permerror",
                        "From header: " + std::string(from_problem_name(report_.from.problem))));
    }
    report_.authentication_results = auth::build_authentication_results(header);
}

} // namespace mailwarden::engine
