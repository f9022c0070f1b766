// Names for the tests of internationalized domains (test-idna.cc, test-public-suffix.cc).
#pragma once

#include <string>

namespace mailwarden::test {

// A label of 21 CJK characters: 63 bytes of UTF-8 but 70 octets as an A-label, so it fits a
// label's bound only before conversion.
inline std::string cjk_label_63_bytes_70_as_a_label() {
    std::string cjk;
    for (char32_t i = 0; i < 21; ++i) {
        const char32_t c = 0x4E00 + (i * 4099) % 20000;
        cjk += static_cast<char>(0xE0 | (c >> 12));
        cjk += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        cjk += static_cast<char>(0x80 | (c & 0x3F));
    }
    return cjk;
}

} // namespace mailwarden::test
