// See failure_report.hh.
#include "report/failure_report.hh"

#include "report/aggregate_report.hh"
#include "report/report_mail.hh"
#include "util/digest.hh"

namespace mailwarden::report {

namespace {

// RFC 5322 atext and '.': what a dot-atom local part is made of.
bool local_part_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+/=?^_`{|}~.-").find(c) != std::string_view::npos;
}

// Our own field values: no CR, LF or other control byte but TAB.
std::string field_text(std::string_view text) {
    std::string out;
    for (const char c : text)
        if (static_cast<unsigned char>(c) >= 0x20 || c == '\t')
            out += c;
    return out.substr(0, 998);
}

std::string unfold_crlf(std::string_view value) {
    std::string out;
    for (const char c : value)
        if (c != '\r')
            out += c;
    return out;
}

std::string feedback_fields(const FailureFacts& facts) {
    const auto address = [&](const std::string& text) {
        return facts.redact_local_part ? redact_local_parts(text) : text;
    };
    std::string alignment;
    if (!facts.dkim_aligned)
        alignment = "dkim";
    if (!facts.spf_aligned)
        alignment += alignment.empty() ? "spf" : ", spf";
    std::string fields =
        "Feedback-Type: auth-failure\nUser-Agent: " + field_text(facts.user_agent) +
        "\nVersion: 1\nAuth-Failure: dmarc\n";
    fields += folded_header("Authentication-Results", field_text(facts.authentication_results));
    fields += "Identity-Alignment: " + (alignment.empty() ? std::string("none") : alignment) + "\n";
    if (facts.failed_dkim) {
        fields += "DKIM-Domain: " + field_text(facts.failed_dkim->domain) + "\n";
        fields += "DKIM-Identity: " + field_text(address(facts.failed_dkim->identity)) + "\n";
        fields += "DKIM-Selector: " + field_text(facts.failed_dkim->selector) + "\n";
    }
    fields += "Original-Mail-From: <" + field_text(address(facts.original_mail_from)) + ">\n";
    for (const std::string& recipient : facts.original_rcpt_to)
        fields += "Original-Rcpt-To: <" + field_text(address(recipient)) + ">\n";
    fields += "Arrival-Date: " + rfc5322_date(facts.arrival) + "\n";
    fields += "Reporting-MTA: dns; " + hostname_characters(facts.submitter) + "\n";
    fields += "Source-IP: " + field_text(facts.source_ip) + "\n";
    fields += "Reported-Domain: " + hostname_characters(facts.reported_domain) + "\n";
    if (!facts.delivery_result.empty())
        fields += "Delivery-Result: " + field_text(facts.delivery_result) + "\n";
    return fields;
}

std::string reported_header(const FailureFacts& facts) {
    std::string header;
    for (const auto& [name, value] : facts.headers) {
        std::string field = name + ":" + unfold_crlf(value);
        if (facts.redact_local_part)
            field = redact_local_parts(field);
        if (header.size() + field.size() + 1 > max_failure_header_bytes)
            break;
        header += field + "\n";
    }
    return header;
}

bool has_8bit(std::string_view text) {
    for (const char c : text)
        if (static_cast<unsigned char>(c) >= 0x80)
            return true;
    return false;
}

} // namespace

std::string redact_local_parts(std::string_view text) {
    std::string out(text);
    for (std::size_t at = out.find('@'); at != std::string::npos; at = out.find('@', at + 1)) {
        std::size_t start = at;
        while (start > 0 && local_part_char(out[start - 1]))
            --start;
        if (start == at || out.compare(start, 9, "redacted-") == 0)
            continue;
        const std::string hash = "redacted-" + util::hex_digest(util::DigestKind::sha256,
                                                                out.substr(start, at - start), 6);
        out.replace(start, at - start, hash);
        at = start + hash.size();
    }
    return out;
}

std::string failure_report_mail(const FailureFacts& facts, std::int64_t now_seconds) {
    const std::string domain = hostname_characters(facts.reported_domain);
    const std::string id = std::to_string(now_seconds) + "." +
                           util::hex_digest(util::DigestKind::sha256,
                                            facts.source_ip + facts.original_mail_from +
                                                std::to_string(facts.arrival) + domain,
                                            8) +
                           "@" + hostname_characters(facts.submitter);
    const std::string boundary = "=_mailwarden_failure_" + id.substr(0, id.find('@'));
    std::string mail = folded_header("From", facts.reporter_email);
    mail += folded_header("Subject", "DMARC failure report for " + domain + " from " +
                                         field_text(facts.source_ip));
    mail += "Date: " + rfc5322_date(now_seconds) + "\n";
    mail += "Message-ID: <" + id + ">\n";
    mail += "MIME-Version: 1.0\n";
    mail += "Content-Type: multipart/report; report-type=feedback-report;\n\tboundary=\"" +
            boundary + "\"\n";
    mail += "\nThis is a DMARC failure report (RFC 9991) in MIME format.\n";
    mail += "\n--" + boundary + "\nContent-Type: text/plain; charset=us-ascii\n";
    mail += "Content-Transfer-Encoding: 7bit\n\n";
    mail += "This is an authentication failure report for an email message received from IP\n" +
            field_text(facts.source_ip) + " on " + rfc5322_date(facts.arrival) +
            ", whose From domain " + domain + "\nfailed DMARC.\n";
    mail += "\n--" + boundary + "\nContent-Type: message/feedback-report\n";
    mail += "Content-Transfer-Encoding: 7bit\n\n" + feedback_fields(facts);
    const std::string header = reported_header(facts);
    std::string part = header;
    if (facts.include_body)
        part += "\n" + unfold_crlf(facts.body.substr(0, max_failure_body_bytes));
    mail += "\n--" + boundary + "\nContent-Type: " +
            std::string(facts.include_body ? "message/rfc822" : "text/rfc822-headers") + "\n";
    mail += "Content-Transfer-Encoding: " + std::string(has_8bit(part) ? "8bit" : "7bit") + "\n\n";
    mail += part;
    if (!part.empty() && part.back() != '\n')
        mail += "\n";
    mail += "\n--" + boundary + "--\n";
    return mail;
}

} // namespace mailwarden::report
