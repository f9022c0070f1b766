// Escaping of attacker-controlled text for log lines; see escape.hh for the contract.
// Work is bounded by max_bytes, not by the input length: scanning stops once the output
// bound is reached, so a megabyte header costs no more than a short one.
#include "util/escape.hh"

namespace mailwarden::util {
namespace {

constexpr std::string_view truncation_marker = "...";

// Length of the valid UTF-8 sequence starting at text[0] (2 to 4), or 0 if the bytes there
// are not one: bad lead byte, missing or wrong continuation, overlong, surrogate, > U+10FFFF.
// Ranges from the Unicode standard, table 3-7 (well-formed UTF-8 byte sequences).
std::size_t utf8_sequence_length(std::string_view text) {
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

void append_hex_escape(std::string& out, unsigned char byte) {
    static constexpr std::string_view digits = "0123456789abcdef";
    out += "\\x";
    out += digits[byte >> 4];
    out += digits[byte & 0x0F];
}

// Appends the escaped form of the unit at the start of rest; returns how many input bytes
// it consumed (at least 1).
std::size_t append_escaped_unit(std::string& out, std::string_view rest, bool escape_quote) {
    const auto lead = static_cast<unsigned char>(rest[0]);
    if (lead < 0x80) {
        switch (lead) {
        case '\\':
            out += "\\\\";
            return 1;
        case '\r':
            out += "\\r";
            return 1;
        case '\n':
            out += "\\n";
            return 1;
        case '\t':
            out += "\\t";
            return 1;
        case '"':
            out += escape_quote ? "\\\"" : "\"";
            return 1;
        default:
            if (lead < 0x20 || lead == 0x7F) {
                append_hex_escape(out, lead);
            } else {
                out += static_cast<char>(lead);
            }
            return 1;
        }
    }
    const std::size_t length = utf8_sequence_length(rest);
    if (length == 0) {
        append_hex_escape(out, lead); // resynchronise on the next byte
        return 1;
    }
    // U+0080..U+009F (C1 controls) are encoded as C2 80..C2 9F; some terminals act on them.
    if (lead == 0xC2 && static_cast<unsigned char>(rest[1]) <= 0x9F) {
        append_hex_escape(out, lead);
        append_hex_escape(out, static_cast<unsigned char>(rest[1]));
    } else {
        out.append(rest.substr(0, length));
    }
    return length;
}

std::string escape_bounded(std::string_view raw, std::size_t max_bytes, bool escape_quote) {
    std::string out;
    out.reserve(raw.size() < max_bytes ? raw.size() : max_bytes);
    // Output length after the last whole unit that still leaves room for the marker.
    std::size_t keep_if_truncated = 0;
    const std::size_t room_before_marker =
        max_bytes >= truncation_marker.size() ? max_bytes - truncation_marker.size() : 0;
    while (!raw.empty()) {
        raw.remove_prefix(append_escaped_unit(out, raw, escape_quote));
        if (out.size() > max_bytes || (out.size() == max_bytes && !raw.empty())) {
            out.resize(keep_if_truncated);
            out += truncation_marker.substr(0, max_bytes - out.size());
            return out;
        }
        if (out.size() <= room_before_marker) {
            keep_if_truncated = out.size();
        }
    }
    return out;
}

} // namespace

std::string escape_log_value(std::string_view raw, std::size_t max_bytes) {
    return escape_bounded(raw, max_bytes, false);
}

std::string escape_log_value_quotable(std::string_view raw, std::size_t max_bytes) {
    return escape_bounded(raw, max_bytes, true);
}

} // namespace mailwarden::util
