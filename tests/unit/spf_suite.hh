// The openspf RFC 7208 test suite (../shared/conformance/spf/rfc7208-tests.yml) read into
// scenarios: each scenario's zone data as zone-file text (lib/dns/zone_file.hh format) and
// its test cases. Shared by the unit-level driver (FakeResolver) and the integration test
// that serves the zones from mw-testdnsd and runs `mailwarden check`.
// Conversion rules are the reference drivers' (see ../shared/conformance/README.md): SPF
// entries are also served as TXT unless the name has TXT entries or "TXT: NONE"; a bare
// TIMEOUT becomes our TIMEOUT directive; \xNN escapes are single bytes.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mailwarden::test {

struct SpfSuiteCase {
    std::string name;
    std::string host; // client IP
    std::string helo;
    std::string mailfrom;             // "" = null sender
    std::vector<std::string> results; // any of these passes
    std::string explanation;          // compared for fail only; "" = not given
};

struct SpfScenario {
    std::string description;
    std::string zone_text;
    std::vector<SpfSuiteCase> cases;
};

// The suite's path, or nullopt when ../shared/conformance is not beside the source tree.
std::optional<std::string> spf_suite_path();

// Throws std::runtime_error on a file it cannot read or understand.
std::vector<SpfScenario> load_spf_suite(const std::string& path);

// Whether an outcome passes a case (results list; explanation for fail, case-insensitive).
bool spf_case_passes(const SpfSuiteCase& test, const std::string& result,
                     const std::string& explanation);

struct SpfOutcome {
    std::string result, explanation, reason;
};
// Given a scenario, returns the function that evaluates one of its cases.
using SpfScenarioRunner =
    std::function<std::function<SpfOutcome(const SpfSuiteCase&)>(const SpfScenario&)>;

struct SpfSuiteReport {
    std::size_t passed = 0, total = 0;
    std::vector<std::string> per_scenario; // "description: P/N"
    std::vector<std::string> unexpected;   // failures not in the deviation list, and
                                           // listed deviations that now pass
    std::vector<std::string> deviations;   // listed deviations seen failing
};

// Runs every case; "scenario / case" failures are checked against spf_suite_deviations().
SpfSuiteReport run_spf_suite(const std::vector<SpfScenario>& scenarios,
                             const SpfScenarioRunner& runner);

// The known failures: "scenario / case" → the RFC 7208 section and why it cannot pass
// (empty today: all 203 cases pass).
const std::map<std::string, std::string>& spf_suite_deviations();

} // namespace mailwarden::test
