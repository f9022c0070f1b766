// DMARC failure reports (lib/report/failure_report, RFC 9991 on RFC 6591/5965 ARF): the
// feedback fields, Identity-Alignment, the DKIM fields of an aligned failure, redaction of
// local parts and body (RFC 6590), the bounds, attacker text that cannot add fields, and the
// MIME structure as Python's email parser (an independent reader) sees it.
#include "child_process.hh"
#include "report/failure_report.hh"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>

using namespace mailwarden;
using namespace mailwarden::report;

namespace {

FailureFacts facts() {
    FailureFacts facts;
    facts.reporter_email = "dmarc-reports@mx.example.org";
    facts.submitter = "mx.example.org";
    facts.user_agent = "mailwarden/test";
    facts.source_ip = "192.0.2.7";
    facts.arrival = 1'764'892'800;
    facts.original_mail_from = "bounce@other.example";
    facts.original_rcpt_to = {"bob@example.org"};
    facts.reported_domain = "bank.example";
    facts.authentication_results = "mx.example.org; spf=pass smtp.mailfrom=other.example; "
                                   "dkim=none; dmarc=fail header.from=bank.example";
    facts.delivery_result = "policy";
    facts.headers = {{"From", " Bank <service@bank.example>"},
                     {"To", " bob@example.org,\r\n\tcarol@example.org"},
                     {"Subject", " Your account"}};
    facts.body = "Dear customer,\r\nplease log in.\r\n";
    return facts;
}

// What Python's email package makes of the mail: content types of the parts, one per line.
std::string python_view(const std::string& mail) {
    char pattern[] = "/tmp/mw-arf-XXXXXX";
    const std::filesystem::path dir = ::mkdtemp(pattern);
    std::ofstream(dir / "report.eml", std::ios::binary) << mail;
    std::ofstream(dir / "view.py")
        << "import email, sys\n"
           "m = email.message_from_binary_file(open(sys.argv[1], 'rb'))\n"
           "print(m.get_content_type(), m.get_param('report-type'))\n"
           "for part in m.walk():\n"
           "    print(part.get_content_type())\n"
           "print(len(m.defects))\n";
    test::ChildProcess python(
        {"/usr/bin/python3", (dir / "view.py").string(), (dir / "report.eml").string()},
        (dir / "out").string());
    python.wait_exit(std::chrono::seconds(30));
    const std::string output = python.output();
    std::filesystem::remove_all(dir);
    return output;
}

} // namespace

BOOST_AUTO_TEST_SUITE(failure_report)

BOOST_AUTO_TEST_CASE(arf_fields_and_identity_alignment) {
    FailureFacts failing = facts();
    const std::string mail = failure_report_mail(failing, 1'764'892'900);
    for (const std::string field :
         {"Feedback-Type: auth-failure\n", "Version: 1\n", "Auth-Failure: dmarc\n",
          "Identity-Alignment: dkim, spf\n", "Reported-Domain: bank.example\n",
          "Source-IP: 192.0.2.7\n", "Delivery-Result: policy\n",
          "Reporting-MTA: dns; mx.example.org\n", "User-Agent: mailwarden/test\n",
          "Authentication-Results: mx.example.org;", "Content-Type: message/feedback-report\n",
          "report-type=feedback-report", "From: dmarc-reports@mx.example.org\n"})
        BOOST_TEST(mail.find(field) != std::string::npos, field);
    BOOST_TEST(mail.find("To:") == mail.find("To: ")); // only the reported header's To
    BOOST_TEST(mail.find("DKIM-Domain") == std::string::npos);

    failing.spf_aligned = true;
    failing.failed_dkim = FailedDkim{"bank.example", "@bank.example", "s2024"};
    const std::string dkim = failure_report_mail(failing, 1'764'892'900);
    BOOST_TEST(dkim.find("Identity-Alignment: dkim\n") != std::string::npos);
    BOOST_TEST(dkim.find("DKIM-Domain: bank.example\nDKIM-Identity: @bank.example\n"
                         "DKIM-Selector: s2024\n") != std::string::npos);
    failing.dkim_aligned = true;
    BOOST_TEST(failure_report_mail(failing, 0).find("Identity-Alignment: none\n") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(local_parts_and_body_are_redacted_by_default) {
    const std::string mail = failure_report_mail(facts(), 1'764'892'900);
    for (const std::string personal : {"service@", "bob@", "carol@", "bounce@", "Dear customer"})
        BOOST_TEST(mail.find(personal) == std::string::npos, personal);
    BOOST_TEST(mail.find("@bank.example>") != std::string::npos);
    BOOST_TEST(mail.find("Content-Type: text/rfc822-headers\n") != std::string::npos);
    BOOST_TEST(mail.find("Subject: Your account\n") != std::string::npos);
    // The same address always gives the same token.
    BOOST_TEST(redact_local_parts("a bob@x.example b bob@y.example") ==
               "a redacted-" + redact_local_parts("bob@x").substr(9, 12) +
                   "@x.example b redacted-" + redact_local_parts("bob@x").substr(9, 12) +
                   "@y.example");
    BOOST_TEST(redact_local_parts("no address here") == "no address here");
    BOOST_TEST(redact_local_parts("@alone") == "@alone");

    FailureFacts open = facts();
    open.redact_local_part = false;
    open.include_body = true;
    const std::string full = failure_report_mail(open, 1'764'892'900);
    BOOST_TEST(full.find("Original-Mail-From: <bounce@other.example>") != std::string::npos);
    BOOST_TEST(full.find("From: Bank <service@bank.example>\n") != std::string::npos);
    BOOST_TEST(full.find("Content-Type: message/rfc822\n") != std::string::npos);
    BOOST_TEST(full.find("\nDear customer,\nplease log in.\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bounds_and_attacker_text) {
    FailureFacts hostile = facts();
    hostile.original_mail_from = "x@y.example>\r\nReported-Domain: victim.example";
    hostile.source_ip = "192.0.2.1\nSource-IP: 10.0.0.1";
    hostile.reported_domain = "bank.example\r\nBcc: all@example.com";
    for (int i = 0; i < 2000; ++i)
        hostile.headers.push_back({"X-Filler", " " + std::string(60, 'f')});
    hostile.include_body = true;
    hostile.body = std::string(200'000, 'b');
    const std::string mail = failure_report_mail(hostile, 0);
    BOOST_TEST(mail.find("\nReported-Domain: victim.example") == std::string::npos);
    BOOST_TEST(mail.find("\nSource-IP: 10.0.0.1") == std::string::npos);
    BOOST_TEST(mail.find("\nBcc:") == std::string::npos);
    BOOST_TEST(mail.size() < max_failure_header_bytes + max_failure_body_bytes + 8192);
}

BOOST_AUTO_TEST_CASE(an_independent_mime_parser_reads_the_structure) {
    if (!std::filesystem::exists("/usr/bin/python3")) {
        BOOST_TEST_MESSAGE("skipped: /usr/bin/python3 not installed");
        return;
    }
    BOOST_TEST(python_view(failure_report_mail(facts(), 1'764'892'900)) ==
               "multipart/report feedback-report\n"
               "multipart/report\n"
               "text/plain\n"
               "message/feedback-report\n"
               "text/plain\n" // Python reads the feedback fields as a message of their own
               "text/rfc822-headers\n"
               "0\n");
    FailureFacts with_body = facts();
    with_body.include_body = true;
    const std::string view = python_view(failure_report_mail(with_body, 1'764'892'900));
    BOOST_TEST(view.find("message/rfc822\n") != std::string::npos, view);
    BOOST_TEST(view.ends_with("\n0\n"), view);
}

BOOST_AUTO_TEST_SUITE_END()
