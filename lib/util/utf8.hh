// UTF-8 well-formedness (Unicode standard, table 3-7: no overlong forms, no surrogates,
// nothing above U+10FFFF), shared by every place that passes attacker text on: log escaping,
// JSON output, From header parsing.
#pragma once

#include <cstddef>
#include <string_view>

namespace mailwarden::util {

// Length of the valid multibyte UTF-8 sequence starting at text[0] (2 to 4), or 0 if the
// bytes there are not one: ASCII, bad lead byte, missing or wrong continuation, overlong,
// surrogate, > U+10FFFF.
std::size_t utf8_sequence_length(std::string_view text);

// Every byte belongs to ASCII or a valid multibyte sequence.
bool valid_utf8(std::string_view text);

} // namespace mailwarden::util
