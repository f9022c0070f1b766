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
    const auto report =
        test::run_spf_suite(test::load_spf_suite(*path), [](const test::SpfScenario& scenario) {
            auto resolver = std::make_shared<dns::FakeResolver>(
                dns::FakeResolver::from_text(scenario.zone_text));
            auth::SpfOptions options;
            options.default_explanation = "DEFAULT";
            auto verifier = std::make_shared<auth::SpfVerifier>(options, *resolver);
            return [resolver, verifier](const test::SpfSuiteCase& test) {
                const auto result = verifier->check_mail_from(test.host, test.helo, test.mailfrom);
                return test::SpfOutcome{result.result, result.explanation, result.reason};
            };
        });
    for (const auto& line : report.per_scenario)
        std::cout << "spf suite (in process): " << line << "\n";
    for (const auto& line : report.deviations)
        std::cout << "spf suite (in process): known deviation: " << line << "\n";
    std::cout << "spf suite (in process): total " << report.passed << "/" << report.total
              << " passed, " << report.deviations.size() << " known deviations\n";
    // RFC 7208's suite holds 203 cases (it may grow, never shrink), and every one passes.
    BOOST_TEST(report.total >= 203U);
    BOOST_TEST(report.passed == report.total);
    for (const auto& line : report.unexpected)
        BOOST_ERROR(line);
}

BOOST_AUTO_TEST_SUITE_END()
