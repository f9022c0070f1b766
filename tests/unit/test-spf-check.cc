// The RFC 7208 conformance suite end to end: each scenario's zone is served by a private
// mw-testdnsd on loopback and every case runs through `mailwarden check --format json`,
// exactly as an admin would run it. Prints the pass count per scenario; fails on any case
// that is not a documented deviation (spf_suite.cc). Skips when ../shared is absent. Also the
// 11-PTR-name case of RFC 7208 §4.6.4 through the same path (libunbound must not reorder).
#include "child_process.hh"
#include "dns_test_server.hh"
#include "spf_suite.hh"

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace mailwarden;
using namespace std::chrono_literals;

namespace {

// `mailwarden check --format json` for one SPF case; the tool's answer, or "no json".
test::SpfOutcome check_spf(const std::string& dir, const std::string& config,
                           const std::string& dns, const test::SpfSuiteCase& test) {
    const std::string tool = (test::build_directory() / "tools/mailwarden").string();
    test::ChildProcess check({tool, "check", "-c", config, "--dns", dns, "--format", "json",
                              "--client-ip", test.host, "--helo", test.helo, "--mail-from",
                              test.mailfrom, "/dev/null"},
                             dir + "/output");
    check.wait_exit(60s);
    const std::string output = check.output();
    try {
        std::istringstream json(output.substr(0, output.find('\n')));
        boost::property_tree::ptree tree;
        boost::property_tree::read_json(json, tree);
        return test::SpfOutcome{tree.get<std::string>("spf.result", "?"),
                                tree.get<std::string>("spf.explanation", ""),
                                tree.get<std::string>("spf.reason", "")};
    } catch (const std::exception&) {
        return test::SpfOutcome{"no json", "", output.substr(0, 200)};
    }
}

std::string write_config(const std::string& dir) {
    const std::string config = dir + "/suite.conf";
    std::ofstream(config) << "[general]\ninternal_networks =\n"
                             "[dns]\ndns_timeout = 1s\n"
                             "[auth]\nspf_explanation = DEFAULT\n";
    return config;
}

} // namespace

BOOST_AUTO_TEST_SUITE(spf_suite_check)

// RFC 7208 §4.6.4: of 11 PTR names only the first 10 (in the order the server gives them)
// are used, on every query (libunbound would rotate its cached answers).
BOOST_AUTO_TEST_CASE(ptr_names_past_the_tenth_are_ignored) {
    std::string zone = "ptr.test TXT \"v=spf1 ptr -all\"\n";
    for (int name = 1; name <= 11; ++name) {
        const std::string host = "h" + std::to_string(name) + ".ptr.test";
        zone += "10.2.0.192.in-addr.arpa PTR " + host + "\n";
        zone += host + " A " + (name == 11 ? "192.0.2.10" : "198.51.100.1") + "\n";
    }
    const auto dns = test::DnsTestServer::with_zone(zone);
    char pattern[] = "/tmp/mw-spf-check-XXXXXX";
    const std::string dir = ::mkdtemp(pattern);
    const std::string config = write_config(dir);
    for (int round = 0; round < 3; ++round)
        BOOST_TEST(check_spf(dir, config, dns->address(),
                             {"ptr", "192.0.2.10", "h.example.net", "a@ptr.test", {}, ""})
                       .result == "fail");
    std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_CASE(rfc7208_suite_through_mailwarden_check) {
    const auto path = test::spf_suite_path();
    if (!path) {
        BOOST_TEST_MESSAGE("skipped: ../shared/conformance/spf/rfc7208-tests.yml not found");
        return;
    }
    char pattern[] = "/tmp/mw-spf-check-XXXXXX";
    const std::string dir = ::mkdtemp(pattern);
    const std::string config = write_config(dir);
    const auto report =
        test::run_spf_suite(test::load_spf_suite(*path), [&](const test::SpfScenario& scenario) {
            std::shared_ptr<test::DnsTestServer> dns =
                test::DnsTestServer::with_zone(scenario.zone_text);
            return [&, dns](const test::SpfSuiteCase& test) {
                return check_spf(dir, config, dns->address(), test);
            };
        });
    for (const auto& line : report.per_scenario)
        std::cout << "spf suite (mailwarden check): " << line << "\n";
    for (const auto& line : report.deviations)
        std::cout << "spf suite (mailwarden check): known deviation: " << line << "\n";
    std::cout << "spf suite (mailwarden check): total " << report.passed << "/" << report.total
              << " passed, " << report.deviations.size() << " known deviations\n";
    // RFC 7208's suite holds 203 cases (it may grow, never shrink), and every one passes.
    BOOST_TEST(report.total >= 203U);
    BOOST_TEST(report.passed == report.total);
    for (const auto& line : report.unexpected)
        BOOST_ERROR(line);
    std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()
