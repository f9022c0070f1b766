// The SPF fuzz target (tests/fuzz/spf_macro_target) under `make check`: every seed of
// tests/fuzz/corpus/spf-macro, then a bounded number of mutations of them (byte flips,
// insertions of macro tokens, cuts, splices), so the ASan build of the suite runs the
// target on every CI. Longer runs use the libFuzzer driver (README, "Fuzzing").
#include "../fuzz/mutation.hh"
#include "../fuzz/spf_macro_target.hh"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

const std::vector<std::string>& tokens() {
    static const std::vector<std::string> read = mailwarden::fuzz::read_dictionary("spf-macro");
    return read;
}

std::vector<std::string> read_seeds() {
    return mailwarden::fuzz::read_seeds("spf-macro");
}

std::string mutate(std::string input, const std::vector<std::string>& seeds, std::mt19937& random) {
    return mailwarden::fuzz::mutate(std::move(input), seeds, tokens(), random, 8192);
}

} // namespace

BOOST_AUTO_TEST_SUITE(fuzz_spf)

BOOST_AUTO_TEST_CASE(every_seed_runs) {
    const auto seeds = read_seeds();
    BOOST_TEST_REQUIRE(seeds.size() >= 5u, "seed corpus tests/fuzz/corpus/spf-macro");
    std::map<std::string, int> results;
    for (const auto& seed : seeds)
        ++results[mailwarden::fuzz::spf_macro_one(seed)];
    // The seeds are chosen to reach macro expansion, not to stop at the syntax check.
    BOOST_TEST(results["fail"] + results["pass"] + results["softfail"] + results["neutral"] >= 3);
}

// Bounded in count (20000) and in time (60 s); the seed of the mutations is printed so a
// crash can be replayed.
BOOST_AUTO_TEST_CASE(mutations_of_the_seeds_run) {
    const auto seeds = read_seeds();
    BOOST_TEST_REQUIRE(!seeds.empty());
    BOOST_TEST_REQUIRE(tokens().size() >= 20u, "dictionary tests/fuzz/spf-macro.dict");
    const auto seed = static_cast<unsigned>(std::random_device{}());
    std::fprintf(stderr, "fuzz_spf: mutation seed %u\n", seed);
    std::mt19937 random(seed);
    const auto stop = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::map<std::string, int> results;
    int runs = 0;
    for (; runs < 20000 && std::chrono::steady_clock::now() < stop; ++runs)
        ++results[mailwarden::fuzz::spf_macro_one(
            mutate(seeds[random() % seeds.size()], seeds, random))];
    std::string summary;
    for (const auto& [result, count] : results)
        summary += " " + result + " " + std::to_string(count);
    std::fprintf(stderr, "fuzz_spf: %d runs:%s\n", runs, summary.c_str());
    BOOST_TEST(runs > 0);
}

BOOST_AUTO_TEST_SUITE_END()
