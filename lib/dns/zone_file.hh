// Zone: DNS records for tests, parsed from a small zone-file format, and the lookup rule that
// both the test responder (tests/dns/mw-testdnsd) and FakeResolver answer with. Test data only:
// it is never fed attacker input, but it parses strictly and names the line of every error.
//
// Format: one record per line
//     NAME [TTL] [IN] TYPE RDATA
// - `;` or `#` starts a comment (outside quotes); blank lines are ignored.
// - NAME is absolute, trailing dot optional, case-insensitive (stored lowercase). Written
//   "quoted", a name may hold any bytes in its labels (the SPF test suite has names with
//   spaces and '%').
// - TTL is a decimal number of seconds (default 3600).
// - TYPE and RDATA:
//     A      IPv4 address            AAAA   IPv6 address
//     MX     PREFERENCE NAME ("." is a null MX, RFC 7505)     PTR / CNAME / NS   NAME
//     TXT    one or more "quoted" character-strings, each <= 255 bytes after unescaping
//            (\" \\ and \DDD decimal escapes; \X for any other X means X)
//     SPF    same as TXT, type 99
//     SOA    MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM; the responder puts the SOA
//            closest above a name into the authority section of its negative answers
//            (RFC 2308), which gives them their negative TTL
// - Test directives, written as a TYPE without RDATA:
//     TIMEOUT   queries for NAME whose type has no records get no answer at all
//     SERVFAIL  every query for NAME gets rcode SERVFAIL
// Lookup: unknown name -> nxdomain; known name (or an empty non-terminal above one) without
// records of the type -> nodata; CNAMEs are followed inside the zone (up to 8 hops).
#pragma once

#include "dns/resolver.hh"

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::dns {

struct ZoneRecord {
    std::string owner; // lowercase, no trailing dot
    RrType type = RrType::a;
    std::uint32_t ttl = 3600;
    std::string text;                 // A/AAAA address; MX/PTR/CNAME/NS target (no trailing dot)
    std::uint16_t preference = 0;     // MX only
    std::vector<std::string> strings; // TXT/SPF character-strings, unescaped; SOA: RNAME
    std::array<std::uint32_t, 5> soa_values{}; // SERIAL REFRESH RETRY EXPIRE MINIMUM
    // The record's data as dns::Record::text holds it (SOA: "MNAME RNAME SERIAL ... MINIMUM").
    std::string presentation() const;
};

struct ZoneAnswer {
    Status status = Status::nxdomain;       // ok, nxdomain, nodata, servfail or timeout
    std::vector<const ZoneRecord*> records; // CNAME chain first, then the records of the type
    const ZoneRecord* soa = nullptr;        // nxdomain and nodata: the SOA closest above, if any
    // nxdomain and nodata: the negative TTL of the soa (RFC 2308), 0 without one.
    std::uint32_t negative_ttl() const;
};

// Lowercase, trailing dot removed; std::nullopt when not a valid domain name (with any_bytes,
// labels may hold any bytes; only the label and name lengths are checked).
std::optional<std::string> canonical_name(std::string_view name, bool any_bytes = false);

// Writing the format: one character-string, quoted, with \DDD for '"', '\\', control and
// non-ASCII bytes (any bytes round-trip through Zone::add).
std::string zone_quoted(std::string_view bytes);
// "OWNER TXT "..." ..." and a newline: `text` in character-strings of at most 255 bytes
// (an empty text is one empty string).
std::string zone_txt_line(std::string_view owner, std::string_view text);

class Zone {
public:
    // Adds the records of `text`. On the first malformed line returns "SOURCE:LINE: why" and
    // adds nothing.
    std::optional<std::string> add(std::string_view text, std::string_view source);
    // Reads and adds a file; errors as for add(), or "PATH: cannot read".
    std::optional<std::string> add_file(const std::string& path);

    ZoneAnswer lookup(std::string_view name, RrType type) const;
    const std::vector<ZoneRecord>& records() const { return records_; }

private:
    bool name_exists(const std::string& name) const;
    const ZoneRecord* closest_soa(std::string name) const;

    std::vector<ZoneRecord> records_;
    std::multimap<std::string, std::size_t> by_owner_; // owner -> index in records_
    std::set<std::string> timeout_names_;
    std::set<std::string> servfail_names_;
};

} // namespace mailwarden::dns
