// Percent-encoding (RFC 3986 §2.1) of bytes, for URIs we read (DMARC rua/ruf) and for the
// compact texts the state store keeps (report rows). Never throws except std::bad_alloc.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailwarden::util {

// Every byte for which keep(byte) is false becomes %XX (upper-case hex).
std::string percent_encode(std::string_view raw, bool (*keep)(char));

// %XX (either case) decoded; nullopt on a '%' without two hex digits after it.
std::optional<std::string> percent_decode(std::string_view text);

} // namespace mailwarden::util
