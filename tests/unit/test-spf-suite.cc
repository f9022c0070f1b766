// The RFC 7208 conformance suite through SpfVerifier on FakeResolver zones: the fast,
// in-process run of every case (the integration run through `mailwarden check` and the real
// test DNS server is tests/unit/test-spf-check.cc). Prints the pass count per scenario and
// fails on any case that is not a documented deviation (spf_suite_deviations).
#include "auth/spf.hh"
#include "dns/fake_resolver.hh"
#include "spf_suite.hh"

#include <boost/test/unit_test.hpp>

#include <iostream>

using namespace mailwarden;

BOOST_AUTO_TEST_SUITE(spf_suite)

BOOST_AUTO_TEST_CASE(rfc7208_suite_in_process) {
    const auto path = test::spf_suite_path();
    if (!path) {
        BOOST_TEST_MESSAGE("skipped: ../shared/conformance/spf/rfc7208-tests.yml not found");
        return;
    }
    std::size_t passed = 0, total = 0;
    for (const auto& scenario : test::load_spf_suite(*path)) {
        dns::Zone zone;
        if (const auto error = zone.add(scenario.zone_text, scenario.description)) {
            BOOST_TEST(false, "zone of '" << scenario.description << "': " << *error);
            continue;
        }
        dns::FakeResolver resolver(std::move(zone));
        auth::SpfOptions options;
        options.default_explanation = "DEFAULT";
        const auth::SpfVerifier verifier(options, resolver);
        std::size_t scenario_passed = 0;
        for (const auto& test : scenario.cases) {
            const auth::SpfResult result =
                verifier.check_mail_from(test.host, test.helo, test.mailfrom);
            const bool ok = test::spf_case_passes(test, result.result, result.explanation);
            scenario_passed += ok;
            BOOST_TEST(ok, scenario.description << " / " << test.name << ": got " << result.result
                                                << " (" << result.reason << ") explanation '"
                                                << result.explanation << "'");
        }
        std::cout << "spf suite: " << scenario.description << ": " << scenario_passed << "/"
                  << scenario.cases.size() << "\n";
        passed += scenario_passed;
        total += scenario.cases.size();
    }
    std::cout << "spf suite: total " << passed << "/" << total << "\n";
}

BOOST_AUTO_TEST_SUITE_END()
