// What one inbound message contributes to DMARC reports: its RFC 9990 aggregate row (the
// identifiers, the SPF and DKIM results, and the disposition applied with the reasons it
// differs from what the policy asked), and whether the record's fo= asks for an RFC 9991
// failure report about it. Pure functions of the message's results; never throw except
// std::bad_alloc.
//
// Decisions (RFC 9990 §2.1 policy_evaluated, §2.4; RFC 9989 §4.7 fo):
//   - disposition: for a DMARC pass, "pass" under a quarantine or reject policy, else
//     "none"; for a fail, what was done to the message (applied: reject, quarantine, none).
//   - reasons, for a fail whose disposition is not what the policy asked: policy_test_mode
//     when t=y lowered it, local_policy otherwise (RFC 9989 §7.4's p=reject treated as
//     quarantine, a local action of none, a refusal for another reason).
//   - fo: 0 (the default) asks for a report when DMARC fails, 1 when SPF or DKIM did not give
//     an aligned pass; d and s (DKIM and SPF reports of RFC 6651/6652) are not produced.
#pragma once

#include "auth/dkim_verify.hh"
#include "auth/dmarc.hh"
#include "auth/dmarc_record.hh"
#include "auth/spf.hh"
#include "report/aggregate_row.hh"

#include <string>
#include <vector>

namespace mailwarden::report {

struct ReportedMessage {
    std::string source_ip;
    std::string sender; // MAIL FROM address ("" for the null sender)
    const auth::DmarcResult* dmarc = nullptr;
    const auth::SpfResult* spf = nullptr; // the MAIL FROM identity's; nullptr when none
    const std::vector<auth::DkimSignatureResult>* dkim = nullptr;
    std::string applied;        // what was done: reject, quarantine or none
    std::string verdict_reason; // the verdict's reason tag, e.g. dmarc_reject
};

AggregateRow aggregate_row(const ReportedMessage& message);

bool failure_report_due(const auth::DmarcRecord& record, const auth::DmarcResult& dmarc);

} // namespace mailwarden::report
