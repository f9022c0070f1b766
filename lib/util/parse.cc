// Scalar value parsers (see parse.hh). Pure functions over string_view; no allocation except in
// the format_* helpers and split_words' vector. Failure is always std::nullopt, never an exception.
#include "util/parse.hh"

#include <array>
#include <charconv>
#include <limits>

namespace mailwarden::util {

namespace {

bool is_space(char character) {
    return character == ' ' || character == '\t' || character == '\r' || character == '\n';
}

char lower(char character) {
    return (character >= 'A' && character <= 'Z') ? static_cast<char>(character - 'A' + 'a')
                                                  : character;
}

bool iequals(std::string_view left, std::string_view right) {
    if (left.size() != right.size())
        return false;
    for (std::size_t i = 0; i < left.size(); ++i) {
        if (lower(left[i]) != lower(right[i]))
            return false;
    }
    return true;
}

// Splits "30s" into ("30", "s"): the leading run of digits and the rest.
std::pair<std::string_view, std::string_view> split_number_unit(std::string_view text) {
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9')
        ++digits;
    return {text.substr(0, digits), text.substr(digits)};
}

std::optional<std::uint64_t> checked_multiply(std::uint64_t value, std::uint64_t factor) {
    if (factor != 0 && value > std::numeric_limits<std::uint64_t>::max() / factor)
        return std::nullopt;
    return value * factor;
}

struct Unit {
    std::string_view suffix;
    std::uint64_t factor;
};

constexpr std::array<Unit, 7> duration_units{{{"ms", 1},
                                              {"s", 1000},
                                              {"m", 60'000},
                                              {"h", 3'600'000},
                                              {"d", 86'400'000},
                                              {"w", 604'800'000},
                                              {"", 1000}}};

constexpr std::array<Unit, 5> size_units{
    {{"", 1}, {"k", 1ULL << 10}, {"m", 1ULL << 20}, {"g", 1ULL << 30}, {"t", 1ULL << 40}}};

} // namespace

std::string_view trim(std::string_view text) {
    while (!text.empty() && is_space(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && is_space(text.back()))
        text.remove_suffix(1);
    return text;
}

std::vector<std::string_view> split_words(std::string_view text) {
    std::vector<std::string_view> words;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= text.size(); ++i) {
        if (i == text.size() || is_space(text[i]) || text[i] == ',') {
            if (i > start)
                words.push_back(text.substr(start, i - start));
            start = i + 1;
        }
    }
    return words;
}

std::optional<bool> parse_bool(std::string_view text) {
    for (std::string_view yes : {"yes", "true", "on", "1"}) {
        if (iequals(text, yes))
            return true;
    }
    for (std::string_view no : {"no", "false", "off", "0"}) {
        if (iequals(text, no))
            return false;
    }
    return std::nullopt;
}

std::optional<long long> parse_int(std::string_view text) {
    if (!text.empty() && text.front() == '+') {
        text.remove_prefix(1);
        if (!text.empty() && text.front() == '-')
            return std::nullopt;
    }
    long long value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc{} || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

std::optional<std::uint64_t> parse_uint(std::string_view text) {
    std::uint64_t value = 0;
    if (text.empty() || text.front() < '0' || text.front() > '9')
        return std::nullopt;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc{} || end != text.data() + text.size())
        return std::nullopt;
    return value;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    auto [number, unit] = split_number_unit(text);
    auto value = parse_uint(number);
    if (!value)
        return std::nullopt;
    for (const Unit& candidate : duration_units) {
        if (unit != candidate.suffix)
            continue;
        auto millis = checked_multiply(*value, candidate.factor);
        if (!millis || *millis > static_cast<std::uint64_t>(std::numeric_limits<long long>::max()))
            return std::nullopt;
        return std::chrono::milliseconds(static_cast<long long>(*millis));
    }
    return std::nullopt;
}

std::optional<std::uint64_t> parse_size(std::string_view text) {
    auto [number, unit] = split_number_unit(text);
    auto value = parse_uint(number);
    if (!value)
        return std::nullopt;
    // "10M", "10MB" and "10MiB" all mean 10 * 2^20; a lone "B" means bytes.
    if (unit.size() >= 2 && iequals(unit.substr(unit.size() - 2), "ib"))
        unit.remove_suffix(2);
    else if (!unit.empty() && lower(unit.back()) == 'b')
        unit.remove_suffix(1);
    for (const Unit& candidate : size_units) {
        if (iequals(unit, candidate.suffix))
            return checked_multiply(*value, candidate.factor);
    }
    return std::nullopt;
}

std::string format_duration(std::chrono::milliseconds duration) {
    const auto millis = static_cast<std::uint64_t>(duration.count());
    if (millis == 0)
        return "0s";
    for (auto unit = duration_units.rbegin() + 1; unit != duration_units.rend(); ++unit) {
        if (millis % unit->factor == 0)
            return std::to_string(millis / unit->factor) + std::string(unit->suffix);
    }
    return std::to_string(millis) + "ms";
}

std::string format_size(std::uint64_t bytes) {
    static constexpr std::array<std::string_view, 5> suffixes{"", "k", "M", "G", "T"};
    for (std::size_t index = size_units.size() - 1; index > 0; --index) {
        if (bytes != 0 && bytes % size_units[index].factor == 0)
            return std::to_string(bytes / size_units[index].factor) + std::string(suffixes[index]);
    }
    return std::to_string(bytes);
}

std::string format_bool(bool value) {
    return value ? "yes" : "no";
}

} // namespace mailwarden::util
