// SPF (lib/auth/spf) on FakeResolver zones: results, mechanisms, explanations, the limits
// (void lookups, time budget), and concurrent use. The letter of RFC 7208 (macros, order,
// limits across include chains) is tests/unit/test-spf-rfc.cc.
#include "auth/spf.hh"
#include "dns/fake_resolver.hh"

#include <boost/test/unit_test.hpp>

#include <thread>

using namespace mailwarden;
using auth::SpfResult;
using auth::SpfVerifier;

namespace {

const char* const zone_text = R"zone(
pass.test        TXT "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"
soft.test        TXT "v=spf1 ~all"
neutral.test     TXT "v=spf1 ?all"
a.test           TXT "v=spf1 a -all"
a.test           A 192.0.2.20
mx.test          TXT "v=spf1 mx -all"
mx.test          MX 10 mail.mx.test
mail.mx.test     A 192.0.2.30
ptr.test         TXT "v=spf1 ptr -all"
40.2.0.192.in-addr.arpa PTR host.ptr.test
host.ptr.test    A 192.0.2.40
include.test     TXT "v=spf1 include:pass.test -all"
redirect.test    TXT "v=spf1 redirect=pass.test"
exists.test      TXT "v=spf1 exists:%{ir}.list.exists.test -all"
10.2.0.192.list.exists.test A 127.0.0.2
explained.test   TXT "v=spf1 -all exp=why.explained.test"
why.explained.test TXT "%{i} may not send for %{d} (local part %{l})"
twovoid.test     TXT "v=spf1 a:none1.twovoid.test a:none2.twovoid.test ip4:192.0.2.0/24 -all"
threevoid.test   TXT "v=spf1 a:none1.threevoid.test a:none2.threevoid.test a:none3.threevoid.test ip4:192.0.2.0/24 -all"
toomany.test     TXT "v=spf1 a:x1.test a:x2.test a:x3.test a:x4.test a:x5.test a:x6.test a:x7.test a:x8.test a:x9.test a:x10.test a:x11.test -all"
slow.test        TIMEOUT
broken.test      SERVFAIL
incslow.test     TXT "v=spf1 include:slow.test -all"
mail.helo.test   TXT "v=spf1 ip4:192.0.2.10 -all"
bad.test         TXT "v=spf1 ip4:300.1.1.1 -all"
xn--bcher-kva.test TXT "v=spf1 ip4:192.0.2.0/24 -all"
mail.xn--bcher-kva.test TXT "v=spf1 exists:%{d}.%{h}.ok.test -all"
mail.xn--bcher-kva.test.mail.xn--bcher-kva.test.ok.test A 127.0.0.2
)zone";

struct Fixture {
    dns::FakeResolver resolver = dns::FakeResolver::from_text(zone_text);
    auth::SpfOptions options;
    std::unique_ptr<SpfVerifier> verifier = std::make_unique<SpfVerifier>(options, resolver);

    SpfResult from(std::string_view sender, std::string_view ip = "192.0.2.10") {
        return verifier->check_mail_from(ip, "mail.helo.test", sender);
    }
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(spf, Fixture)

BOOST_AUTO_TEST_CASE(results_for_each_qualifier) {
    const std::vector<std::tuple<std::string, std::string, std::string>> cases{
        {"a@pass.test", "192.0.2.10", "pass"},     {"a@pass.test", "198.51.100.1", "fail"},
        {"a@pass.test", "2001:db8::1", "pass"},    {"a@pass.test", "2001:db9::1", "fail"},
        {"a@soft.test", "192.0.2.10", "softfail"}, {"a@neutral.test", "192.0.2.10", "neutral"},
        {"a@nothing.test", "192.0.2.10", "none"},  {"a@bad.test", "192.0.2.10", "permerror"},
    };
    for (const auto& [sender, ip, expected] : cases)
        BOOST_TEST(from(sender, ip).result == expected, sender << " from " << ip);
}

BOOST_AUTO_TEST_CASE(mechanisms_a_mx_ptr_include_redirect_exists) {
    BOOST_TEST(from("a@a.test", "192.0.2.20").result == "pass");
    BOOST_TEST(from("a@a.test", "192.0.2.21").result == "fail");
    BOOST_TEST(from("a@mx.test", "192.0.2.30").result == "pass");
    BOOST_TEST(from("a@ptr.test", "192.0.2.40").result == "pass");
    BOOST_TEST(from("a@include.test", "192.0.2.99").result == "pass");
    BOOST_TEST(from("a@include.test", "198.51.100.1").result == "fail");
    BOOST_TEST(from("a@redirect.test", "192.0.2.99").result == "pass");
    BOOST_TEST(from("a@exists.test", "192.0.2.10").result == "pass");
    BOOST_TEST(from("a@exists.test", "192.0.2.11").result == "fail");
}

BOOST_AUTO_TEST_CASE(result_reports_identity_scope_and_domain) {
    const SpfResult result = from("<Alice@Pass.test>");
    BOOST_TEST(result.identity == "Alice@Pass.test");
    BOOST_TEST(result.domain == "Pass.test");
    BOOST_TEST((result.scope == auth::SpfScope::mailfrom));
    BOOST_TEST(result.result == "pass");
}

BOOST_AUTO_TEST_CASE(fail_carries_the_expanded_explanation) {
    const SpfResult result = from("bob@explained.test");
    BOOST_TEST(result.result == "fail");
    BOOST_TEST(result.explanation == "192.0.2.10 may not send for explained.test (local part bob)");
    BOOST_TEST(from("a@pass.test", "198.51.100.1").explanation ==
               "198.51.100.1 is not one of pass.test's designated mail servers");
    BOOST_TEST(from("a@pass.test").explanation.empty());
}

BOOST_AUTO_TEST_CASE(two_void_lookups_are_allowed_the_third_is_permerror) {
    BOOST_TEST(from("a@twovoid.test").result == "pass");
    const SpfResult over = from("a@threevoid.test");
    BOOST_TEST(over.result == "permerror");
    BOOST_TEST(over.reason == "void lookup limit");
}

BOOST_AUTO_TEST_CASE(more_than_ten_dns_terms_is_permerror) {
    BOOST_TEST(from("a@toomany.test").result == "permerror");
}

BOOST_AUTO_TEST_CASE(dns_trouble_is_temperror) {
    const SpfResult timeout = from("a@slow.test");
    BOOST_TEST(timeout.result == "temperror");
    BOOST_TEST(timeout.reason == "dns timeout");
    BOOST_TEST(from("a@broken.test").result == "temperror");
    BOOST_TEST(from("a@incslow.test").result == "temperror");
}

BOOST_AUTO_TEST_CASE(spent_time_budget_is_temperror) {
    options.time_budget = std::chrono::milliseconds(0);
    SpfVerifier impatient(options, resolver);
    const SpfResult result = impatient.check_mail_from("192.0.2.10", "h.test", "a@pass.test");
    BOOST_TEST(result.result == "temperror");
    BOOST_TEST(result.reason == "time budget spent");
}

BOOST_AUTO_TEST_CASE(null_sender_is_postmaster_at_helo) {
    const SpfResult result = verifier->check_mail_from("192.0.2.10", "mail.helo.test", "");
    BOOST_TEST(result.identity == "postmaster@mail.helo.test");
    BOOST_TEST(result.domain == "mail.helo.test");
    BOOST_TEST(result.result == "pass");
    BOOST_TEST(verifier->check_mail_from("192.0.2.10", "mail.helo.test", "<>").result == "pass");
}

BOOST_AUTO_TEST_CASE(helo_identity) {
    BOOST_TEST(verifier->check_helo("192.0.2.10", "mail.helo.test").result == "pass");
    BOOST_TEST(verifier->check_helo("198.51.100.1", "mail.helo.test").result == "fail");
    const SpfResult helo = verifier->check_helo("192.0.2.10", "mail.helo.test");
    BOOST_TEST((helo.scope == auth::SpfScope::helo));
    BOOST_TEST(helo.identity == "mail.helo.test");
}

BOOST_AUTO_TEST_CASE(initial_processing_gives_none_without_lookups) {
    const std::size_t before = resolver.query_count();
    BOOST_TEST(verifier->check_helo("192.0.2.10", "[192.0.2.10]").result == "none");
    BOOST_TEST(verifier->check_helo("192.0.2.10", "192.0.2.10").result == "none");
    BOOST_TEST(verifier->check_helo("192.0.2.10", "localhost").result == "none");
    BOOST_TEST(from("a@" + std::string(64, 'x') + ".test").result == "none");
    BOOST_TEST(from("a@x..test").result == "none");
    BOOST_TEST(from("nodomain").result == "none");
    BOOST_TEST(resolver.query_count() == before);
    BOOST_TEST(from("@pass.test").identity == "postmaster@pass.test");
}

// RFC 8616 §3: U-labels in MAIL FROM and HELO become A-labels, for the lookup and for the
// macros (%{d}, %{h}, %{s}); the local part is left as it came.
BOOST_AUTO_TEST_CASE(u_label_domains_are_evaluated_as_a_labels) {
    const SpfResult sender = from("info@b\xc3\xbc"
                                  "cher.test");
    BOOST_TEST(sender.result == "pass");
    BOOST_TEST(sender.domain == "xn--bcher-kva.test");
    BOOST_TEST(sender.identity == "info@xn--bcher-kva.test");
    BOOST_TEST(from("j\xc3\xb6rg@B\xc3\x9c"
                    "CHER.test",
                    "198.51.100.1")
                   .result == "fail");
    BOOST_TEST(from("j\xc3\xb6rg@b\xc3\xbc"
                    "cher.test")
                   .identity == "j\xc3\xb6rg@xn--bcher-kva.test");
    const SpfResult helo = verifier->check_helo("192.0.2.10", "mail.b\xc3\xbc"
                                                              "cher.test");
    BOOST_TEST(helo.result == "pass");
    BOOST_TEST(helo.domain == "mail.xn--bcher-kva.test");
    const SpfResult null_sender = verifier->check_mail_from("192.0.2.10",
                                                            "mail.b\xc3\xbc"
                                                            "cher.test",
                                                            "<>");
    BOOST_TEST(null_sender.identity == "postmaster@mail.xn--bcher-kva.test");
    BOOST_TEST(null_sender.result == "pass");
}

// RFC 7208 §4.3: a domain that is not UTF-8, that IDNA2008 refuses, or whose A-label is over
// 63 octets is malformed: none, without a DNS query.
BOOST_AUTO_TEST_CASE(malformed_internationalized_domains_are_none_without_lookups) {
    const std::size_t before = resolver.query_count();
    for (const std::string& domain : {std::string("b\xfc"
                                                  "cher.test"),
                                      std::string("\xe2\x98\x83.test"),
                                      std::string("-b\xc3\xbc"
                                                  "cher.test"),
                                      std::string(62, 'a') + "\xc3\xbc.test"}) {
        const SpfResult result = from("a@" + domain);
        BOOST_TEST(result.result == "none", domain);
        BOOST_TEST(result.reason == "invalid domain", domain);
        BOOST_TEST(verifier->check_helo("192.0.2.10", "mail." + domain).result == "none");
    }
    BOOST_TEST(resolver.query_count() == before);
}

// libspf2 passed any domain for a loopback client; SPF has no such exception.
BOOST_AUTO_TEST_CASE(loopback_clients_are_evaluated_like_any_other) {
    BOOST_TEST(from("a@pass.test", "127.0.0.1").result == "fail");
    BOOST_TEST(from("a@pass.test", "::1").result == "fail");
    BOOST_TEST(from("a@soft.test", "127.0.0.1").result == "softfail");
}

BOOST_AUTO_TEST_CASE(bad_client_address_is_permerror) {
    BOOST_TEST(from("a@pass.test", "not-an-ip").result == "permerror");
    BOOST_TEST(from("a@pass.test", "").result == "permerror");
}

BOOST_AUTO_TEST_CASE(domain_validation) {
    BOOST_TEST(auth::is_spf_domain("example.test"));
    BOOST_TEST(auth::is_spf_domain("example.test."));
    BOOST_TEST(!auth::is_spf_domain("test"));
    BOOST_TEST(!auth::is_spf_domain(""));
    BOOST_TEST(!auth::is_spf_domain(".example.test"));
    BOOST_TEST(auth::is_spf_domain(std::string(63, 'a') + ".test"));
    BOOST_TEST(!auth::is_spf_domain(std::string(64, 'a') + ".test"));
}

BOOST_AUTO_TEST_CASE(one_verifier_serves_many_threads) {
    std::vector<std::string> outcomes(8);
    std::vector<std::thread> threads;
    for (std::size_t index = 0; index < outcomes.size(); ++index)
        threads.emplace_back([&, index] {
            for (int round = 0; round < 100; ++round)
                outcomes[index] = from("a@mx.test", "192.0.2.30").result + "/" +
                                  from("a@threevoid.test").result + "/" +
                                  from("a@pass.test", "198.51.100.1").result;
        });
    for (auto& thread : threads)
        thread.join();
    for (const auto& outcome : outcomes)
        BOOST_TEST(outcome == "pass/permerror/fail");
}

BOOST_AUTO_TEST_SUITE_END()
