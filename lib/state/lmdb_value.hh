// How the LMDB store keeps a value: its expiry (8 bytes, host order: the file never leaves
// this host), then the text. Shared by lmdb_store.cc and lmdb_report.cc, so that the sweep
// that removes expired entries reads every entry alike.
#pragma once

#include "state/store.hh"

#include <lmdb.h>

#include <cstring>
#include <optional>
#include <string>
#include <string_view>

namespace mailwarden::state {

inline constexpr std::size_t lmdb_expiry_bytes = sizeof(Millis);

struct LmdbStored {
    Millis expires_at = 0;
    std::string_view text;
};

inline std::optional<LmdbStored> lmdb_decode(const MDB_val& value) {
    if (value.mv_size < lmdb_expiry_bytes)
        return std::nullopt;
    LmdbStored stored;
    std::memcpy(&stored.expires_at, value.mv_data, lmdb_expiry_bytes);
    stored.text = std::string_view(static_cast<const char*>(value.mv_data) + lmdb_expiry_bytes,
                                   value.mv_size - lmdb_expiry_bytes);
    return stored;
}

inline std::string lmdb_encode(Millis expires_at, std::string_view text) {
    std::string bytes(lmdb_expiry_bytes, '\0');
    std::memcpy(bytes.data(), &expires_at, lmdb_expiry_bytes);
    bytes += text;
    return bytes;
}

inline MDB_val lmdb_val(std::string_view bytes) {
    return {bytes.size(), const_cast<char*>(bytes.data())};
}

} // namespace mailwarden::state
