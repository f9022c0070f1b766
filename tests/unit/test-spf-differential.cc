// SPF differential test: our verifier against pyspf (Debian's python3-spf), the two asking
// the same test DNS responder (a private mw-testdnsd serving a generated zone) about the
// same generated cases (spf_generator.hh; at least 5,000 per run).
//
// pyspf runs in one python process for all cases (tests/unit/spf_pyspf.py), twice per case:
// as shipped, and with a list of named corrections where it departs from RFC 7208 (the
// README's Conformance section gives each with its section). Our result and explanation
// must equal corrected pyspf's on every case; a case where they differ fails the test. The
// cases where pyspf as shipped disagrees with us are the listed disagreements, counted by
// the correction that explains each.
//
// The seed is the day number (so each day's CI run covers other records) unless
// MW_SPF_DIFF_SEED is set; MW_SPF_DIFF_CASES changes the count. Both are printed.
#include "auth/spf.hh"
#include "child_process.hh"
#include "dns/resolver.hh"
#include "dns_test_server.hh"
#include "spf_generator.hh"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

using namespace mailwarden;
using namespace std::chrono_literals;

namespace {

const char* const python = "/usr/bin/python3";
const char* const receiver = "mx.receiver.test";
const char* const default_explanation = "DEFAULT";

std::uint32_t run_seed() {
    if (const char* seed = std::getenv("MW_SPF_DIFF_SEED"); seed && *seed)
        return static_cast<std::uint32_t>(std::stoul(seed));
    const auto days = std::chrono::duration_cast<std::chrono::days>(
        std::chrono::system_clock::now().time_since_epoch());
    return static_cast<std::uint32_t>(days.count());
}

std::size_t run_cases() {
    const char* cases = std::getenv("MW_SPF_DIFF_CASES");
    return cases && *cases ? std::stoul(cases) : 5000;
}

struct PyspfOutcome {
    std::string result, explanation;                     // as shipped
    std::string corrected_result, corrected_explanation; // with the corrections
    std::string corrections;                             // those that made the difference
    std::string why;                                     // corrected pyspf's message for its errors
};

std::vector<std::string> split_tabs(const std::string& line) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    for (;;) {
        const auto tab = line.find('\t', start);
        fields.push_back(line.substr(start, tab - start));
        if (tab == std::string::npos)
            return fields;
        start = tab + 1;
    }
}

std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> items;
    std::istringstream in(text);
    for (std::string item; std::getline(in, item, ',');)
        items.push_back(item);
    return items;
}

std::map<std::string, PyspfOutcome> read_pyspf(const std::string& path) {
    std::map<std::string, PyspfOutcome> outcomes;
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
        const auto fields = split_tabs(line);
        if (fields.size() == 7)
            outcomes[fields[0]] = {fields[1], fields[2], fields[3],
                                   fields[4], fields[5], fields[6]};
    }
    return outcomes;
}

// Explanations compare case-insensitively (as the RFC 7208 suite's drivers do: %{i} of an
// IPv6 client is written in either case) and with %{t} (a time in seconds) masked.
std::string comparable(std::string text) {
    for (char& c : text)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    static const std::regex seconds("[0-9]{9,}");
    return std::regex_replace(text, seconds, "#");
}

// The zone lines of one case, for the report of a disagreement.
std::string case_zone(const std::string& zone, const std::string& id) {
    std::istringstream lines(zone);
    std::string out;
    const std::string origin = id + ".spf.test";
    for (std::string line; std::getline(lines, line);)
        if (line.find(origin + " ") != std::string::npos ||
            line.find("." + origin) != std::string::npos)
            out += "    " + line + "\n";
    return out;
}

} // namespace

BOOST_AUTO_TEST_SUITE(spf_differential)

BOOST_AUTO_TEST_CASE(agrees_with_pyspf_on_generated_records) {
    BOOST_TEST_REQUIRE(std::filesystem::exists(python), "python3-spf is needed (apt-get install "
                                                        "python3-spf; contrib/quickstart does)");
    const std::uint32_t seed = run_seed();
    const std::size_t count = run_cases();
    std::printf("spf differential: seed %u, %zu cases (replay: MW_SPF_DIFF_SEED=%u)\n", seed, count,
                seed);
    std::fflush(stdout);
    const auto started = std::chrono::steady_clock::now();
    const test::SpfGeneratedWorld world = test::generate_spf_world(seed, count);
    const auto server = test::DnsTestServer::with_zone(world.zone_text);

    char pattern[] = "/tmp/mw-spf-diff-XXXXXX";
    const std::string dir = ::mkdtemp(pattern);
    {
        std::ofstream cases(dir + "/cases");
        for (const auto& item : world.cases)
            cases << item.id << '\t' << item.client_ip << '\t' << item.helo << '\t'
                  << item.mail_from << '\n';
    }
    test::ChildProcess pyspf({python,
                              (test::source_directory() / "tests/unit/spf_pyspf.py").string(),
                              "--dns", server->address(), "--receiver", receiver, "--explanation",
                              default_explanation, dir + "/cases", dir + "/results"},
                             dir + "/pyspf.log");

    const auto resolver = dns::make_unbound_resolver(
        {.servers = {server->address()}, .timeout = 5s, .forward_documentation_zones = true});
    const auth::SpfVerifier verifier({.time_budget = 20s,
                                      .receiving_host = receiver,
                                      .default_explanation = default_explanation},
                                     *resolver);
    std::vector<auth::SpfResult> ours;
    ours.reserve(world.cases.size());
    for (const auto& item : world.cases)
        ours.push_back(verifier.check_mail_from(item.client_ip, item.helo, item.mail_from));
    const double our_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

    const auto status = pyspf.wait_exit(300s);
    BOOST_TEST_REQUIRE((status && *status == 0), "spf_pyspf.py: " << pyspf.output());
    const auto theirs = read_pyspf(dir + "/results");
    BOOST_TEST_REQUIRE(theirs.size() == world.cases.size(), "pyspf answered " << theirs.size());

    std::size_t agree_plain = 0, listed = 0;
    std::map<std::string, std::size_t> listed_by_correction;
    std::vector<std::string> unlisted;
    for (std::size_t i = 0; i < world.cases.size(); ++i) {
        const auto& item = world.cases[i];
        const PyspfOutcome& pyspf_outcome = theirs.at(item.id);
        const std::string our_explanation = comparable(ours[i].explanation);
        const bool as_corrected =
            ours[i].result == pyspf_outcome.corrected_result &&
            our_explanation == comparable(pyspf_outcome.corrected_explanation);
        const bool as_shipped = ours[i].result == pyspf_outcome.result &&
                                our_explanation == comparable(pyspf_outcome.explanation);
        if (as_shipped && as_corrected) {
            ++agree_plain;
        } else if (as_corrected && !pyspf_outcome.corrections.empty()) {
            ++listed;
            for (const auto& correction : split_commas(pyspf_outcome.corrections))
                ++listed_by_correction[correction];
        } else {
            unlisted.push_back(item.id + ": client " + item.client_ip + ", helo " + item.helo +
                               ", mail from <" + item.mail_from + ">: ours " + ours[i].result +
                               " (" + ours[i].reason + ") '" + ours[i].explanation + "', pyspf " +
                               pyspf_outcome.result + " '" + pyspf_outcome.explanation +
                               "', corrected pyspf " + pyspf_outcome.corrected_result + " '" +
                               pyspf_outcome.corrected_explanation + "' " + pyspf_outcome.why +
                               "\n" + case_zone(world.zone_text, item.id));
        }
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("spf differential: %zu cases in %.1f s (ours done after %.1f s): pyspf as shipped "
                "agrees on %zu; %zu disagreements, %zu of them listed, %zu unlisted\n",
                world.cases.size(), seconds, our_seconds, agree_plain, listed + unlisted.size(),
                listed, unlisted.size());
    std::string by_correction;
    for (const auto& [correction, cases] : listed_by_correction)
        by_correction += " " + correction + " " + std::to_string(cases);
    std::printf("spf differential: listed, by the correction of pyspf that explains them (a "
                "case may have several; README, Conformance):%s\n",
                by_correction.c_str());
    for (std::size_t i = 0; i < unlisted.size() && i < 500; ++i)
        BOOST_ERROR("unlisted disagreement with pyspf, " << unlisted[i]);
    BOOST_TEST(unlisted.empty());
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
}

BOOST_AUTO_TEST_SUITE_END()
