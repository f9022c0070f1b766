// Test helpers for DMARC reports: validating XML with xmllint against RFC 9990's schema (from
// ../shared/conformance/dmarc/rfc9990), and taking the gzip attachment out of a report mail.
#pragma once

#include "auth/dkim_key.hh"
#include "child_process.hh"
#include "util/gzip.hh"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace mailwarden::test {

inline std::filesystem::path dmarc_report_schema() {
    return source_directory() / ".." / "shared" / "conformance" / "dmarc" / "rfc9990" /
           "dmarc-xml-0.2.xsd";
}

// False (with a message) when ../shared is absent; a missing xmllint fails the test.
inline bool have_report_schema() {
    if (!std::filesystem::exists(dmarc_report_schema())) {
        BOOST_TEST_MESSAGE("skipped: " << dmarc_report_schema() << " not found");
        return false;
    }
    BOOST_REQUIRE_MESSAGE(std::filesystem::exists("/usr/bin/xmllint"),
                          "xmllint missing: apt-get install libxml2-utils");
    return true;
}

// xmllint's verdict on the document: "" when valid, else its output.
inline std::string schema_errors(const std::string& xml) {
    char pattern[] = "/tmp/mw-report-xml-XXXXXX";
    const std::filesystem::path dir = ::mkdtemp(pattern);
    std::ofstream(dir / "report.xml", std::ios::binary) << xml;
    ChildProcess xmllint({"/usr/bin/xmllint", "--noout", "--schema", dmarc_report_schema().string(),
                          (dir / "report.xml").string()},
                         (dir / "xmllint.out").string());
    const int status = xmllint.wait_exit(std::chrono::seconds(30)).value_or(-1);
    const std::string output = xmllint.output();
    std::filesystem::remove_all(dir);
    return status == 0 ? "" : "xmllint exit " + std::to_string(status) + ": " + output;
}

// The XML of the (first) base64 application/gzip part of a report mail; "" when none.
inline std::string report_xml_of(const std::string& mail) {
    const std::size_t part = mail.find("Content-Type: application/gzip");
    if (part == std::string::npos)
        return "";
    std::size_t start = mail.find("\n\n", part);
    if (start == std::string::npos)
        return "";
    start += 2;
    const std::size_t end = mail.find("\n--", start);
    const auto gzipped = auth::decode_base64(mail.substr(start, end - start));
    std::string xml;
    if (!gzipped || !util::gzip_decompress(*gzipped, xml, 64 << 20))
        return "";
    return xml;
}

} // namespace mailwarden::test
