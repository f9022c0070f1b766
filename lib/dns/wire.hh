// DNS wire-format helpers shared by the resolver (decoding record data) and the test
// responder (encoding answers). Decoders check every length against the buffer and return
// std::nullopt with a reason instead of reading past it; text they produce is escaped
// presentation format (\DDD for bytes outside printable ASCII), safe for logs.
#pragma once

#include "dns/resolver.hh"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailwarden::dns {

// Printable ASCII passes; anything else becomes \DDD. Truncated to `max_length` input bytes.
std::string escape_for_log(std::string_view text, std::size_t max_length = 200);

// Reads an uncompressed wire name at `offset` (advanced past it). No trailing dot; "." = root.
std::optional<std::string> decode_name(const unsigned char* data, std::size_t size,
                                       std::size_t& offset);

// One record's RDATA as a Record; TXT/SPF strings are joined without separator (RFC 7208 3.3).
std::optional<Record> decode_rdata(RrType type, const unsigned char* data, std::size_t size,
                                   std::string& why);

// The negative-caching TTL of a whole reply packet (RFC 2308 section 5): for the first SOA
// record of its authority section, the lower of that record's TTL and its MINIMUM field.
// std::nullopt when there is none or the packet is malformed (names may be compressed).
std::optional<std::uint32_t> negative_ttl(const unsigned char* packet, std::size_t size);

// Appends `name` (dotted text, no trailing dot needed) in uncompressed wire format.
// Returns false when a label is empty or longer than 63 bytes or the name exceeds 255 bytes.
bool encode_name(std::string_view name, std::string& out);
void put_u16(std::string& out, std::uint16_t value);
void put_u32(std::string& out, std::uint32_t value);

} // namespace mailwarden::dns
