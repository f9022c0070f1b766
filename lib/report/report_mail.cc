// See report_mail.hh.
#include "report/report_mail.hh"

#include "auth/dkim_key.hh"

#include <ctime>

namespace mailwarden::report {

std::string rfc5322_date(std::int64_t seconds) {
    const std::time_t when = static_cast<std::time_t>(seconds);
    std::tm utc{};
    ::gmtime_r(&when, &utc);
    char text[64];
    std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S +0000", &utc);
    return text;
}

std::string base64_lines(std::string_view bytes) {
    const std::string encoded = auth::encode_base64(bytes);
    std::string out;
    out.reserve(encoded.size() + encoded.size() / 76 + 1);
    for (std::size_t at = 0; at < encoded.size(); at += 76) {
        out.append(encoded, at, 76);
        out += '\n';
    }
    return out;
}

std::string folded_header(std::string_view name, std::string_view value) {
    std::string out(name);
    out += ":";
    std::size_t line = out.size();
    while (!value.empty()) {
        const std::size_t space = value.find(' ');
        const std::string_view word = value.substr(0, space);
        if (line + 1 + word.size() > 78 && line > name.size() + 1) {
            out += "\n";
            line = 0;
        }
        out += ' ';
        out += word;
        line += 1 + word.size();
        value = space == std::string_view::npos ? "" : value.substr(space + 1);
    }
    return out + "\n";
}

std::string aggregate_report_mail(const ReporterInfo& reporter, const AggregateReport& report,
                                  const std::string& gzipped_xml,
                                  const std::vector<std::string>& recipients,
                                  std::int64_t now_seconds) {
    const std::string boundary =
        "=_mailwarden_" + std::to_string(now_seconds) + "_" + hostname_characters(report.report_id);
    std::string to;
    for (const std::string& recipient : recipients)
        to += (to.empty() ? "" : ", ") + recipient;
    std::string mail = folded_header("From", reporter.email);
    mail += folded_header("To", to);
    mail += folded_header("Subject", report.subject);
    mail += "Date: " + rfc5322_date(now_seconds) + "\n";
    mail += "Message-ID: <" + report.report_id + ">\n";
    mail += "MIME-Version: 1.0\n";
    mail += "Content-Type: multipart/mixed;\n\tboundary=\"" + boundary + "\"\n";
    mail += "\nThis is a DMARC aggregate report (RFC 9990) in MIME format.\n";
    mail += "\n--" + boundary + "\n";
    mail += "Content-Type: text/plain; charset=us-ascii\n";
    mail += "Content-Transfer-Encoding: 7bit\n\n";
    mail += "This is a DMARC aggregate report from " + hostname_characters(reporter.submitter) +
            " about mail from " + report.policy_domain + ",\nfrom " + rfc5322_date(report.begin) +
            " to " + rfc5322_date(report.end) + ".\nThe report is attached as " + report.file_name +
            ".\n";
    mail += "\n--" + boundary + "\n";
    mail += "Content-Type: application/gzip;\n\tname=\"" + report.file_name + "\"\n";
    mail += "Content-Disposition: attachment;\n\tfilename=\"" + report.file_name + "\"\n";
    mail += "Content-Transfer-Encoding: base64\n\n";
    mail += base64_lines(gzipped_xml);
    mail += "\n--" + boundary + "--\n";
    return mail;
}

} // namespace mailwarden::report
