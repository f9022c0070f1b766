// Parsers for the scalar value kinds shared by the configuration and anything else that reads
// operator-written numbers: booleans, integers, durations ("30s", "5m") and sizes ("10M").
// Every parser returns std::nullopt on malformed or overflowing input; none of them throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::util {

// Leading and trailing spaces, tabs, CR and LF removed.
std::string_view trim(std::string_view text);

// Splits on any run of spaces, tabs or commas; empty items are dropped.
std::vector<std::string_view> split_words(std::string_view text);

// yes/no, true/false, on/off, 1/0 (case-insensitive).
std::optional<bool> parse_bool(std::string_view text);

// Optional sign, decimal digits only; nullopt on overflow of long long.
std::optional<long long> parse_int(std::string_view text);

// Unsigned decimal digits only; nullopt on overflow of std::uint64_t.
std::optional<std::uint64_t> parse_uint(std::string_view text);

// NUMBER[UNIT], UNIT one of ms, s, m, h, d, w; no unit means seconds. Overflow is rejected.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);

// NUMBER[UNIT], UNIT one of k, M, G, T (binary multiples, case-insensitive, optional trailing
// "B"/"iB"); no unit means bytes. Overflow is rejected.
std::optional<std::uint64_t> parse_size(std::string_view text);

// Canonical forms using the largest unit that divides the value exactly; parse_* reads them back.
std::string format_duration(std::chrono::milliseconds duration);
std::string format_size(std::uint64_t bytes);
std::string format_bool(bool value);

} // namespace mailwarden::util
