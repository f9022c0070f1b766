// RFC 3492 Punycode encoder (see punycode.hh for the contract). Follows the pseudocode of
// RFC 3492 §6.3 with the §5 parameters; overflow is checked as §6.4 asks even though the
// label cap makes it unreachable.
#include "auth/punycode.hh"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace mailwarden::auth {
namespace {

constexpr std::uint32_t base = 36;
constexpr std::uint32_t tmin = 1;
constexpr std::uint32_t tmax = 26;
constexpr std::uint32_t skew = 38;
constexpr std::uint32_t damp = 700;
constexpr std::uint32_t initial_bias = 72;
constexpr std::uint32_t initial_n = 0x80;
constexpr std::uint32_t max_code_point = 0x10FFFF;
// The encoding must still fit an A-label once "xn--" is put in front of it.
constexpr std::size_t max_encoded_bytes = max_punycode_label_bytes - 4;

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
std::optional<std::vector<char32_t>> decode_utf8(std::string_view text) {
    std::vector<char32_t> code_points;
    code_points.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto lead = static_cast<unsigned char>(text[i]);
        std::size_t extra = 0;
        char32_t value = 0;
        char32_t minimum = 0;
        if (lead < 0x80) {
            value = lead;
        } else if (lead >= 0xC2 && lead <= 0xDF) {
            extra = 1, value = lead & 0x1F, minimum = 0x80;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            extra = 2, value = lead & 0x0F, minimum = 0x800;
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            extra = 3, value = lead & 0x07, minimum = 0x10000;
        } else {
            return std::nullopt;
        }
        if (text.size() - i - 1 < extra)
            return std::nullopt;
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto next = static_cast<unsigned char>(text[i + k]);
            if ((next & 0xC0) != 0x80)
                return std::nullopt;
            value = (value << 6) | (next & 0x3F);
        }
        if (value < minimum || value > max_code_point || (value >= 0xD800 && value <= 0xDFFF))
            return std::nullopt;
        code_points.push_back(value);
        i += extra + 1;
    }
    return code_points;
}

char digit_char(std::uint32_t digit) {
    return static_cast<char>(digit < 26 ? 'a' + digit : '0' + (digit - 26));
}

// RFC 3492 §6.1.
std::uint32_t adapt(std::uint32_t delta, std::uint32_t num_points, bool first_time) {
    delta = first_time ? delta / damp : delta / 2;
    delta += delta / num_points;
    std::uint32_t k = 0;
    while (delta > ((base - tmin) * tmax) / 2) {
        delta /= base - tmin;
        k += base;
    }
    return k + (base - tmin + 1) * delta / (delta + skew);
}

// Appends the variable-length integer for q (RFC 3492 §6.3, inner loop).
void append_delta(std::string& output, std::uint32_t q, std::uint32_t bias) {
    for (std::uint32_t k = base;; k += base) {
        const std::uint32_t t = k <= bias ? tmin : (k >= bias + tmax ? tmax : k - bias);
        if (q < t)
            break;
        output.push_back(digit_char(t + (q - t) % (base - t)));
        q = (q - t) / (base - t);
    }
    output.push_back(digit_char(q));
}

} // namespace

std::optional<std::string> punycode_encode(std::string_view utf8_label) {
    const auto input = decode_utf8(utf8_label);
    if (!input)
        return std::nullopt;
    std::string output;
    for (char32_t c : *input)
        if (c < 0x80)
            output.push_back(static_cast<char>(c));
    const auto basic_count = static_cast<std::uint32_t>(output.size());
    if (output.size() > max_encoded_bytes)
        return std::nullopt;
    if (basic_count > 0)
        output.push_back('-');
    std::uint32_t n = initial_n;
    std::uint32_t delta = 0;
    std::uint32_t bias = initial_bias;
    constexpr std::uint32_t overflow = std::numeric_limits<std::uint32_t>::max();
    for (std::uint32_t handled = basic_count; handled < input->size();) {
        std::uint32_t next = max_code_point + 1;
        for (char32_t c : *input)
            if (c >= n && c < next)
                next = c;
        if ((next - n) > (overflow - delta) / (handled + 1))
            return std::nullopt;
        delta += (next - n) * (handled + 1);
        n = next;
        for (char32_t c : *input) {
            if (c < n && ++delta == 0)
                return std::nullopt;
            if (c != n)
                continue;
            append_delta(output, delta, bias);
            bias = adapt(delta, handled + 1, handled == basic_count);
            delta = 0;
            ++handled;
        }
        if (output.size() > max_encoded_bytes)
            return std::nullopt;
        ++delta;
        ++n;
    }
    if (output.size() > max_encoded_bytes)
        return std::nullopt;
    return output;
}

std::optional<std::string> to_a_label(std::string_view utf8_label) {
    const bool ascii = std::all_of(utf8_label.begin(), utf8_label.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (ascii)
        return std::string(utf8_label);
    auto encoded = punycode_encode(utf8_label);
    if (!encoded)
        return std::nullopt;
    return "xn--" + *encoded;
}

} // namespace mailwarden::auth
