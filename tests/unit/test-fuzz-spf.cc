// The SPF fuzz target (tests/fuzz/spf_macro_target) under `make check`: every seed of
// tests/fuzz/corpus/spf-macro, then a bounded number of mutations of them (byte flips,
// insertions of macro tokens, cuts, splices), so the ASan build of the suite runs the
// target on every CI. Longer runs use the libFuzzer driver (README, "Fuzzing").
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

std::filesystem::path corpus_directory() {
    const char* srcdir = std::getenv("MW_SRCDIR");
    return std::filesystem::path(srcdir && *srcdir ? srcdir : ".") / "tests/fuzz/corpus/spf-macro";
}

std::vector<std::string> read_seeds() {
    std::vector<std::string> seeds;
    for (const auto& entry : std::filesystem::directory_iterator(corpus_directory())) {
        std::ifstream in(entry.path(), std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        seeds.push_back(text.str());
    }
    return seeds;
}

// The libFuzzer dictionary (tests/fuzz/spf-macro.dict): one "token" per line, with \\, \"
// and \xNN escapes; # starts a comment.
std::vector<std::string> read_dictionary() {
    const char* srcdir = std::getenv("MW_SRCDIR");
    std::ifstream in(std::filesystem::path(srcdir && *srcdir ? srcdir : ".") /
                     "tests/fuzz/spf-macro.dict");
    std::vector<std::string> tokens;
    std::string line;
    while (std::getline(in, line)) {
        const std::size_t open = line.find('"');
        if (line.starts_with('#') || open == std::string::npos)
            continue;
        std::string token;
        for (std::size_t i = open + 1; i < line.size() && line[i] != '"'; ++i) {
            if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == 'x' &&
                i + 3 < line.size()) {
                token += static_cast<char>(std::stoi(line.substr(i + 2, 2), nullptr, 16));
                i += 3;
            } else if (line[i] == '\\' && i + 1 < line.size()) {
                token += line[++i];
            } else {
                token += line[i];
            }
        }
        tokens.push_back(token);
    }
    return tokens;
}

const std::vector<std::string>& tokens() {
    static const std::vector<std::string> read = read_dictionary();
    return read;
}

std::string mutate(std::string input, const std::vector<std::string>& seeds, std::mt19937& random) {
    const int steps = 1 + static_cast<int>(random() % 4);
    for (int step = 0; step < steps; ++step) {
        const std::size_t at = input.empty() ? 0 : random() % (input.size() + 1);
        switch (random() % 5) {
        case 0: // flip a byte
            if (!input.empty())
                input[at % input.size()] ^= static_cast<char>(1u << (random() % 8));
            break;
        case 1: // insert a token
            input.insert(at, tokens()[random() % tokens().size()]);
            break;
        case 2: // cut a piece
            input.erase(at, random() % 16);
            break;
        case 3: // repeat a piece (long expansions)
            input.insert(at, input.substr(at, 1 + random() % 32));
            break;
        default: { // splice in the tail of another seed
            const std::string& other = seeds[random() % seeds.size()];
            input = input.substr(0, at) + other.substr(random() % (other.size() + 1));
        }
        }
    }
    return input.substr(0, 8192);
}

} // namespace

BOOST_AUTO_TEST_SUITE(fuzz_spf)

BOOST_AUTO_TEST_CASE(every_seed_runs) {
    const auto seeds = read_seeds();
    BOOST_TEST_REQUIRE(seeds.size() >= 5u, "seed corpus at " << corpus_directory());
    std::map<std::string, int> results;
    for (const auto& seed : seeds)
        ++results[mailwarden::fuzz::spf_macro_one(seed)];
    // The seeds are chosen to reach libspf2's expansion, not to stop at the syntax check.
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
