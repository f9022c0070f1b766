// What `make check` needs to run a fuzz target without libFuzzer: the seed corpus and the
// libFuzzer dictionary of a target, read from the source tree ($MW_SRCDIR/tests/fuzz), and a
// simple mutator (byte flips, dictionary tokens, cuts, repeats, splices with other seeds).
#pragma once

#include <cstddef>
#include <random>
#include <string>
#include <vector>

namespace mailwarden::fuzz {

// Every file of tests/fuzz/corpus/NAME.
std::vector<std::string> read_seeds(const std::string& name);
// The tokens of tests/fuzz/NAME.dict: one "token" per line, \\, \" and \xNN escapes, # comments.
std::vector<std::string> read_dictionary(const std::string& name);

std::string mutate(std::string input, const std::vector<std::string>& seeds,
                   const std::vector<std::string>& tokens, std::mt19937& random,
                   std::size_t max_bytes);

} // namespace mailwarden::fuzz
