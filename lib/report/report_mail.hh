// The mail that carries a DMARC report (RFC 9990 §3.1.1 aggregate, RFC 9991 / RFC 6591 failure):
// MIME structure, headers, the gzip attachment in base64. Lines end in LF (the local
// sendmail program takes LF and writes CRLF on the wire); no line is longer than 78
// characters except what a header of ours must hold whole. Pure functions; never throw
// except std::bad_alloc.
#pragma once

#include "report/aggregate_report.hh"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::report {

// "Sat, 05 Dec 2026 03:07:12 +0000" for a time in seconds since the epoch.
std::string rfc5322_date(std::int64_t seconds);

// Base64 of bytes in lines of 76 characters, each ending in LF.
std::string base64_lines(std::string_view bytes);

// The whole aggregate report message: From the reporter's address, To the recipients,
// Subject and Message-ID from the report, a short text part, the gzip XML attached as
// application/gzip under the report's file name.
std::string aggregate_report_mail(const ReporterInfo& reporter, const AggregateReport& report,
                                  const std::string& gzipped_xml,
                                  const std::vector<std::string>& recipients,
                                  std::int64_t now_seconds);

// A header line "Name: value", folded at spaces so that lines stay within 78 characters.
std::string folded_header(std::string_view name, std::string_view value);

} // namespace mailwarden::report
