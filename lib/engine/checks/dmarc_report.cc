// DMARC reports (lib/report): what each inbound message contributes, as operations of the end
// of message's state batch (still one round trip for that stage).
//   - Aggregate (dmarc_aggregate_reports): a message whose policy record asks for rua= is
//     counted under (UTC day, policy domain, row) with ReportCount; `mailwarden dmarc report
//     --send` builds and sends the day's reports from those counts.
//   - Failure (dmarc_failure_reports): a message the record's fo= asks about, when the record
//     has ruf= and is not a psd=y record (RFC 9991 §3), is queued as an ARF report with
//     FailureQueue (dmarc_failure_rate per domain and hour).
// A message that gets a 4xx is not counted: it comes back, and counts then. Runs last, after
// the decision table and the Authentication-Results header, so the row's disposition is what
// was done to the message. The header and body are kept (bounded) only for failure reports.
// A row past dmarc_report_domain_rows or dmarc_report_max_rows, and a failure report that
// finds its queue full, are lost: a warning says so (once per kind and 10 minutes).
// Off without a state store or when neither parameter asks for it. Never throws.
#include "engine/checks/checks.hh"

#include "auth/dmarc_record.hh"
#include "report/failure_report.hh"
#include "report/message_row.hh"
#include "report/report_job.hh"
#include "report/report_settings.hh"
#include "util/ascii.hh"
#include "util/rate_limited_log.hh"

#include <algorithm>
#include <chrono>

namespace mailwarden::engine::checks {

namespace {

using state::Millis;

struct ReportSettings {
    bool aggregate = false;
    bool failure = false;
    std::int64_t max_interval_rows = 0, max_domain_rows = 0;
    Millis retention = 0;
    std::int64_t failure_rate = 0;
    bool redact_local_part = true, include_body = false;
    report::ReporterInfo reporter;
};

// What a message keeps for its failure report.
struct Kept : CheckState {
    std::vector<std::string> recipients;
    std::vector<std::pair<std::string, std::string>> headers;
    std::size_t header_bytes = 0;
    std::string body;
};

// What was done to the message, in RFC 9990's words; nullopt for a 4xx (not counted).
std::optional<std::string> applied(const Verdict& verdict) {
    switch (verdict.action) {
    case Action::tempfail:
        return std::nullopt;
    case Action::reject:
    case Action::discard:
        return "reject";
    case Action::quarantine:
        return "quarantine";
    default:
        return "none";
    }
}

Millis now_millis() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string policy_text(const auth::DmarcResult& dmarc, const auth::DmarcRecord& record) {
    report::PolicyPublished policy{.domain = util::ascii_lowered(dmarc.record_domain),
                                   .discovery_method = dmarc.discovery_method,
                                   .record = dmarc.record,
                                   .error = ""};
    for (const std::string& note : record.errors)
        policy.error += (policy.error.empty() ? "" : "; ") + note;
    return report::encode_policy(policy);
}

class DmarcReportCheck final : public Check {
public:
    explicit DmarcReportCheck(ReportSettings settings)
        : Check("reports", hooks_for(settings), Direction::inbound),
          settings_(std::move(settings)) {}

    void recipient(Stage& stage) const override {
        Kept& kept = stage.state<Kept>();
        if (kept.recipients.size() < 50)
            kept.recipients.emplace_back(stage.envelope().recipient);
    }

    void header(Stage& stage, std::string_view name, std::string_view value) const override {
        Kept& kept = stage.state<Kept>();
        kept.header_bytes += name.size() + value.size() + 3;
        if (kept.header_bytes <= report::max_failure_header_bytes)
            kept.headers.emplace_back(name, value);
    }

    void body(Stage& stage, std::span<const char> chunk) const override {
        Kept& kept = stage.state<Kept>();
        const std::size_t room = report::max_failure_body_bytes - kept.body.size();
        kept.body.append(chunk.data(), std::min(room, chunk.size()));
        if (kept.body.size() >= report::max_failure_body_bytes)
            stage.stop(hook_bit(Hook::body));
    }

    void end_of_message(Stage& stage) const override {
        const Report& report = stage.report();
        if (!report.dmarc || report.dmarc->record_domain.empty())
            return;
        const auto disposition = applied(stage.verdict());
        const auto record = auth::parse_dmarc_record(report.dmarc->record);
        if (!disposition || !record || record->broken)
            return;
        const Millis now = now_millis();
        if (settings_.aggregate && record->has_rua)
            count(stage, *record, *disposition, now);
        if (settings_.failure && !record->ruf.empty() && record->psd != auth::DmarcPsd::yes &&
            report::failure_report_due(*record, *report.dmarc))
            queue_failure(stage, *record, *disposition, now);
    }

    // A row or report the store could not take is lost for the report: said in the log, at
    // most once per kind and full_log_interval (mailwarden.conf(5) promises it).
    void state_answered(Stage& stage, const StateAnswer& answer) const override {
        for (const auto& outcome : answer.outcomes) {
            const auto* stored = std::get_if<state::ReportOutcome>(&outcome);
            if (stored == nullptr)
                continue;
            if (const auto* counted = std::get_if<state::ReportCountOutcome>(&stored->value);
                counted != nullptr && *counted != state::ReportCountOutcome::counted)
                log_full(*counted, stage.report());
            else if (const auto* queued = std::get_if<state::FailureQueueOutcome>(&stored->value);
                     queued != nullptr && *queued == state::FailureQueueOutcome::queue_full)
                full_log_.warn("dmarc-failure-queue-full",
                               "DMARC failure report for " + policy_domain(stage.report()) +
                                   " dropped: the queue holds its " +
                                   std::to_string(state::FailureQueue{}.max_queued) +
                                   " reports (is the report job running?)");
        }
    }

private:
    static constexpr std::chrono::seconds full_log_interval{600};

    // Only for a warning: a message whose row was counted costs no string.
    static std::string policy_domain(const Report& report) {
        return report.dmarc ? util::ascii_lowered(report.dmarc->record_domain) : "";
    }

    void log_full(state::ReportCountOutcome outcome, const Report& report) const {
        const std::string domain = policy_domain(report);
        if (outcome == state::ReportCountOutcome::domain_full)
            full_log_.warn("dmarc-report-domain-full",
                           "DMARC aggregate report row for " + domain + " not counted: " + domain +
                               " has dmarc_report_domain_rows=" +
                               std::to_string(settings_.max_domain_rows) + " rows today");
        else if (outcome == state::ReportCountOutcome::interval_full)
            full_log_.warn("dmarc-report-full",
                           "DMARC aggregate report row for " + domain +
                               " not counted: all domains have dmarc_report_max_rows=" +
                               std::to_string(settings_.max_interval_rows) + " rows today");
    }

    static Hooks hooks_for(const ReportSettings& settings) {
        Hooks hooks = hook_bit(Hook::end_of_message);
        if (settings.failure)
            hooks |= hooks_of(Hook::recipient, Hook::header);
        if (settings.failure && settings.include_body)
            hooks |= hook_bit(Hook::body);
        return hooks;
    }

    void count(Stage& stage, const auth::DmarcRecord& record, const std::string& disposition,
               Millis now) const {
        const Report& report = stage.report();
        const auth::SpfResult* spf = report.spf_mailfrom ? &*report.spf_mailfrom : nullptr;
        const report::ReportedMessage message{.source_ip = stage.connection().client_ip,
                                              .sender = report.sender,
                                              .dmarc = &*report.dmarc,
                                              .spf = spf,
                                              .dkim = &report.dkim,
                                              .applied = disposition,
                                              .verdict_reason = stage.verdict().reason};
        const Millis interval = now - now % report::one_day;
        stage.add_state(state::ReportOperation(
            state::ReportCount{.interval = interval,
                               .domain = util::ascii_lowered(report.dmarc->record_domain),
                               .policy = policy_text(*report.dmarc, record),
                               .row = report::encode_row(report::aggregate_row(message)),
                               .max_domain_rows = settings_.max_domain_rows,
                               .max_interval_rows = settings_.max_interval_rows,
                               .expires_at = interval + report::one_day + settings_.retention}));
    }

    void queue_failure(Stage& stage, const auth::DmarcRecord& record,
                       const std::string& disposition, Millis now) const {
        const Report& report = stage.report();
        const Kept* kept = stage.find_state<Kept>();
        report::FailureFacts facts{
            .reporter_email = settings_.reporter.email,
            .submitter = settings_.reporter.submitter,
            .user_agent = settings_.reporter.generator,
            .source_ip = stage.connection().client_ip,
            .arrival = now / 1000,
            .original_mail_from = report.sender,
            .original_rcpt_to = kept ? kept->recipients : std::vector<std::string>{},
            .reported_domain = report.dmarc->from_domain,
            .authentication_results = report.authentication_results,
            .dkim_aligned = report.dmarc->dkim_aligned,
            .spf_aligned = report.dmarc->spf_aligned,
            .failed_dkim = failed_dkim(report),
            .delivery_result = disposition == "none"         ? "delivered"
                               : disposition == "quarantine" ? "spam"
                                                             : "reject",
            .headers = kept ? kept->headers : decltype(report::FailureFacts::headers){},
            .body = kept && settings_.include_body ? kept->body : "",
            .redact_local_part = settings_.redact_local_part,
            .include_body = settings_.include_body};
        const std::string domain = util::ascii_lowered(report.dmarc->record_domain);
        stage.add_state(state::ReportOperation(state::FailureQueue{
            .domain = domain,
            .report = report::encode_failure_report(
                {domain, record.ruf, report::failure_report_mail(facts, now / 1000)}),
            .per_hour = settings_.failure_rate,
            .max_queued = state::FailureQueue{}.max_queued,
            .expires_at = now + settings_.retention}));
    }

    // A failed signature of a domain that would have aligned (RFC 9991 §4's DKIM fields).
    static std::optional<report::FailedDkim> failed_dkim(const Report& report) {
        const std::string from = util::ascii_lowered(report.dmarc->from_domain);
        for (const auto& signature : report.dkim)
            if (signature.result != "pass" && util::ascii_lowered(signature.domain) == from)
                return report::FailedDkim{signature.domain, "@" + signature.domain,
                                          signature.selector};
        return std::nullopt;
    }

    ReportSettings settings_;
    mutable util::RateLimitedLog full_log_{full_log_interval};
};

} // namespace

std::unique_ptr<const Check> dmarc_report(const CheckContext& context) {
    const config::Config& config = context.config;
    ReportSettings settings;
    settings.aggregate = config.boolean("dmarc_aggregate_reports");
    settings.failure = config.boolean("dmarc_failure_reports");
    if (!context.store || (!settings.aggregate && !settings.failure))
        return nullptr;
    settings.max_interval_rows = config.integer("dmarc_report_max_rows");
    settings.max_domain_rows = config.integer("dmarc_report_domain_rows");
    settings.retention = config.duration("dmarc_report_retention").count();
    settings.failure_rate = config.integer("dmarc_failure_rate");
    const auto& redact = config.list("dmarc_failure_redact");
    settings.redact_local_part = std::ranges::find(redact, "local_part") != redact.end();
    settings.include_body = std::ranges::find(redact, "body") == redact.end();
    settings.reporter = report::reporter_info(config, context.authserv_id);
    return std::make_unique<DmarcReportCheck>(std::move(settings));
}

} // namespace mailwarden::engine::checks
