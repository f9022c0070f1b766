// util/xml: escaping of attacker text into well-formed XML 1.0, and the writer's nesting.
#include "util/xml.hh"

#include <boost/test/unit_test.hpp>

using mailwarden::util::xml_text;
using mailwarden::util::XmlWriter;

BOOST_AUTO_TEST_SUITE(xml)

BOOST_AUTO_TEST_CASE(markup_and_unusable_bytes_are_escaped) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"example.com", "example.com"},
        {"<a&b>", "&lt;a&amp;b&gt;"},
        {"\"'", "&quot;&apos;"},
        {"]]>", "]]&gt;"},
        {"tab\tnew\nline\r", "tab\tnew\nline\r"},
        {std::string("nul\0x", 5), "nul?x"},
        {"\x01\x1f\x7f", "???"},
        {"caf\xc3\xa9", "caf\xc3\xa9"},     // valid UTF-8 stays
        {"\xc2\x85", "?"},                  // C1 control (NEL)
        {"\xef\xbf\xbe\xef\xbf\xbf", "??"}, // U+FFFE, U+FFFF
        {"bad\xff\xfe", "bad??"},           // invalid bytes
        {"\xe2\x82", "??"},                 // truncated sequence
        {"\xed\xa0\x80", "???"},            // a surrogate
    };
    for (const auto& [raw, expected] : cases)
        BOOST_TEST(xml_text(raw) == expected, raw);
}

BOOST_AUTO_TEST_CASE(the_writer_nests_and_closes_what_is_open) {
    XmlWriter writer;
    writer.open("feedback", "xmlns=\"urn:x\"");
    writer.element("version", "1.0");
    writer.open("record");
    writer.element("domain", "<evil>");
    const std::string document = writer.finish();
    BOOST_TEST(document == "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                           "<feedback xmlns=\"urn:x\">\n"
                           "  <version>1.0</version>\n"
                           "  <record>\n"
                           "    <domain>&lt;evil&gt;</domain>\n"
                           "  </record>\n"
                           "</feedback>\n");
}

BOOST_AUTO_TEST_SUITE_END()
