// See report_job.hh.
//
// DKIM signing of report mail: the signer is given by the caller (tools/dmarc_command.cc
// builds it from the [signing] section), and signs when a key is configured for the reporter's
// domain; otherwise the mail goes unsigned and the local MTA's own milters may sign it.
#include "report/report_job.hh"

#include "auth/dmarc_record.hh"
#include "report/destinations.hh"
#include "report/report_mail.hh"
#include "util/gzip.hh"

#include <algorithm>

namespace mailwarden::report {

using state::ClaimOutcome;
using state::Millis;
using state::ReportClaim;
using state::ReportOperation;

struct ReportJob::Domain {
    std::string name;
    PolicyPublished policy;
};

namespace {

// One report operation's value; nullopt (and *error) when the store fails.
template <typename Value>
std::optional<Value> run_one(state::Store& store, ReportOperation operation, Millis now,
                             std::string* error) {
    const state::Operation one = std::move(operation);
    state::BatchResult result = store.run({&one, 1}, now);
    const auto* outcome = result.ok && result.outcomes.size() == 1
                              ? std::get_if<state::ReportOutcome>(&result.outcomes.front())
                              : nullptr;
    const auto* value = outcome != nullptr ? std::get_if<Value>(&outcome->value) : nullptr;
    if (value == nullptr) {
        *error = result.error.empty() ? "unexpected answer from the state store" : result.error;
        return std::nullopt;
    }
    return *value;
}

} // namespace

std::string_view send_status_name(SendStatus status) {
    switch (status) {
    case SendStatus::sent:
        return "sent";
    case SendStatus::already_sent:
        return "already_sent";
    case SendStatus::busy:
        return "busy";
    case SendStatus::in_doubt:
        return "in_doubt";
    case SendStatus::no_destination:
        return "no_destination";
    case SendStatus::dns_error:
        return "dns_error";
    case SendStatus::failed:
        return "failed";
    case SendStatus::unknown:
        return "unknown";
    case SendStatus::lost:
        return "lost";
    case SendStatus::store_error:
        return "store_error";
    }
    return "unknown";
}

ReportJob::ReportJob(state::Store& store, dns::Resolver& resolver,
                     auth::OrganizationFinder organization_of, Mailer& mailer,
                     ReportJobOptions options, MailSigner signer)
    : store_(&store), resolver_(&resolver), organization_of_(std::move(organization_of)),
      mailer_(&mailer), options_(std::move(options)), signer_(std::move(signer)) {}

Millis ReportJob::interval_of(Millis at) const {
    const Millis length = std::max<Millis>(options_.interval_length, 1000);
    return at - ((at % length) + length) % length;
}

std::vector<Millis> ReportJob::closed_intervals(Millis now) const {
    std::vector<Millis> intervals;
    const Millis current = interval_of(now);
    for (Millis start = interval_of(now - options_.retention); start < current;
         start += options_.interval_length)
        if (start + options_.interval_length + options_.retention > now)
            intervals.push_back(start);
    return intervals;
}

std::vector<ReportJob::Domain> ReportJob::domains(Millis interval, Millis now, std::string* error) {
    const auto entries = run_one<std::vector<state::ReportDomainEntry>>(
        *store_, ReportOperation(state::ReportDomains{interval}), now, error);
    std::vector<Domain> out;
    if (!entries)
        return out;
    for (const auto& entry : *entries) {
        auto policy = decode_policy(entry.policy);
        if (!policy)
            policy = PolicyPublished{entry.domain, "", "", ""};
        out.push_back({entry.domain, std::move(*policy)});
    }
    std::sort(out.begin(), out.end(),
              [](const Domain& a, const Domain& b) { return a.name < b.name; });
    return out;
}

std::optional<AggregateReport> ReportJob::report_of(const Domain& domain, Millis interval,
                                                    Millis now, std::int64_t* messages,
                                                    std::string* error) {
    const auto stored = run_one<std::vector<state::ReportRowEntry>>(
        *store_, ReportOperation(state::ReportRows{interval, domain.name}), now, error);
    if (!stored)
        return std::nullopt;
    std::vector<CountedRow> rows;
    *messages = 0;
    for (const auto& entry : *stored)
        if (auto row = decode_row(entry.row); row && entry.count > 0) {
            rows.push_back({std::move(*row), entry.count});
            *messages += entry.count;
        }
    if (rows.empty())
        return std::nullopt; // nothing to report (error stays empty)
    std::sort(rows.begin(), rows.end(), [](const CountedRow& a, const CountedRow& b) {
        return encode_row(a.row) < encode_row(b.row);
    });
    return build_aggregate_report(options_.reporter, domain.policy, interval / 1000,
                                  options_.interval_length / 1000, rows);
}

std::vector<AggregateReport> ReportJob::build(Millis interval, Millis now, std::string* error) {
    std::vector<AggregateReport> reports;
    error->clear();
    for (const Domain& domain : domains(interval, now, error)) {
        std::int64_t messages = 0;
        if (auto report = report_of(domain, interval, now, &messages, error))
            reports.push_back(std::move(*report));
        if (!error->empty())
            return {};
    }
    return reports;
}

std::optional<ClaimOutcome> ReportJob::step(const std::string& domain, Millis interval,
                                            ReportClaim::Step step, Millis now) {
    std::string error;
    return run_one<ClaimOutcome>(
        *store_,
        ReportOperation(ReportClaim{.interval = interval,
                                    .domain = domain,
                                    .owner = options_.owner,
                                    .step = step,
                                    .lease = options_.lease,
                                    .expires_at = interval + options_.interval_length +
                                                  options_.retention + one_day}),
        now, &error);
}

DeliveryResult ReportJob::deliver(const std::vector<std::string>& recipients, std::string mail) {
    if (signer_) {
        std::string error;
        auto signed_mail = signer_(mail, &error);
        if (!signed_mail)
            return {Delivery::failed, "cannot sign: " + error};
        mail = std::move(*signed_mail);
    }
    return mailer_->send(options_.reporter.email, recipients, mail);
}

DomainResult ReportJob::send_one(const Domain& domain, Millis interval, Millis now) {
    DomainResult result{interval, domain.name, SendStatus::store_error, {}, "", 0, ""};
    const auto claimed = step(domain.name, interval, ReportClaim::Step::claim, now);
    if (!claimed || *claimed != ClaimOutcome::claimed) {
        result.status = !claimed                            ? SendStatus::store_error
                        : *claimed == ClaimOutcome::busy    ? SendStatus::busy
                        : *claimed == ClaimOutcome::sending ? SendStatus::in_doubt
                        : *claimed == ClaimOutcome::sent    ? SendStatus::already_sent
                                                            : SendStatus::lost;
        return result;
    }
    const auto give_back = [&](SendStatus status, std::string detail) {
        step(domain.name, interval, ReportClaim::Step::release, now);
        result.status = status;
        result.detail = std::move(detail);
        return result;
    };
    const auto done = [&](SendStatus status, std::string detail) {
        step(domain.name, interval, ReportClaim::Step::sent, now);
        result.status = status;
        result.detail = std::move(detail);
        return result;
    };
    std::string error;
    const auto report = report_of(domain, interval, now, &result.messages, &error);
    if (!report)
        return error.empty() ? done(SendStatus::no_destination, "no rows")
                             : give_back(SendStatus::store_error, error);
    result.file_name = report->file_name;
    const auto record = auth::parse_dmarc_record(domain.policy.record);
    const VerifiedDestinations destinations =
        verify_destinations(*resolver_, organization_of_, domain.name,
                            record ? record->rua : std::vector<std::string>{}, false);
    std::string refused;
    for (const std::string& why : destinations.refused)
        refused += (refused.empty() ? "" : "; ") + why;
    if (destinations.dns_error)
        return give_back(SendStatus::dns_error, refused);
    if (destinations.addresses.empty())
        return done(SendStatus::no_destination, refused);
    result.recipients = destinations.addresses;
    const std::string mail =
        aggregate_report_mail(options_.reporter, *report, util::gzip_compress(report->xml),
                              destinations.addresses, now / 1000);
    const auto sending = step(domain.name, interval, ReportClaim::Step::sending, now);
    if (!sending || *sending != ClaimOutcome::claimed) {
        result.status = sending ? SendStatus::lost : SendStatus::store_error;
        return result;
    }
    const DeliveryResult delivery = deliver(destinations.addresses, mail);
    if (delivery.status == Delivery::failed)
        return give_back(SendStatus::failed, delivery.detail);
    if (delivery.status == Delivery::unknown) {
        result.status = SendStatus::unknown; // left "sending": never again
        result.detail = delivery.detail;
        return result;
    }
    return done(SendStatus::sent, refused);
}

std::vector<DomainResult> ReportJob::send(Millis interval, Millis now, std::string* error) {
    error->clear();
    if (interval + options_.interval_length > now) {
        *error = "the interval is not over yet";
        return {};
    }
    std::vector<DomainResult> results;
    for (const Domain& domain : domains(interval, now, error))
        results.push_back(send_one(domain, interval, now));
    return results;
}

std::vector<FailureResult> ReportJob::send_failure_reports(Millis now, std::string* error) {
    error->clear();
    const auto taken = run_one<std::vector<std::string>>(
        *store_, ReportOperation(state::FailureTake{options_.failure_batch}), now, error);
    std::vector<FailureResult> results;
    if (!taken)
        return results;
    for (const std::string& text : *taken) {
        const auto queued = decode_failure_report(text);
        if (!queued)
            continue;
        FailureResult result{queued->domain, false, {}, ""};
        const VerifiedDestinations destinations =
            verify_destinations(*resolver_, organization_of_, queued->domain, queued->ruf, true);
        for (const std::string& why : destinations.refused)
            result.detail += (result.detail.empty() ? "" : "; ") + why;
        result.recipients = destinations.addresses;
        if (!destinations.addresses.empty()) {
            std::string to;
            for (const std::string& address : destinations.addresses)
                to += (to.empty() ? "" : ", ") + address;
            const DeliveryResult delivery =
                deliver(destinations.addresses, folded_header("To", to) + queued->mail);
            result.sent = delivery.status == Delivery::sent;
            if (!result.sent)
                result.detail += (result.detail.empty() ? "" : "; ") + delivery.detail;
        }
        results.push_back(std::move(result));
    }
    return results;
}

std::string encode_failure_report(const QueuedFailureReport& report) {
    std::string line = report.domain;
    for (const std::string& address : report.ruf)
        line += " " + address;
    return line + "\n" + report.mail;
}

std::optional<QueuedFailureReport> decode_failure_report(std::string_view text) {
    const std::size_t newline = text.find('\n');
    if (newline == std::string_view::npos)
        return std::nullopt;
    QueuedFailureReport report;
    std::string_view line = text.substr(0, newline);
    report.mail = std::string(text.substr(newline + 1));
    const std::size_t space = line.find(' ');
    report.domain = std::string(line.substr(0, space));
    line = space == std::string_view::npos ? "" : line.substr(space + 1);
    while (!line.empty()) {
        const std::size_t next = line.find(' ');
        report.ruf.emplace_back(line.substr(0, next));
        line = next == std::string_view::npos ? "" : line.substr(next + 1);
    }
    if (report.domain.empty() || report.mail.empty())
        return std::nullopt;
    return report;
}

} // namespace mailwarden::report
