// See aggregate_report.hh.
#include "report/aggregate_report.hh"

#include "auth/dmarc_record.hh"
#include "util/xml.hh"

namespace mailwarden::report {

namespace {

void write_metadata(util::XmlWriter& xml, const ReporterInfo& reporter,
                    const PolicyPublished& policy, const std::string& report_id, std::int64_t begin,
                    std::int64_t end) {
    xml.open("report_metadata");
    xml.element("org_name", reporter.org_name);
    xml.element("email", reporter.email);
    if (!reporter.extra_contact_info.empty())
        xml.element("extra_contact_info", reporter.extra_contact_info);
    xml.element("report_id", report_id);
    xml.open("date_range");
    xml.element("begin", std::to_string(begin));
    xml.element("end", std::to_string(end));
    xml.close();
    if (!policy.error.empty())
        xml.element("error", policy.error);
    if (!reporter.generator.empty())
        xml.element("generator", reporter.generator);
    xml.close();
}

void write_policy(util::XmlWriter& xml, const PolicyPublished& policy) {
    const auth::DmarcRecord record =
        auth::parse_dmarc_record(policy.record).value_or(auth::DmarcRecord{});
    xml.open("policy_published");
    xml.element("domain", policy.domain);
    if (policy.discovery_method == "psl" || policy.discovery_method == "treewalk")
        xml.element("discovery_method", policy.discovery_method);
    xml.element("p", auth::policy_name(record.p));
    if (record.sp)
        xml.element("sp", auth::policy_name(*record.sp));
    if (record.np)
        xml.element("np", auth::policy_name(*record.np));
    xml.element("adkim", record.strict_dkim ? "s" : "r");
    xml.element("aspf", record.strict_spf ? "s" : "r");
    xml.element("fo", record.fo);
    xml.element("testing", record.testing ? "y" : "n");
    xml.close();
}

void write_record(util::XmlWriter& xml, const CountedRow& counted) {
    const AggregateRow& row = counted.row;
    xml.open("record");
    xml.open("row");
    xml.element("source_ip", row.source_ip);
    xml.element("count", std::to_string(counted.count));
    xml.open("policy_evaluated");
    xml.element("disposition", row.disposition);
    xml.element("dkim", row.dkim_aligned ? "pass" : "fail");
    xml.element("spf", row.spf_aligned ? "pass" : "fail");
    for (const OverrideReason& reason : row.reasons) {
        xml.open("reason");
        xml.element("type", reason.type);
        if (!reason.comment.empty())
            xml.element("comment", reason.comment);
        xml.close();
    }
    xml.close();
    xml.close();
    xml.open("identifiers");
    xml.element("header_from", row.header_from);
    xml.element("envelope_from", row.envelope_from);
    xml.close();
    xml.open("auth_results");
    for (const DkimAuth& dkim : row.dkim) {
        xml.open("dkim");
        xml.element("domain", dkim.domain);
        xml.element("selector", dkim.selector);
        xml.element("result", dkim.result);
        xml.close();
    }
    if (!row.spf_result.empty()) {
        xml.open("spf");
        xml.element("domain", row.spf_domain);
        xml.element("scope", "mfrom");
        xml.element("result", row.spf_result);
        xml.close();
    }
    xml.close();
    xml.close();
}

} // namespace

std::string hostname_characters(std::string_view text) {
    std::string out(text);
    for (char& c : out) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '.' || c == '-';
        if (!ok)
            c = '-';
    }
    return out;
}

AggregateReport build_aggregate_report(const ReporterInfo& reporter, const PolicyPublished& policy,
                                       std::int64_t begin, std::int64_t length,
                                       const std::vector<CountedRow>& rows) {
    AggregateReport report;
    const std::int64_t end = begin + length - 1;
    const std::string domain = hostname_characters(policy.domain);
    const std::string submitter = hostname_characters(reporter.submitter);
    report.policy_domain = domain;
    report.begin = begin;
    report.end = end;
    report.report_id = std::to_string(begin) + "." + domain + "@" + submitter;
    report.file_name = submitter + "!" + domain + "!" + std::to_string(begin) + "!" +
                       std::to_string(end) + ".xml.gz";
    report.subject = "Report Domain: " + domain + " Submitter: " + submitter + " Report-ID: <" +
                     report.report_id + ">";
    util::XmlWriter xml;
    xml.open("feedback", "xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\"");
    xml.element("version", "1.0");
    write_metadata(xml, reporter, policy, report.report_id, begin, end);
    write_policy(xml, policy);
    for (const CountedRow& row : rows)
        write_record(xml, row);
    report.xml = xml.finish();
    return report;
}

} // namespace mailwarden::report
