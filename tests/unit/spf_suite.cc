// See spf_suite.hh.
#include "spf_suite.hh"

#include "child_process.hh"
#include "dns/zone_file.hh"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <stdexcept>

namespace mailwarden::test {

namespace {

// yaml-cpp turns "\xNN" into U+00NN in UTF-8; the suite means the byte NN.
std::string suite_bytes(const std::string& text) {
    std::string bytes;
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if ((c == 0xc2 || c == 0xc3) && i + 1 < text.size()) {
            bytes += static_cast<char>(((c & 0x03) << 6) | (text[i + 1] & 0x3f));
            ++i;
        } else {
            bytes += static_cast<char>(c);
        }
    }
    return bytes;
}

// One character-string in zone syntax, the suite's escapes resolved first.
std::string quoted(const std::string& text) {
    return dns::zone_quoted(suite_bytes(text));
}

std::string strings_of(const YAML::Node& value) {
    if (!value.IsSequence())
        return quoted(value.as<std::string>());
    if (value.size() == 0) // a record without strings: served as one empty string
        return "\"\"";
    std::string out;
    for (const auto& piece : value)
        out += (out.empty() ? "" : " ") + quoted(piece.as<std::string>());
    return out;
}

// Owner names with spaces or quotes are written quoted.
std::string owner_of(const std::string& name) {
    const bool plain = std::none_of(name.begin(), name.end(), [](char c) {
        return c == ' ' || c == '"' || c == ';' || c == '#' || c == '\t';
    });
    return plain ? name : "\"" + name + "\"";
}

std::string zone_of(const YAML::Node& zonedata) {
    std::string zone;
    for (const auto& entry : zonedata) {
        const std::string name = owner_of(entry.first.as<std::string>());
        bool has_txt = false, txt_none = false;
        std::vector<std::string> spf_rdata;
        for (const auto& record : entry.second) {
            if (record.IsScalar()) { // TIMEOUT
                zone += name + " " + record.as<std::string>() + "\n";
                continue;
            }
            for (const auto& field : record) {
                const std::string type = field.first.as<std::string>();
                const YAML::Node& value = field.second;
                if (type == "TXT" && value.IsScalar() && value.as<std::string>() == "NONE") {
                    txt_none = true;
                } else if (type == "TXT" || type == "SPF") {
                    zone += name + " " + type + " " + strings_of(value) + "\n";
                    has_txt = has_txt || type == "TXT";
                    if (type == "SPF")
                        spf_rdata.push_back(strings_of(value));
                } else if (type == "MX") {
                    const std::string target = value[1].as<std::string>();
                    zone += name + " MX " + value[0].as<std::string>() + " " +
                            (target.empty() ? "." : target) + "\n";
                } else {
                    zone += name + " " + type + " " + value.as<std::string>() + "\n";
                }
            }
        }
        if (!has_txt && !txt_none)
            for (const auto& rdata : spf_rdata)
                zone += name + " TXT " + rdata + "\n";
    }
    return zone;
}

std::string lower(std::string text) {
    for (char& c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return text;
}

} // namespace

std::optional<std::string> spf_suite_path() {
    const auto path =
        source_directory() / ".." / "shared" / "conformance" / "spf" / "rfc7208-tests.yml";
    if (std::error_code ignored; !std::filesystem::exists(path, ignored))
        return std::nullopt;
    return path.string();
}

std::vector<SpfScenario> load_spf_suite(const std::string& path) {
    std::vector<SpfScenario> scenarios;
    for (const YAML::Node& document : YAML::LoadAllFromFile(path)) {
        if (!document.IsMap())
            continue;
        SpfScenario scenario;
        scenario.description = document["description"].as<std::string>("");
        if (document["zonedata"])
            scenario.zone_text = zone_of(document["zonedata"]);
        for (const auto& entry : document["tests"]) {
            const YAML::Node& test = entry.second;
            SpfSuiteCase item;
            item.name = entry.first.as<std::string>();
            item.host = test["host"].as<std::string>();
            item.helo = suite_bytes(test["helo"].as<std::string>(""));
            item.mailfrom = suite_bytes(test["mailfrom"].as<std::string>(""));
            if (test["result"].IsSequence())
                for (const auto& result : test["result"])
                    item.results.push_back(result.as<std::string>());
            else
                item.results.push_back(test["result"].as<std::string>());
            item.explanation = test["explanation"].as<std::string>("");
            scenario.cases.push_back(std::move(item));
        }
        scenarios.push_back(std::move(scenario));
    }
    if (scenarios.empty())
        throw std::runtime_error(path + ": no scenarios");
    return scenarios;
}

bool spf_case_passes(const SpfSuiteCase& test, const std::string& result,
                     const std::string& explanation) {
    if (std::find(test.results.begin(), test.results.end(), result) == test.results.end())
        return false;
    return result != "fail" || test.explanation.empty() ||
           lower(test.explanation) == lower(explanation);
}

const std::map<std::string, std::string>& spf_suite_deviations() {
    // None: every case passes. A case that cannot pass is listed here with the RFC 7208
    // section it concerns and why, so that the run reports it instead of failing.
    static const std::map<std::string, std::string> deviations;
    return deviations;
}

SpfSuiteReport run_spf_suite(const std::vector<SpfScenario>& scenarios,
                             const SpfScenarioRunner& runner) {
    SpfSuiteReport report;
    const auto& deviations = spf_suite_deviations();
    for (const auto& scenario : scenarios) {
        const auto run_case = runner(scenario);
        std::size_t passed = 0;
        for (const auto& test : scenario.cases) {
            const SpfOutcome outcome = run_case(test);
            const bool ok = spf_case_passes(test, outcome.result, outcome.explanation);
            passed += ok;
            const std::string key = scenario.description + " / " + test.name;
            const bool listed = deviations.count(key) > 0;
            if (!ok) {
                std::string expected;
                for (const auto& word : test.results)
                    expected += (expected.empty() ? "" : "|") + word;
                const std::string line =
                    key + ": expected " + expected + ", got " + outcome.result + " (" +
                    outcome.reason + ")" +
                    (outcome.result == "fail" ? " explanation '" + outcome.explanation + "'" : "");
                (listed ? report.deviations : report.unexpected).push_back(line);
            } else if (listed) {
                report.unexpected.push_back(key + ": passes now; remove it from the deviations");
            }
        }
        report.per_scenario.push_back(scenario.description + ": " + std::to_string(passed) + "/" +
                                      std::to_string(scenario.cases.size()));
        report.passed += passed;
        report.total += scenario.cases.size();
    }
    return report;
}

} // namespace mailwarden::test
