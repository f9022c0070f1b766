// Random SPF worlds for the differential test against pyspf (test-spf-differential.cc): one
// zone (lib/dns/zone_file.hh format) holding a fixed set of hosts, reverse names and macro
// targets, plus for each case a domain cN.spf.test with its generated record, the records
// it includes or redirects to, its exp= texts, addresses and MX names; and the cases
// (client address, HELO name, MAIL FROM; an empty MAIL FROM is a HELO-identity check).
//
// The records use every mechanism (with and without qualifiers, domain-specs and CIDR
// lengths, 0 included), redirect= and exp= (anywhere in the record, sometimes in capitals),
// unknown modifiers, macros of every letter with digits, "r" or "R" and delimiters,
// include and redirect chains up to 12 deep, many DNS-querying terms, void lookups, DNS
// errors (SERVFAIL), more than 10 MX names, and now and then a syntax error. The same seed
// gives the same world.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace mailwarden::test {

struct SpfGeneratedCase {
    std::string id; // "cN"
    std::string client_ip;
    std::string helo;
    std::string mail_from; // "" = the HELO identity
};

struct SpfGeneratedWorld {
    std::string zone_text;
    std::vector<SpfGeneratedCase> cases;
};

SpfGeneratedWorld generate_spf_world(std::uint32_t seed, std::size_t cases);

} // namespace mailwarden::test
