// See message_row.hh.
#include "report/message_row.hh"

namespace mailwarden::report {

namespace {

std::vector<OverrideReason> override_reasons(const auth::DmarcResult& dmarc,
                                             const std::string& applied,
                                             const std::string& verdict_reason) {
    std::vector<OverrideReason> reasons;
    if (dmarc.testing && dmarc.policy != dmarc.disposition)
        reasons.push_back(
            {"policy_test_mode", "t=y: " + dmarc.policy + " applied as " + dmarc.disposition});
    if (applied == dmarc.disposition)
        return reasons;
    if (verdict_reason == "dmarc_reject" && applied == "quarantine")
        reasons.push_back({"local_policy", "RFC 9989 section 7.4: p=reject treated as quarantine"});
    else if (verdict_reason == "dmarc_reject" || verdict_reason == "dmarc_quarantine" ||
             applied == "none")
        reasons.push_back({"local_policy", "local action for DMARC failures: " + applied});
    else
        reasons.push_back({"local_policy", "refused for another reason: " + verdict_reason});
    return reasons;
}

} // namespace

AggregateRow aggregate_row(const ReportedMessage& message) {
    const auth::DmarcResult& dmarc = *message.dmarc;
    AggregateRow row;
    row.source_ip = message.source_ip;
    row.header_from = dmarc.from_domain;
    const std::size_t at = message.sender.rfind('@');
    row.envelope_from = at == std::string::npos ? "" : message.sender.substr(at + 1);
    for (char& c : row.envelope_from)
        c = c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
    if (message.spf != nullptr) {
        row.spf_domain = message.spf->domain;
        row.spf_result = message.spf->result;
    }
    if (message.dkim != nullptr)
        for (const auto& signature : *message.dkim)
            row.dkim.push_back({signature.domain, signature.selector, signature.result});
    order_dkim(row, dmarc.aligned_dkim_domain);
    row.dkim_aligned = dmarc.dkim_aligned;
    row.spf_aligned = dmarc.spf_aligned;
    if (dmarc.result == "pass") {
        row.disposition = dmarc.policy == "none" || dmarc.policy.empty() ? "none" : "pass";
    } else {
        row.disposition = message.applied;
        row.reasons = override_reasons(dmarc, message.applied, message.verdict_reason);
    }
    return row;
}

bool failure_report_due(const auth::DmarcRecord& record, const auth::DmarcResult& dmarc) {
    if (dmarc.result != "pass" && dmarc.result != "fail")
        return false;
    const bool any = record.fo.find('1') != std::string::npos;
    return any ? !(dmarc.dkim_aligned && dmarc.spf_aligned) : dmarc.result == "fail";
}

} // namespace mailwarden::report
