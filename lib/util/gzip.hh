// gzip (RFC 1952) of a buffer held in memory, with zlib: DMARC aggregate reports are sent
// compressed (RFC 9990 §3.1.1). Never throws except std::bad_alloc; "" only if zlib fails,
// which for an in-memory deflate means no memory.
#pragma once

#include <string>
#include <string_view>

namespace mailwarden::util {

std::string gzip_compress(std::string_view data);
// For tests and `mailwarden dmarc report`: the data back; nullopt-like "" plus false when
// the input is not a complete gzip stream or would exceed max_bytes.
bool gzip_decompress(std::string_view data, std::string& out, std::size_t max_bytes);

} // namespace mailwarden::util
