// DMARC Policy Record discovery and Organizational Domains by the DNS Tree Walk (RFC 9989
// §4.10), on our dns::Resolver. DmarcLookups is one message's view of the _dmarc names: each
// name is asked once per message, whatever number of walks (author domain, SPF domain, each
// DKIM d=) pass through it, and the answers are counted for tests and logs.
//
// Decisions (RFC 9989 §4.10 unless said otherwise):
//   - Walk targets: the start name, then one label less at a time; a name of 8 or more
//     labels jumps to its last 7 after the first query. At most 8 queries per walk
//     (max_tree_walk_queries), whatever the name.
//   - At each name, TXT strings not starting with v=DMARC1 are discarded; several DMARC
//     records at one name are all discarded (noted, the walk goes on); a single record with
//     psd=y or psd=n ends the walk.
//   - NXDOMAIN and NODATA are "no record"; a timeout, SERVFAIL or other DNS trouble at any
//     name makes the walk's answer unknown (dns_error): the caller reports temperror rather
//     than guess past the name it could not read (§5.3.6).
//   - Organizational Domain (§4.10.2), over the records found, longest name first: psd=n
//     there; else psd=y at a name other than the start: the name one label below it; else
//     the record with the fewest labels; with no record, the start name itself.
//   - Domain names are compared and queried lower-cased, without a trailing dot.
//
// Thread-safety: a DmarcLookups belongs to one evaluation; the functions are pure.
#pragma once

#include "auth/dmarc_record.hh"
#include "dns/resolver.hh"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::auth {

inline constexpr std::size_t max_tree_walk_queries = 8;
inline constexpr std::size_t max_tree_walk_labels = 7; // what a long name is cut to

// What one _dmarc.<name> TXT lookup found.
struct DmarcLookup {
    enum class Status { record, none, several, dns_error } status = Status::none;
    std::string text;                  // the record, when status is record
    std::optional<DmarcRecord> record; // parsed, when status is record
    std::string error;                 // dns_error: "dns timeout", "dns error"
};

class DmarcLookups {
public:
    explicit DmarcLookups(dns::Resolver& resolver) : resolver_(&resolver) {}
    // _dmarc.<domain>, asked once per DmarcLookups.
    const DmarcLookup& at(const std::string& domain);
    // RFC 9989 §3.2.13 (RFC 8020): false when the name is NXDOMAIN, true when it answers;
    // nullopt on DNS trouble. One query (type A), asked once.
    std::optional<bool> domain_exists(const std::string& domain);
    // DNS queries sent so far.
    std::size_t queries() const { return queries_; }

private:
    dns::Resolver* resolver_;
    std::map<std::string, DmarcLookup, std::less<>> cache_;
    std::map<std::string, std::optional<bool>, std::less<>> existence_;
    std::size_t queries_ = 0;
};

struct WalkRecord {
    std::string domain;
    const DmarcLookup* lookup; // status record; owned by the DmarcLookups
};

struct TreeWalk {
    std::vector<WalkRecord> records; // as found, longest name first
    bool dns_error = false;          // some name could not be read: the walk is not complete
    std::string error;               // why, for the A-R reason and the report
    std::string failed_name;         // the name whose _dmarc lookup failed
    std::vector<std::string> notes;  // e.g. "several records at _dmarc.example.com"
};

// The names a walk from `domain` queries, in order (at most max_tree_walk_queries).
std::vector<std::string> tree_walk_targets(std::string_view domain);

// The walk from `domain` (lower-cased, no trailing dot), stopping at a psd=y/psd=n record.
TreeWalk tree_walk(DmarcLookups& lookups, const std::string& domain);

// §4.10.2 over a walk from `start`.
std::string organizational_domain(const TreeWalk& walk, std::string_view start);

// How many labels a domain name has ("a.b.example" → 3; "" → 0).
std::size_t label_count(std::string_view domain);

} // namespace mailwarden::auth
