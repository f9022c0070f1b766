// SPF against the letter of RFC 7208, through SpfVerifier on FakeResolver zones: the macro
// examples of §7.4, §5.7 and Appendix D, transformers with digits, "r" and several or
// unusual delimiters (§7.1, §7.3), where redirect= applies (§6.1), the limits that span a
// whole evaluation (§4.6.4), and the CIDR-length-0 terms of §5.6. (The 11-PTR-name case of
// §4.6.4 runs through mailwarden check and the test DNS server: test-spf-check.cc.) Each macro case
// is an exists: term whose expected expansion is the only name with an A record, so a wrong
// expansion gives fail instead of pass.
#include "auth/spf.hh"
#include "auth/spf_macro.hh"
#include "dns/fake_resolver.hh"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

using namespace mailwarden;

namespace {

struct MacroCase {
    std::string macro_string; // after "exists:"
    std::string expansion;    // the name that must be queried
};

// The result of `exists:<macro_string> -all` published by the sender's domain, with only
// `expansion` holding an A record.
std::string exists_result(const MacroCase& test, std::string_view sender, std::string_view ip,
                          std::string_view helo = "mx.example.org") {
    const std::string domain(sender.substr(sender.rfind('@') + 1));
    const std::string zone = domain + " TXT \"v=spf1 exists:" + test.macro_string + " -all\"\n" +
                             "\"" + test.expansion + "\" A 127.0.0.2\n";
    dns::FakeResolver resolver = dns::FakeResolver::from_text(zone);
    const auth::SpfVerifier verifier({}, resolver);
    return verifier.check_mail_from(ip, helo, sender).result;
}

const char* const section_7_4_sender = "strong-bad@email.example.com";

} // namespace

BOOST_AUTO_TEST_SUITE(spf_rfc)

BOOST_AUTO_TEST_CASE(macro_examples_of_section_7_4) {
    // The RFC's own table; each expansion is followed by ".x.test" to make it a domain.
    const std::vector<MacroCase> cases{
        {"%{s}.x.test", "strong-bad@email.example.com.x.test"},
        {"%{o}.x.test", "email.example.com.x.test"},
        {"%{d}.x.test", "email.example.com.x.test"},
        {"%{d4}.x.test", "email.example.com.x.test"},
        {"%{d3}.x.test", "email.example.com.x.test"},
        {"%{d2}.x.test", "example.com.x.test"},
        {"%{d1}.x.test", "com.x.test"},
        {"%{dr}.x.test", "com.example.email.x.test"},
        {"%{d2r}.x.test", "example.email.x.test"},
        {"%{l}.x.test", "strong-bad.x.test"},
        {"%{l-}.x.test", "strong.bad.x.test"},
        {"%{lr}.x.test", "strong-bad.x.test"},
        {"%{lr-}.x.test", "bad.strong.x.test"},
        {"%{l1r-}.x.test", "strong.x.test"},
        {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
        {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
        {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
        {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
        {"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
    };
    for (const auto& test : cases)
        BOOST_TEST(exists_result(test, section_7_4_sender, "192.0.2.3") == "pass",
                   test.macro_string);
    const MacroCase ipv6{"%{ir}.%{v}._spf.%{d2}",
                         "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
                         ".ip6._spf.example.com"};
    BOOST_TEST(exists_result(ipv6, section_7_4_sender, "2001:db8::cb01") == "pass");
}

BOOST_AUTO_TEST_CASE(exists_example_of_section_5_7) {
    const MacroCase test{"%{ir}.%{l1r+-}._spf.%{d}", "1.2.0.192.someuser._spf.example.com"};
    BOOST_TEST(exists_result(test, "someuser@example.com", "192.0.2.1") == "pass");
    BOOST_TEST(exists_result(test, "someuser@example.com", "192.0.2.2") == "fail");
    // A "+" or "-" suffix of the local part is cut off by l1r+-.
    BOOST_TEST(exists_result(test, "someuser+lists@example.com", "192.0.2.1") == "pass");
    BOOST_TEST(exists_result(test, "someuser-owner@example.com", "192.0.2.1") == "pass");
}

BOOST_AUTO_TEST_CASE(transformers_delimiters_v_and_uppercase) {
    struct Case {
        MacroCase macro;
        std::string sender, ip = "192.0.2.3", helo = "mx.example.org";
    };
    const std::vector<Case> cases{
        // §7.3: split on every delimiter given, reverse, keep the right-hand parts, join
        // with "." (not with the delimiters).
        {{"%{l1r+-}.x.test", "first.last.x.test"}, "first.last-x@example.com"},
        {{"%{l2r+-}.x.test", "x.first.last.x.test"}, "first.last-x@example.com"},
        {{"%{lr+-.}.x.test", "x.last.first.x.test"}, "first.last-x@example.com"},
        {{"%{l+}.x.test", "first.last-x.x.test"}, "first+last-x@example.com"},
        {{"%{l1r+}.x.test", "mary.x.test"}, "mary+spam@example.com"},
        // Explicit delimiters other than "." and "-".
        {{"%{l,_}.x.test", "first.last.x.x.test"}, "first_last,x@example.com"},
        {{"%{l=/}.x.test", "a.b.c.x.test"}, "a=b/c@example.com"},
        {{"%{o.+}.x.test", "example.com.x.test"}, "a@example.com"},
        {{"%{d,_}.x.test", "example.com.x.test"}, "a@example.com"},
        {{"%{d1r.}.x.test", "example.x.test"}, "a@example.com"},
        {{"%{h/=}.x.test", "a.b.c.example.x.test"}, "a@example.com", "192.0.2.3", "a=b/c.example"},
        // Uppercase r means the same (ABNF strings are case-insensitive, RFC 5234 §2.3).
        {{"%{dR}.x.test", "com.example.x.test"}, "a@example.com"},
        // More parts asked for than there are: all of them.
        {{"%{d99}.x.test", "example.com.x.test"}, "a@example.com"},
        {{"%{d4294967296}.x.test", "example.com.x.test"}, "a@example.com"},
        // %{v} is one label, whatever the transformers.
        {{"%{v2}.x.test", "ip6.x.test"}, "a@example.com", "2001:db8::1"},
        {{"%{v}.x.test", "ip6.x.test"}, "a@example.com", "2001:db8::1"},
        {{"%{v1}.x.test", "in-addr.x.test"}, "a@example.com", "192.0.2.1"},
        {{"%{vr}.x.test", "in-addr.x.test"}, "a@example.com", "192.0.2.1"},
        // Uppercase letters: URL-escaped after the transformers; RFC 3986's unreserved
        // characters stay.
        {{"%{S}.x.test", "a%2Fb%40example.com.x.test"}, "a/b@example.com"},
        {{"%{L}.x.test", "a~b_c.x.test"}, "a~b_c@example.com"},
        {{"%{L1r-}.x.test", "a%3D.x.test"}, "a=-b@example.com"},
    };
    for (const auto& test : cases)
        BOOST_TEST(exists_result(test.macro, test.sender, test.ip, test.helo) == "pass",
                   test.macro.macro_string << " for " << test.sender << " from " << test.ip);
}

BOOST_AUTO_TEST_CASE(zero_digit_transformer_is_permerror) {
    // §7.3: "If a DIGIT is specified, the value MUST be nonzero."
    BOOST_TEST(exists_result({"%{d0}.x.test", "example.com.x.test"}, "a@example.com",
                             "192.0.2.1") == "permerror");
}

BOOST_AUTO_TEST_CASE(explanation_macros_c_r_t_and_escapes) {
    const auto client = util::parse_ip("2001:db8::cb01");
    const auth::SpfMacroValues values{.sender = "strong-bad@email.example.com",
                                      .local_part = "strong-bad",
                                      .sender_domain = "email.example.com",
                                      .domain = "email.example.com",
                                      .helo = "mx.example.org",
                                      .receiver = "mx.example.net",
                                      .client = &*client,
                                      .now = 1700000000,
                                      .validated_name = [] { return "mx.example.org"; }};
    const auto explain = [&](std::string_view text) {
        return auth::expand_spf_macros(text, auth::SpfMacroUse::explanation, values)
            .value_or("(invalid)");
    };
    BOOST_TEST(explain("%{c} at %{t} seen by %{r}") ==
               "2001:db8::cb01 at 1700000000 seen by mx.example.net");
    BOOST_TEST(explain("%{p2} %{h1}%%%_%-") == "example.org org% %20");
    BOOST_TEST(explain("%{C}") == "2001%3Adb8%3A%3Acb01");
    BOOST_TEST(explain("%{i1r}") == "2");
    BOOST_TEST(explain("%{x}") == "(invalid)");
    BOOST_TEST(explain("50%") == "(invalid)");
    // c, r and t are for explanations only; spaces too.
    const auto domain = [&](std::string_view text) {
        return auth::expand_spf_macros(text, auth::SpfMacroUse::domain_spec, values)
            .value_or("(invalid)");
    };
    BOOST_TEST(domain("%{c}.x.test") == "(invalid)");
    BOOST_TEST(domain("%{d} .x.test") == "(invalid)");
    BOOST_TEST(domain("%{d}.x.test.") == "email.example.com.x.test");
}

// Appendix D: the extended examples, with the RFC's zone.
const char* const appendix_zone = R"zone(
example.com          MX 10 mail-a.example.com
example.com          MX 20 mail-b.example.com
mail-a.example.com   A 192.0.2.129
mail-b.example.com   A 192.0.2.130
amy.example.com      A 192.0.2.65
bob.example.com      A 192.0.2.66
www.example.com      A 192.0.2.10
www.example.com      A 192.0.2.11
example.com          A 192.0.2.10
example.com          A 192.0.2.11
mail-c.example.org   A 192.0.2.140
example.org          MX 10 mail-c.example.org
10.2.0.192.in-addr.arpa  PTR example.com
11.2.0.192.in-addr.arpa  PTR example.com
65.2.0.192.in-addr.arpa  PTR amy.example.com
66.2.0.192.in-addr.arpa  PTR bob.example.com
129.2.0.192.in-addr.arpa PTR mail-a.example.com
130.2.0.192.in-addr.arpa PTR mail-b.example.com
140.2.0.192.in-addr.arpa PTR mail-c.example.org
4.0.0.10.in-addr.arpa    PTR bob.example.com
)zone";

BOOST_AUTO_TEST_CASE(appendix_d_simple_examples) {
    struct Case {
        std::string record, ip, expected;
    };
    const std::vector<Case> cases{
        {"v=spf1 +all", "172.16.0.1", "pass"},
        {"v=spf1 a -all", "192.0.2.10", "pass"},
        {"v=spf1 a -all", "192.0.2.11", "pass"},
        {"v=spf1 a -all", "192.0.2.12", "fail"},
        {"v=spf1 a:example.org -all", "192.0.2.10", "fail"},
        {"v=spf1 mx -all", "192.0.2.129", "pass"},
        {"v=spf1 mx -all", "192.0.2.130", "pass"},
        {"v=spf1 mx -all", "192.0.2.12", "fail"},
        {"v=spf1 mx:example.org -all", "192.0.2.140", "pass"},
        {"v=spf1 mx:example.org -all", "192.0.2.129", "fail"},
        {"v=spf1 mx mx:example.org -all", "192.0.2.130", "pass"},
        {"v=spf1 mx mx:example.org -all", "192.0.2.140", "pass"},
        {"v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.131", "pass"},
        {"v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.143", "pass"},
        {"v=spf1 mx/30 mx:example.org/30 -all", "192.0.2.12", "fail"},
        {"v=spf1 ptr -all", "192.0.2.65", "pass"},
        {"v=spf1 ptr -all", "192.0.2.140", "fail"},
        {"v=spf1 ptr -all", "10.0.0.4", "fail"}, // bob.example.com is not 10.0.0.4
        {"v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.65", "fail"},
        {"v=spf1 ip4:192.0.2.128/28 -all", "192.0.2.129", "pass"},
    };
    for (const auto& test : cases) {
        dns::FakeResolver resolver = dns::FakeResolver::from_text(
            std::string(appendix_zone) + "example.com TXT \"" + test.record + "\"\n");
        const auth::SpfVerifier verifier({}, resolver);
        BOOST_TEST(verifier.check_mail_from(test.ip, "h.example.net", "user@example.com").result ==
                       test.expected,
                   test.record << " from " << test.ip);
    }
}

BOOST_AUTO_TEST_CASE(appendix_d_multiple_domains_and_dnsbl_style) {
    dns::FakeResolver resolver = dns::FakeResolver::from_text(R"zone(
example.com     TXT "v=spf1 ip4:192.0.2.128/28 -all"
example.net     TXT "v=spf1 ip4:10.0.0.5 -all"
example.org     TXT "v=spf1 include:example.com include:example.net -all"
la.example.org  TXT "v=spf1 redirect=example.org"
sf.example.org  TXT "v=spf1 redirect=example.org"
dnsbl.test      TXT "v=spf1 mx include:mobile-users._spf.%{d} include:remote-users._spf.%{d} -all"
dnsbl.test      MX 10 mx.dnsbl.test
mx.dnsbl.test   A 192.0.2.200
mobile-users._spf.dnsbl.test  TXT "v=spf1 exists:%{l1r+}.%{d}"
remote-users._spf.dnsbl.test  TXT "v=spf1 exists:%{ir}.%{l1r+}.%{d}"
mary.mobile-users._spf.dnsbl.test A 127.0.0.2
fred.mobile-users._spf.dnsbl.test A 127.0.0.2
15.15.168.192.joel.remote-users._spf.dnsbl.test A 127.0.0.2
16.15.168.192.joel.remote-users._spf.dnsbl.test A 127.0.0.2
req.test        TXT "v=spf1 -include:ip4._spf.%{d} -include:ptr._spf.%{d} +all"
ip4._spf.req.test TXT "v=spf1 -ip4:192.0.2.0/24 +all"
ptr._spf.req.test TXT "v=spf1 -ptr:%{d2} +all"
mx.req.test     A 192.0.2.1
1.2.0.192.in-addr.arpa PTR mx.req.test
)zone");
    const auth::SpfVerifier verifier({}, resolver);
    const auto result = [&](std::string_view sender, std::string_view ip) {
        return verifier.check_mail_from(ip, "h.example.net", sender).result;
    };
    BOOST_TEST(result("tom@sf.example.org", "192.0.2.129") == "pass");
    BOOST_TEST(result("tom@la.example.org", "10.0.0.5") == "pass");
    BOOST_TEST(result("tom@sf.example.org", "10.0.0.4") == "fail");
    BOOST_TEST(result("joel@dnsbl.test", "192.168.15.15") == "pass");
    BOOST_TEST(result("joel@dnsbl.test", "192.168.15.16") == "pass");
    BOOST_TEST(result("joel@dnsbl.test", "192.168.15.17") == "fail");
    BOOST_TEST(result("mary@dnsbl.test", "198.51.100.1") == "pass");
    BOOST_TEST(result("fred+lists@dnsbl.test", "198.51.100.1") == "pass");
    BOOST_TEST(result("joel+x@dnsbl.test", "192.168.15.15") == "pass");
    BOOST_TEST(result("bob@dnsbl.test", "198.51.100.1") == "fail");
    BOOST_TEST(result("bob@dnsbl.test", "192.0.2.200") == "pass");
    // The multiple-requirements example (De Morgan's law with -include and +all): pass only
    // inside 192.0.2.0/24 and with a validated reverse name under the domain.
    BOOST_TEST(result("mary@req.test", "192.0.2.1") == "pass");
    BOOST_TEST(result("mary@req.test", "192.0.2.2") == "fail");
    BOOST_TEST(result("mary@req.test", "198.51.100.1") == "fail");
}

BOOST_AUTO_TEST_CASE(redirect_applies_only_when_no_mechanism_matched) {
    dns::FakeResolver resolver = dns::FakeResolver::from_text(R"zone(
first.test      TXT "v=spf1 redirect=example.net ip4:192.0.2.10"
middle.test     TXT "v=spf1 ip4:192.0.2.20 redirect=example.net ip4:192.0.2.10 ?all"
last.test       TXT "v=spf1 ip4:192.0.2.10 redirect=example.net"
example.net     TXT "v=spf1 -all"
)zone");
    const auth::SpfVerifier verifier({}, resolver);
    const auto result = [&](std::string_view sender, std::string_view ip) {
        return verifier.check_mail_from(ip, "h.example.net", sender).result;
    };
    BOOST_TEST(result("a@first.test", "192.0.2.10") == "pass");
    BOOST_TEST(result("a@first.test", "192.0.2.11") == "fail");
    // An all mechanism always matches: redirect= is never used.
    BOOST_TEST(result("a@middle.test", "192.0.2.11") == "neutral");
    BOOST_TEST(result("a@middle.test", "192.0.2.10") == "pass");
    BOOST_TEST(result("a@last.test", "192.0.2.10") == "pass");
    BOOST_TEST(result("a@last.test", "192.0.2.11") == "fail");
}

namespace {

// inc1 includes inc2 ... up to inc<depth>, which passes 192.0.2.10 (likewise with redirect=).
std::string chain_zone(int depth) {
    std::string zone;
    for (int level = 1; level < depth; ++level) {
        const std::string next = std::to_string(level + 1);
        zone += "inc" + std::to_string(level) + ".test TXT \"v=spf1 include:inc" + next +
                ".test ~all\"\n";
        zone +=
            "red" + std::to_string(level) + ".test TXT \"v=spf1 redirect=red" + next + ".test\"\n";
    }
    zone += "inc" + std::to_string(depth) + ".test TXT \"v=spf1 ip4:192.0.2.10 -all\"\n";
    zone += "red" + std::to_string(depth) + ".test TXT \"v=spf1 ip4:192.0.2.10 -all\"\n";
    return zone;
}

} // namespace

BOOST_AUTO_TEST_CASE(dns_term_limit_spans_include_and_redirect_chains) {
    // §4.6.4: ten DNS-querying terms in the whole evaluation; the eleventh is permerror.
    dns::FakeResolver resolver = dns::FakeResolver::from_text(chain_zone(12));
    const auth::SpfVerifier verifier({}, resolver);
    const auto result = [&](std::string_view sender) {
        return verifier.check_mail_from("192.0.2.10", "h.example.net", sender);
    };
    BOOST_TEST(result("a@inc2.test").result == "pass"); // 10 includes
    BOOST_TEST(result("a@red2.test").result == "pass"); // 10 redirects
    const auto include_over = result("a@inc1.test");    // 11 includes
    BOOST_TEST(include_over.result == "permerror");
    BOOST_TEST(include_over.reason == "more than 10 DNS-querying terms");
    BOOST_TEST(result("a@red1.test").result == "permerror");
}

BOOST_AUTO_TEST_CASE(cidr_length_zero_of_section_5_6) {
    dns::FakeResolver resolver = dns::FakeResolver::from_text(R"zone(
a0.test    TXT "v=spf1 a//0 -all"
a0.test    AAAA 2001:db8::1
a4.test    TXT "v=spf1 a/0 -all"
a4.test    A 203.0.113.1
mx0.test   TXT "v=spf1 mx/0 -all"
mx6.test   TXT "v=spf1 mx//0 -all"
mx0.test   MX 10 mail.mx0.test
mx6.test   MX 10 mail.mx0.test
mail.mx0.test A 203.0.113.1
mail.mx0.test AAAA 2001:db8::1
none.test  TXT "v=spf1 mx/0 a//0 -all"
)zone");
    const auth::SpfVerifier verifier({}, resolver);
    const auto result = [&](std::string_view sender, std::string_view ip) {
        return verifier.check_mail_from(ip, "h.example.net", sender).result;
    };
    BOOST_TEST(result("a@a0.test", "2001:db9::7") == "pass");
    BOOST_TEST(result("a@a0.test", "192.0.2.1") == "fail"); // no A record
    BOOST_TEST(result("a@a4.test", "192.0.2.1") == "pass");
    BOOST_TEST(result("a@mx0.test", "192.0.2.1") == "pass");
    BOOST_TEST(result("a@mx0.test", "2001:db9::7") == "fail"); // the IPv6 length is 128
    BOOST_TEST(result("a@mx6.test", "2001:db9::7") == "pass");
    BOOST_TEST(result("a@none.test", "192.0.2.1") == "fail");
}

BOOST_AUTO_TEST_SUITE_END()
