// Escaping of attacker-controlled text for log lines; see escape.hh for the contract.
// Work is bounded by max_bytes, not by the input length: scanning stops once the output
// bound is reached, so a megabyte header costs no more than a short one.
#include "util/escape.hh"

#include "util/utf8.hh"

namespace mailwarden::util {
namespace {

constexpr std::string_view truncation_marker = "...";

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
