// See mutation.hh.
#include "mutation.hh"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace mailwarden::fuzz {

namespace {

std::filesystem::path fuzz_directory() {
    const char* srcdir = std::getenv("MW_SRCDIR");
    return std::filesystem::path(srcdir && *srcdir ? srcdir : ".") / "tests/fuzz";
}

} // namespace

std::vector<std::string> read_seeds(const std::string& name) {
    std::vector<std::string> seeds;
    std::error_code error;
    for (const auto& entry :
         std::filesystem::directory_iterator(fuzz_directory() / "corpus" / name, error)) {
        std::ifstream in(entry.path(), std::ios::binary);
        std::ostringstream text;
        text << in.rdbuf();
        seeds.push_back(text.str());
    }
    return seeds;
}

std::vector<std::string> read_dictionary(const std::string& name) {
    std::ifstream in(fuzz_directory() / (name + ".dict"));
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

std::string mutate(std::string input, const std::vector<std::string>& seeds,
                   const std::vector<std::string>& tokens, std::mt19937& random,
                   std::size_t max_bytes) {
    const int steps = 1 + static_cast<int>(random() % 4);
    for (int step = 0; step < steps; ++step) {
        const std::size_t at = input.empty() ? 0 : random() % (input.size() + 1);
        switch (random() % 5) {
        case 0: // flip a byte
            if (!input.empty())
                input[at % input.size()] ^= static_cast<char>(1u << (random() % 8));
            break;
        case 1: // insert a token
            if (!tokens.empty())
                input.insert(at, tokens[random() % tokens.size()]);
            break;
        case 2: // cut a piece
            input.erase(at, random() % 16);
            break;
        case 3: // repeat a piece (long expansions, long lines)
            input.insert(at, input.substr(at, 1 + random() % 32));
            break;
        default: { // splice in the tail of another seed
            const std::string& other = seeds[random() % seeds.size()];
            input = input.substr(0, at) + other.substr(random() % (other.size() + 1));
        }
        }
    }
    return input.substr(0, max_bytes);
}

} // namespace mailwarden::fuzz
