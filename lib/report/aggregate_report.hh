// One DMARC aggregate report (RFC 9990): the XML document for one DMARC Policy Domain and one
// interval, valid against dmarc-xml-0.2.xsd whatever text the rows carry (util/xml.hh escapes
// it), its Report-ID, the file name and the Subject of §3.1.1. Pure functions; never throw
// except std::bad_alloc.
//
// Decisions:
//   - Report-ID: "BEGIN.POLICY-DOMAIN@SUBMITTER" — unique per domain and interval, and the
//     same when a report is built again (RFC 9990 asks a re-sent report to keep its name).
//   - date_range end and the file name's end-timestamp: the last second of the interval
//     (begin + length - 1), as in RFC 9990's sample.
//   - policy_published: the record as published, with the defaults of the tags it omits
//     (adkim, aspf, fo, testing); sp and np only when published.
//   - Names that go into the file name and Subject are cut to hostname characters (any
//     other byte becomes '-'), so neither can be used to inject header text.
#pragma once

#include "report/aggregate_row.hh"

#include <cstdint>
#include <string>
#include <vector>

namespace mailwarden::report {

struct ReporterInfo {
    std::string org_name;           // report_metadata/org_name
    std::string email;              // report_metadata/email, and the From of the report mail
    std::string extra_contact_info; // optional
    std::string submitter;          // our domain, for the file name and the Subject
    std::string generator;          // e.g. "mailwarden 0.1.0"
};

struct CountedRow {
    AggregateRow row;
    std::int64_t count = 0;
};

struct AggregateReport {
    std::string policy_domain;       // hostname characters only
    std::int64_t begin = 0, end = 0; // date_range, seconds since the epoch
    std::string report_id;
    std::string file_name; // RFC 9990 §3.1.1, ending in .xml.gz (we always compress)
    std::string subject;   // unfolded: "Report Domain: D Submitter: S Report-ID: <ID>"
    std::string xml;
};

// begin: the interval's start, seconds since the epoch; length in seconds.
AggregateReport build_aggregate_report(const ReporterInfo& reporter, const PolicyPublished& policy,
                                       std::int64_t begin, std::int64_t length,
                                       const std::vector<CountedRow>& rows);

// Hostname characters only (A-Z a-z 0-9 . -); anything else becomes '-'.
std::string hostname_characters(std::string_view text);

} // namespace mailwarden::report
