// See decision.hh.
#include "policy/decision.hh"

#include "auth/spf.hh"
#include "util/log.hh"

#include <chrono>
#include <exception>

namespace mailwarden::policy {

namespace {

std::string client_name_of(const PolicyRequest& request) {
    const std::string name = request.get("client_name");
    return name == "unknown" ? "" : name; // Postfix's word for an unverified name
}

std::size_t recipient_count(const PolicyRequest& request) {
    const std::string text = request.get("recipient_count");
    std::size_t count = 0;
    for (const char c : text.substr(0, 9))
        if (c >= '0' && c <= '9')
            count = count * 10 + static_cast<std::size_t>(c - '0');
        else
            return 0;
    return count;
}

PolicyAnswer dunno(engine::Verdict verdict = engine::Verdict::accept()) {
    PolicyAnswer answer;
    answer.action = "DUNNO";
    answer.verdict = std::move(verdict);
    return answer;
}

} // namespace

PolicyAnswer PolicySession::answer(const PolicyRequest& request) {
    const auto started = std::chrono::steady_clock::now();
    PolicyAnswer answered = guarded_answer(request);
    if (message_) { // the time of this request's stages
        const engine::Timing& timing = message_->report_so_far().timing;
        answered.timing = timing.since(logged_);
        logged_ = timing;
    }
    answered.ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    return answered;
}

PolicyAnswer PolicySession::guarded_answer(const PolicyRequest& request) {
    try {
        return decide(request);
    } catch (const std::exception& error) {
        util::LogRecord(util::Severity::error)
            .text("internal error")
            .kv("stage", request.get("protocol_state"))
            .kv("error", error.what());
    } catch (...) {
        util::LogRecord(util::Severity::error)
            .text("internal error")
            .kv("stage", request.get("protocol_state"));
    }
    message_.reset();
    instance_.clear();
    const engine::DecisionPolicy policy =
        engine_ ? engine_->policy() : engines_->current()->policy();
    const engine::Verdict verdict = engine::internal_error_verdict(policy);
    return verdict.is_final() ? final_answer(verdict) : dunno(verdict);
}

void PolicySession::start_message(const PolicyRequest& request) {
    message_.reset();
    engine_ = engines_->current();
    instance_ = request.get("instance");
    message_.emplace(engine_->evaluate({.client_ip = request.get("client_address"),
                                        .client_name = client_name_of(request),
                                        .helo = request.get("helo_name")}));
    envelope_ = message_->mail_from(request.get("sender"), request.get("sasl_username"));
    spf_header_sent_ = false;
    logged_ = {};
}

PolicyAnswer PolicySession::final_answer(const engine::Verdict& verdict) const {
    const engine::SmtpReply reply = engine::smtp_reply(verdict);
    PolicyAnswer answer = dunno(verdict);
    answer.action = reply.code + " " + reply.status + " " + reply.text;
    if (message_) {
        const engine::Report& report = message_->report_so_far();
        answer.spf = report.spf_mailfrom ? report.spf_mailfrom->result : "";
        answer.rate = report.rate;
    }
    return answer;
}

PolicyAnswer PolicySession::decide(const PolicyRequest& request) {
    const std::string state = request.get("protocol_state");
    if (state != "RCPT" && state != "END-OF-MESSAGE")
        return dunno();
    const std::string instance = request.get("instance");
    if (!message_ || instance.empty() || instance != instance_)
        start_message(request);
    if (envelope_.is_final())
        return final_answer(envelope_);
    const engine::Verdict verdict = state == "RCPT"
                                        ? message_->recipient(request.get("recipient"))
                                        : message_->end_of_data(recipient_count(request));
    if (verdict.is_final())
        return final_answer(verdict);
    PolicyAnswer answer = final_answer(verdict);
    answer.action = "DUNNO";
    const engine::Report& report = message_->report_so_far();
    if (state == "RCPT" && !spf_header_sent_ && report.spf_mailfrom) {
        answer.action = "PREPEND Received-SPF: " +
                        auth::received_spf(*report.spf_mailfrom, request.get("client_address"),
                                           request.get("helo_name"), engine_->authserv_id());
        spf_header_sent_ = true;
    }
    return answer;
}

} // namespace mailwarden::policy
