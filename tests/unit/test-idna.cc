// auth/idna: U-labels to A-labels for mail domains (RFC 8616) with libidn2, IDNA2008 with
// UTS #46 non-transitional mapping; what is refused as malformed (not UTF-8, IDNA2008
// DISALLOWED or context rules, labels over 63 octets after conversion).
#include "auth/idna.hh"
#include "idna_test_names.hh"

#include <boost/test/unit_test.hpp>

#include <string>
#include <utility>
#include <vector>

using mailwarden::auth::domain_to_ascii;
using mailwarden::auth::has_non_ascii;
using mailwarden::auth::max_idna_input_bytes;

namespace {

std::string show(const std::optional<std::string>& value) {
    return value ? *value : "(malformed)";
}

} // namespace

BOOST_AUTO_TEST_SUITE(idna)

BOOST_AUTO_TEST_CASE(u_labels_become_lower_case_a_labels) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"bücher.test", "xn--bcher-kva.test"},
        {"Bücher.TEST", "xn--bcher-kva.test"}, // ASCII case
        {"BÜCHER.test", "xn--bcher-kva.test"}, // UTS #46 maps case
        {"bu\xCC\x88"
         "cher.test",
         "xn--bcher-kva.test"}, // u + combining diaeresis: NFC
        {"mail.bücher.test.", "mail.xn--bcher-kva.test."},
        {"faß.de", "xn--fa-hia.de"}, // non-transitional: not fass.de
        {"例え.テスト", "xn--r8jz45g.xn--zckzah"},
        {"食狮.公司.cn", "xn--85x722f.xn--55qx5d.cn"},
        {"s1._domainkey.bücher.test", "s1._domainkey.xn--bcher-kva.test"},
    };
    for (const auto& [input, expected] : cases)
        BOOST_TEST(show(domain_to_ascii(input)) == expected, input);
}

// RFC 3492 §7.1 sample strings (those IDNA2008 allows) and the PSL's own U-labels.
BOOST_AUTO_TEST_CASE(punycode_samples) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"食狮", "xn--85x722f"},
        {"公司", "xn--55qx5d"},
        {"中国", "xn--fiqs8s"},
        {"他们为什么不说中文", "xn--ihqwcrb4cv8a8dqg056pqjye"}, // (B)
        {"3年B組金八先生", "xn--3b-ww4c5e180e575a65lsy2b"},     // (L), B mapped to b
    };
    for (const auto& [input, expected] : cases)
        BOOST_TEST(show(domain_to_ascii(input)) == expected, input);
}

BOOST_AUTO_TEST_CASE(ascii_names_are_only_lower_cased) {
    BOOST_TEST(show(domain_to_ascii("Example.ORG")) == "example.org");
    BOOST_TEST(show(domain_to_ascii("XN--BCHER-KVA.test")) == "xn--bcher-kva.test");
    // Syntax is the caller's: these stay what they were before IDNA.
    BOOST_TEST(show(domain_to_ascii("a_b..test")) == "a_b..test");
    BOOST_TEST(show(domain_to_ascii("")) == "");
}

BOOST_AUTO_TEST_CASE(what_idna2008_forbids_is_malformed) {
    const std::vector<std::string> malformed{
        "\xE2\x98\x83.net", // U+2603 SNOWMAN: DISALLOWED
        "a\xE2\x80\x8D"
        "b.test",             // ZERO WIDTH JOINER outside its context (CONTEXTJ)
        "-bücher.test",       // hyphen at the start of a label
        "bücher-.test",       // and at its end
        "xn--zz.bücher.test", // an xn-- label that is not Punycode
    };
    for (const std::string& name : malformed)
        BOOST_TEST(!domain_to_ascii(name).has_value(), name);
}

BOOST_AUTO_TEST_CASE(bytes_that_are_not_utf8_are_malformed) {
    for (std::string name : {"\xFF.test",
                             "b\xFC"
                             "cher.test",
                             "\xC0\xAF.test", "\xED\xA0\x80.test", "\xE4\xB8.test"})
        BOOST_TEST(!domain_to_ascii(name).has_value());
    BOOST_TEST(!domain_to_ascii(std::string("b\xC3\xBC\0x.test", 10)).has_value()); // NUL
}

BOOST_AUTO_TEST_CASE(labels_over_63_octets_after_conversion_are_malformed) {
    // 21 CJK characters are 63 bytes of UTF-8 but 70 octets as an A-label.
    const std::string cjk = mailwarden::test::cjk_label_63_bytes_70_as_a_label();
    BOOST_TEST(!domain_to_ascii(cjk + ".test").has_value());
    BOOST_TEST(!domain_to_ascii(std::string(62, 'a') + "ü.test").has_value()); // 63 + xn--
    BOOST_TEST(domain_to_ascii(std::string(50, 'a') + "ü.test").has_value());
    // A name over 253 octets once converted.
    std::string long_name;
    for (int i = 0; i < 5; ++i)
        long_name += std::string(50, 'a') + "ü.";
    BOOST_TEST(!domain_to_ascii(long_name + "test").has_value());
}

BOOST_AUTO_TEST_CASE(max_idna_input_bytes_1024) {
    std::string huge = "ü";
    while (huge.size() <= max_idna_input_bytes)
        huge += ".a";
    BOOST_TEST(!domain_to_ascii(huge).has_value());
}

BOOST_AUTO_TEST_CASE(non_ascii_detection) {
    BOOST_TEST(has_non_ascii("bücher.test"));
    BOOST_TEST(!has_non_ascii("xn--bcher-kva.test"));
    BOOST_TEST(has_non_ascii("\x80"));
}

BOOST_AUTO_TEST_SUITE_END()
