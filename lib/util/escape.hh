// Escaping of attacker-controlled text (hostnames, addresses, header values, Redis and
// DNS error strings) for one syslog line. Output is printable ASCII plus valid UTF-8 that
// is not a control character; it never contains CR, LF or NUL, and it is never longer than
// the given bound. Never fails: any byte sequence has an escaped form.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailwarden::util {

// Default bound for one logged value, in output bytes (Postfix logs such text as %.100s to
// %.300s).
inline constexpr std::size_t default_log_value_bytes = 256;

// Escapes attacker-controlled text for one log line and truncates it to at most max_bytes of
// output.
//   - valid UTF-8 multibyte sequences (U+00A0 and up) are kept as they are;
//   - backslash becomes \\, CR, LF and TAB become \r \n \t;
//   - other C0 controls, DEL, C1 controls (each of their UTF-8 bytes), invalid bytes,
//     overlong forms, surrogates and code points above U+10FFFF become \xNN (lower case).
// Truncation drops whole escape units (never half a UTF-8 sequence or half of \xNN) and
// ends the output with "..."; a max_bytes below 3 yields only dots.
std::string escape_log_value(std::string_view raw, std::size_t max_bytes = 256);

// As escape_log_value, but a double quote also becomes \" so the result can sit inside
// "..." in a key=value record.
std::string escape_log_value_quotable(std::string_view raw,
                                      std::size_t max_bytes = default_log_value_bytes);

} // namespace mailwarden::util
