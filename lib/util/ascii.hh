// ASCII letter case for protocol text (domain names, tags, keywords): A-Z only, whatever
// the locale, every other byte unchanged. One definition for every module.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace mailwarden::util {

constexpr char ascii_lower(char c) {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

inline std::string ascii_lowered(std::string_view text) {
    std::string out(text);
    std::transform(out.begin(), out.end(), out.begin(), [](char c) { return ascii_lower(c); });
    return out;
}

inline bool equal_ignoring_ascii_case(std::string_view a, std::string_view b) {
    return std::ranges::equal(a, b,
                              [](char x, char y) { return ascii_lower(x) == ascii_lower(y); });
}

} // namespace mailwarden::util
