// The milter protocol fuzz target (tests/fuzz/milter_frame_target) under `make check`: every
// seed of tests/fuzz/corpus/milter-frame, then a bounded number of mutations of them (byte
// flips, protocol tokens, cuts, splices), so the ASan build of the suite runs the target on
// every CI. Longer runs use the libFuzzer driver (README, "Fuzzing").
#include "../fuzz/milter_frame_target.hh"
#include "../fuzz/mutation.hh"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

namespace {

const std::vector<std::string>& tokens() {
    static const std::vector<std::string> read = mailwarden::fuzz::read_dictionary("milter-frame");
    return read;
}

} // namespace

BOOST_AUTO_TEST_SUITE(fuzz_milter)

BOOST_AUTO_TEST_CASE(every_seed_runs) {
    const auto seeds = mailwarden::fuzz::read_seeds("milter-frame");
    BOOST_TEST_REQUIRE(seeds.size() >= 8u, "seed corpus tests/fuzz/corpus/milter-frame");
    std::size_t frames = 0;
    for (const auto& seed : seeds)
        frames += mailwarden::fuzz::milter_frame_one(seed);
    BOOST_TEST(frames >= 60u); // the whole sessions are read to their end
}

// Bounded in count (5000) and in time (30 s); the seed of the mutations is printed so a crash
// can be replayed.
BOOST_AUTO_TEST_CASE(mutations_of_the_seeds_run) {
    const auto seeds = mailwarden::fuzz::read_seeds("milter-frame");
    BOOST_TEST_REQUIRE(!seeds.empty());
    BOOST_TEST_REQUIRE(tokens().size() >= 20u, "dictionary tests/fuzz/milter-frame.dict");
    const auto seed = static_cast<unsigned>(std::random_device{}());
    std::fprintf(stderr, "fuzz_milter: mutation seed %u\n", seed);
    std::mt19937 random(seed);
    const auto stop = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    std::size_t frames = 0;
    int runs = 0;
    for (; runs < 5000 && std::chrono::steady_clock::now() < stop; ++runs)
        frames += mailwarden::fuzz::milter_frame_one(mailwarden::fuzz::mutate(
            seeds[random() % seeds.size()], seeds, tokens(), random, 8192));
    std::fprintf(stderr, "fuzz_milter: %d runs, %zu frames\n", runs, frames);
    BOOST_TEST(runs > 0);
}

BOOST_AUTO_TEST_SUITE_END()
