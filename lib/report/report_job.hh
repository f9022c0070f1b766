// The report job behind `mailwarden dmarc report`: builds the RFC 9990 aggregate reports of
// closed intervals from the rows the state store counted, sends each through the local MTA
// exactly once per domain and interval, and sends the queued RFC 9991 failure reports.
//
// Once only, on one host or a fleet sharing Redis (state/report_ops.hh, ReportClaim): a job
// claims a report (a lease of `lease`), builds it, marks it "sending", runs sendmail, and marks
// it "sent". Two jobs at once: the second finds it busy or sent. A job that dies while
// building: the lease runs out and the next run sends it. A job that dies while sendmail runs,
// or a sendmail that is killed on timeout: the report stays "sending" and is never sent again
// (it may have gone; RFC 9990 readers must not get it twice), and the job says so. A sendmail
// that exits non-zero, or DNS trouble while verifying destinations: the claim is released and
// the next run tries again.
//
// Intervals are UTC days by default (interval_length); an interval is closed when it has
// ended; rows are kept `retention` after it (the store expires them), so a host that was down
// for a few days still sends its reports.
//
// Failure: store and DNS trouble are per-domain results, never exceptions; nothing here throws
// except std::bad_alloc.
#pragma once

#include "auth/dmarc.hh"
#include "dns/resolver.hh"
#include "report/aggregate_report.hh"
#include "report/sendmail.hh"
#include "state/store.hh"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace mailwarden::report {

inline constexpr state::Millis one_day = 86'400'000;

struct ReportJobOptions {
    ReporterInfo reporter;
    state::Millis interval_length = one_day;
    state::Millis retention = 7 * one_day;
    state::Millis lease = 600'000;
    std::string owner;                // unique per run: "HOST:PID:RANDOM"
    std::int64_t failure_batch = 100; // failure reports sent per run at most
};

enum class SendStatus {
    sent,           // handed to the MTA now
    already_sent,   // by an earlier run or another host
    busy,           // another job holds the claim
    in_doubt,       // an earlier sendmail may have sent it: not sent again
    no_destination, // no rua address survived verification (or none was asked for)
    dns_error,      // verification could not finish: tried again next run
    failed,         // sendmail refused it: tried again next run
    unknown,        // sendmail timed out or died: not sent again
    lost,           // the claim ran out before sending began: the next run sends it
    store_error,    // the state store failed: tried again next run
};
std::string_view send_status_name(SendStatus status);

struct DomainResult {
    state::Millis interval = 0;
    std::string domain;
    SendStatus status = SendStatus::store_error;
    std::vector<std::string> recipients;
    std::string file_name;
    std::int64_t messages = 0; // the report's message count
    std::string detail;        // why, for the log (attacker text: escape it)
};

struct FailureResult {
    std::string domain;
    bool sent = false;
    std::vector<std::string> recipients;
    std::string detail;
};

// Signs a finished mail (DKIM-Signature fields on top) as outbound mail is signed, or gives it
// back unchanged when no key signs its From domain. std::nullopt, with *error saying why, for a
// mail that must not go out as it is (signing failed under on_sign_error = tempfail): the
// report is then given back to a later run, as when sendmail fails.
using MailSigner =
    std::function<std::optional<std::string>(const std::string& mail, std::string* error)>;

class ReportJob {
public:
    ReportJob(state::Store& store, dns::Resolver& resolver,
              auth::OrganizationFinder organization_of, Mailer& mailer, ReportJobOptions options,
              MailSigner signer = {});

    // The start of the interval holding `at`.
    state::Millis interval_of(state::Millis at) const;
    // The closed intervals still within retention at `now`, oldest first.
    std::vector<state::Millis> closed_intervals(state::Millis now) const;

    // The reports of one interval, built as they would be sent; nothing claimed or sent.
    // *error set (and nothing returned) when the store fails.
    std::vector<AggregateReport> build(state::Millis interval, state::Millis now,
                                       std::string* error);
    // Sends the reports of one closed interval that are not sent yet. An interval that is not
    // over at `now` is refused: *error set, nothing done.
    std::vector<DomainResult> send(state::Millis interval, state::Millis now, std::string* error);
    // Sends the failure reports queued so far (at most failure_batch).
    std::vector<FailureResult> send_failure_reports(state::Millis now, std::string* error);

private:
    struct Domain;
    std::vector<Domain> domains(state::Millis interval, state::Millis now, std::string* error);
    std::optional<AggregateReport> report_of(const Domain& domain, state::Millis interval,
                                             state::Millis now, std::int64_t* messages,
                                             std::string* error);
    DomainResult send_one(const Domain& domain, state::Millis interval, state::Millis now);
    std::optional<state::ClaimOutcome> step(const std::string& domain, state::Millis interval,
                                            state::ReportClaim::Step step, state::Millis now);
    DeliveryResult deliver(const std::vector<std::string>& recipients, std::string mail);

    state::Store* store_;
    dns::Resolver* resolver_;
    auth::OrganizationFinder organization_of_;
    Mailer* mailer_;
    ReportJobOptions options_;
    MailSigner signer_;
};

// A failure report as the engine queues it and the job reads it back: the policy domain, the
// ruf addresses, and the mail without its To: header (the job adds it after verification).
struct QueuedFailureReport {
    std::string domain;
    std::vector<std::string> ruf;
    std::string mail;
};
std::string encode_failure_report(const QueuedFailureReport& report);
std::optional<QueuedFailureReport> decode_failure_report(std::string_view text);

} // namespace mailwarden::report
