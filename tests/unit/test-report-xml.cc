// DMARC aggregate reports (lib/report): rows and policies as stored texts (round trip, bounds,
// DKIM order), and the RFC 9990 XML built from them — validated with `xmllint --schema`
// against dmarc-xml-0.2.xsd from ../shared/conformance/dmarc/rfc9990, with attacker-controlled
// domains, selectors and addresses in every field that can carry them.
#include "report/aggregate_report.hh"
#include "report/message_row.hh"
#include "report_test_util.hh"
#include "util/gzip.hh"

#include <boost/test/unit_test.hpp>

using namespace mailwarden;
using namespace mailwarden::report;

namespace {

AggregateRow plain_row() {
    AggregateRow row;
    row.source_ip = "192.0.2.10";
    row.header_from = "example.com";
    row.envelope_from = "bounces.example.com";
    row.spf_domain = "bounces.example.com";
    row.spf_result = "pass";
    row.dkim = {{"example.com", "s1", "pass"}};
    row.disposition = "pass";
    row.dkim_aligned = true;
    row.spf_aligned = true;
    return row;
}

ReporterInfo reporter() {
    return {.org_name = "Example Receiver",
            .email = "dmarc-reports@mx.example.net",
            .extra_contact_info = "",
            .submitter = "mx.example.net",
            .generator = "mailwarden test"};
}

} // namespace

BOOST_AUTO_TEST_SUITE(report_xml)

BOOST_AUTO_TEST_CASE(rows_and_policies_round_trip_through_their_texts) {
    AggregateRow row = plain_row();
    row.envelope_from = "";
    row.dkim.push_back({"other.example", "sel with space", "fail"});
    row.reasons = {{"local_policy", "p=reject treated as quarantine (RFC 9989 section 7.4)"}};
    const std::string text = encode_row(row);
    BOOST_TEST(text.find_first_of("\r\n\t") == std::string::npos);
    BOOST_TEST((decode_row(text).value_or(AggregateRow{}) == row));
    // The same facts always give the same text (the store's row identity).
    BOOST_TEST(encode_row(plain_row()) == encode_row(plain_row()));
    BOOST_TEST(encode_row(plain_row()) != text);

    const PolicyPublished policy{"example.com", "treewalk",
                                 "v=DMARC1; p=reject; rua=mailto:d@example.com", "a; b"};
    BOOST_TEST((decode_policy(encode_policy(policy)).value_or(PolicyPublished{}) == policy));
    for (const std::string bad : {"", "ip=1 from=x", "ip=%zz from=x dis=none", "bogus=1",
                                  "ip=a from=b dis=c adkim=maybe", "ip=a from=b dis=c spf=x"})
        BOOST_TEST(!decode_row(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(rows_are_bounded_and_dkim_results_ordered_by_preference) {
    AggregateRow row = plain_row();
    row.header_from = "example.com";
    row.dkim = {{"x.example", "a", "fail"},
                {"other.example", "b", "pass"},
                {"mail.example.com", "c", "pass"},
                {"example.com", "d", "pass"}};
    for (int i = 0; i < 20; ++i)
        row.dkim.push_back({"filler" + std::to_string(i) + ".example", "s", "neutral"});
    order_dkim(row, "mail.example.com");
    BOOST_TEST(row.dkim.size() == max_row_dkim);
    BOOST_TEST(row.dkim[0].selector == "d"); // strict pass
    BOOST_TEST(row.dkim[1].selector == "c"); // relaxed pass
    BOOST_TEST(row.dkim[2].selector == "b"); // other pass
    BOOST_TEST(row.dkim[3].selector == "a"); // the rest, in the order seen
    row.header_from = std::string(5000, 'h');
    row.reasons.assign(10, {"other", std::string(5000, 'c')});
    const auto decoded = decode_row(encode_row(row));
    BOOST_REQUIRE(decoded);
    BOOST_TEST(decoded->header_from.size() == max_row_value_bytes);
    BOOST_TEST(decoded->reasons.size() == max_row_reasons);
    BOOST_TEST(encode_row(row).size() < 8000u);
}

BOOST_AUTO_TEST_CASE(file_name_subject_and_report_id_follow_rfc9990_section_3) {
    const AggregateReport report =
        build_aggregate_report(reporter(), {"example.com", "treewalk", "v=DMARC1; p=none", ""},
                               1764892800, 86400, {{plain_row(), 3}});
    BOOST_TEST(report.report_id == "1764892800.example.com@mx.example.net");
    BOOST_TEST(report.file_name == "mx.example.net!example.com!1764892800!1764979199.xml.gz");
    BOOST_TEST(report.subject == "Report Domain: example.com Submitter: mx.example.net "
                                 "Report-ID: <1764892800.example.com@mx.example.net>");
    // Hostile text cannot reach the file name or the Subject.
    const AggregateReport hostile = build_aggregate_report(
        reporter(), {"evil\r\nBcc: x@y/../..", "treewalk", "v=DMARC1; p=none", ""}, 0, 3600,
        {{plain_row(), 1}});
    BOOST_TEST(hostile.subject.find_first_of("\r\n/") == std::string::npos);
    BOOST_TEST(hostile.file_name.find('/') == std::string::npos);
    BOOST_TEST(hostile.file_name == "mx.example.net!evil--Bcc--x-y-..-..!0!3599.xml.gz");
}

BOOST_AUTO_TEST_CASE(reports_validate_against_the_rfc9990_schema) {
    if (!test::have_report_schema())
        return;
    AggregateRow failing = plain_row();
    failing.source_ip = "2001:db8::25";
    failing.disposition = "quarantine";
    failing.dkim_aligned = false;
    failing.spf_aligned = false;
    failing.envelope_from = "";
    failing.spf_result = "softfail";
    failing.dkim = {{"other.example", "s2", "fail"}, {"example.com", "", "permerror"}};
    failing.reasons = {{"local_policy", "RFC 9989 section 7.4: p=reject treated as quarantine"},
                       {"policy_test_mode", ""}};
    const PolicyPublished policy{"example.com", "treewalk",
                                 "v=DMARC1; p=reject; sp=quarantine; np=reject; adkim=s; t=y; "
                                 "fo=1:d; rua=mailto:d@example.com",
                                 "several records at _dmarc.sub.example.com"};
    const AggregateReport report = build_aggregate_report(reporter(), policy, 1764892800, 86400,
                                                          {{plain_row(), 120}, {failing, 7}});
    BOOST_TEST(test::schema_errors(report.xml) == "", report.xml);
    BOOST_TEST(report.xml.find("<count>120</count>") != std::string::npos);
    BOOST_TEST(report.xml.find("<np>reject</np>") != std::string::npos);
    BOOST_TEST(report.xml.find("<testing>y</testing>") != std::string::npos);
    BOOST_TEST(report.xml.find("<discovery_method>treewalk</discovery_method>") !=
               std::string::npos);
    // A record without p (rua only) is reported as p=none, the psl method named as such.
    const AggregateReport rua_only =
        build_aggregate_report(reporter(), {"rua.example", "psl", "v=DMARC1; rua=mailto:a@b.c", ""},
                               0, 86400, {{plain_row(), 1}});
    BOOST_TEST(test::schema_errors(rua_only.xml) == "", rua_only.xml);
    BOOST_TEST(rua_only.xml.find("<p>none</p>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(attacker_text_in_every_field_still_validates) {
    if (!test::have_report_schema())
        return;
    const std::vector<std::string> hostile = {"<script>alert(1)</script>",
                                              "a&b;c",
                                              "\"quoted\" 'single'",
                                              "]]><!--",
                                              std::string("nul\0byte", 8),
                                              "ctl\x01\x02\x1b[31m",
                                              "bad utf8 \xff\xfe\xc0\xaf",
                                              "cr\r\nlf",
                                              "\xef\xbf\xbf nonchar",
                                              "<?xml version=\"1.0\"?>",
                                              std::string(300, 'x'),
                                              "&#0; &lt;",
                                              "\xc2\x80 c1"};
    std::vector<CountedRow> rows;
    for (const std::string& text : hostile) {
        AggregateRow row = plain_row();
        row.header_from = text;
        row.envelope_from = text;
        row.spf_domain = text;
        row.dkim = {{text, text, "pass"}, {"example.com", text, "fail"}};
        row.reasons = {{"other", text}};
        // Stored and read back, as the report job does.
        const auto stored = decode_row(encode_row(row));
        BOOST_REQUIRE(stored);
        rows.push_back({*stored, 1});
    }
    ReporterInfo info = reporter();
    info.org_name = "Org <&> \x01";
    info.extra_contact_info = "call \"us\" & <them>";
    const PolicyPublished policy{"example.com", "treewalk", "v=DMARC1; p=none",
                                 "error with <markup> & \x07 bell"};
    const AggregateReport report = build_aggregate_report(info, policy, 0, 86400, rows);
    BOOST_TEST(test::schema_errors(report.xml) == "", report.xml);
}

BOOST_AUTO_TEST_CASE(gzip_round_trip_and_bounds) {
    const std::string xml =
        build_aggregate_report(reporter(), {"example.com", "treewalk", "v=DMARC1; p=none", ""}, 0,
                               86400, {{plain_row(), 1}})
            .xml;
    const std::string compressed = util::gzip_compress(xml);
    BOOST_TEST(compressed.substr(0, 2) == "\x1f\x8b");
    std::string back;
    BOOST_TEST(util::gzip_decompress(compressed, back, 1 << 20));
    BOOST_TEST(back == xml);
    BOOST_TEST(!util::gzip_decompress(compressed, back, 100)); // over the bound
    BOOST_TEST(!util::gzip_decompress(compressed.substr(0, compressed.size() / 2), back, 1 << 20));
    BOOST_TEST(!util::gzip_decompress("not gzip", back, 1 << 20));
}

BOOST_AUTO_TEST_CASE(a_message_row_carries_the_disposition_applied_and_why) {
    auth::DmarcResult dmarc;
    dmarc.result = "fail";
    dmarc.from_domain = "bank.example";
    dmarc.policy = "reject";
    dmarc.disposition = "reject";
    const auth::SpfResult spf{
        "pass", auth::SpfScope::mailfrom, "x@Other.Example", "other.example", "", ""};
    const std::vector<auth::DkimSignatureResult> dkim = {
        {"fail", "bank.example", "s1", "rsa-sha256", 2048, "body hash mismatch"}};
    ReportedMessage message{"192.0.2.7", "x@Other.Example", &dmarc,        &spf,
                            &dkim,       "quarantine",      "dmarc_reject"};
    AggregateRow row = aggregate_row(message);
    BOOST_TEST(row.source_ip == "192.0.2.7");
    BOOST_TEST(row.header_from == "bank.example");
    BOOST_TEST(row.envelope_from == "other.example");
    BOOST_TEST(row.spf_domain == "other.example");
    BOOST_TEST(row.dkim.size() == 1u);
    BOOST_TEST(row.disposition == "quarantine");
    BOOST_REQUIRE(row.reasons.size() == 1u);
    BOOST_TEST(row.reasons[0].type == "local_policy");
    BOOST_TEST(row.reasons[0].comment.find("section 7.4") != std::string::npos);

    message.applied = "reject"; // as asked: no reason
    BOOST_TEST(aggregate_row(message).reasons.empty());
    dmarc.testing = true; // t=y: asked quarantine, applied quarantine
    dmarc.disposition = "quarantine";
    message.applied = "quarantine";
    row = aggregate_row(message);
    BOOST_REQUIRE(row.reasons.size() == 1u);
    BOOST_TEST(row.reasons[0].type == "policy_test_mode");
    message.sender = ""; // the null sender
    BOOST_TEST(aggregate_row(message).envelope_from == "");

    dmarc = auth::DmarcResult{};
    dmarc.result = "pass";
    dmarc.policy = "reject";
    dmarc.spf_aligned = true;
    message.applied = "none";
    BOOST_TEST(aggregate_row(message).disposition == "pass");
    dmarc.policy = "none";
    BOOST_TEST(aggregate_row(message).disposition == "none");
    BOOST_TEST(aggregate_row(message).reasons.empty());
}

BOOST_AUTO_TEST_CASE(fo_decides_which_messages_get_a_failure_report) {
    auth::DmarcResult dmarc;
    dmarc.result = "fail";
    const auth::DmarcRecord fo0 = *auth::parse_dmarc_record("v=DMARC1; p=none; ruf=mailto:a@b.c");
    const auth::DmarcRecord fo1 =
        *auth::parse_dmarc_record("v=DMARC1; p=none; fo=1; ruf=mailto:a@b.c");
    const auth::DmarcRecord fod = *auth::parse_dmarc_record("v=DMARC1; p=none; fo=d");
    BOOST_TEST(failure_report_due(fo0, dmarc));
    BOOST_TEST(failure_report_due(fod, dmarc)); // d alone: DMARC reports follow the 0 rule
    dmarc.result = "pass";
    dmarc.spf_aligned = true;
    BOOST_TEST(!failure_report_due(fo0, dmarc));
    BOOST_TEST(failure_report_due(fo1, dmarc)); // DKIM gave no aligned pass
    dmarc.dkim_aligned = true;
    BOOST_TEST(!failure_report_due(fo1, dmarc));
    dmarc.result = "temperror";
    BOOST_TEST(!failure_report_due(fo1, dmarc));
}

BOOST_AUTO_TEST_SUITE_END()
