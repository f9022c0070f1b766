// See utf8.hh.
#include "util/utf8.hh"

namespace mailwarden::util {

std::size_t utf8_sequence_length(std::string_view text) {
    if (text.empty())
        return 0;
    const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
    const auto in = [](unsigned char b, unsigned char low, unsigned char high) {
        return b >= low && b <= high;
    };
    const unsigned char lead = byte(0);
    std::size_t length = 0;
    unsigned char second_low = 0x80;
    unsigned char second_high = 0xBF;
    if (in(lead, 0xC2, 0xDF)) {
        length = 2;
    } else if (lead == 0xE0) {
        length = 3;
        second_low = 0xA0; // below is overlong
    } else if (in(lead, 0xE1, 0xEC) || in(lead, 0xEE, 0xEF)) {
        length = 3;
    } else if (lead == 0xED) {
        length = 3;
        second_high = 0x9F; // above are the surrogates U+D800..U+DFFF
    } else if (lead == 0xF0) {
        length = 4;
        second_low = 0x90; // below is overlong
    } else if (in(lead, 0xF1, 0xF3)) {
        length = 4;
    } else if (lead == 0xF4) {
        length = 4;
        second_high = 0x8F; // above is beyond U+10FFFF
    } else {
        return 0;
    }
    if (text.size() < length || !in(byte(1), second_low, second_high)) {
        return 0;
    }
    for (std::size_t i = 2; i < length; ++i) {
        if (!in(byte(i), 0x80, 0xBF)) {
            return 0;
        }
    }
    return length;
}

bool valid_utf8(std::string_view text) {
    for (std::size_t at = 0; at < text.size();) {
        if (static_cast<unsigned char>(text[at]) < 0x80) {
            ++at;
            continue;
        }
        const std::size_t length = utf8_sequence_length(text.substr(at));
        if (length == 0)
            return false;
        at += length;
    }
    return true;
}

} // namespace mailwarden::util
