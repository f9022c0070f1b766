// Milter protocol frames built by hand, as an MTA sends them (milter/frame.hh), for the tests
// that play the MTA's side.
#pragma once

#include "milter/frame.hh"

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

namespace mailwarden::test {

inline std::string frame(char command_code, std::string_view data = {}) {
    std::string out;
    milter::append_frame(out, command_code, data);
    return out;
}

inline std::string u32(std::uint32_t value) {
    std::string out;
    milter::append_u32(out, value);
    return out;
}

// NUL-terminated strings one after the other (macros, header name and value, ...).
inline std::string strings(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (const auto part : parts)
        (out += part) += '\0';
    return out;
}

} // namespace mailwarden::test
