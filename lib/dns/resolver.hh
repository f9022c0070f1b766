// Resolver: the one DNS interface every mailwarden module uses (SPF, DKIM, DMARC, reverse
// lookups). Results are values: NXDOMAIN, NODATA, SERVFAIL and timeout stay distinct so each
// caller can map them to its own failure action (on_dns_error). Implementations are shared
// between threads; make_unbound_resolver() is the production one (parameters dns_servers,
// dns_timeout, dnssec), FakeResolver (fake_resolver.hh) answers from a zone in memory.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::dns {

enum class RrType : std::uint16_t {
    a = 1,
    ns = 2,
    cname = 5,
    soa = 6,
    ptr = 12,
    mx = 15,
    txt = 16,
    aaaa = 28,
    spf = 99
};

enum class Status { ok, nxdomain, nodata, servfail, timeout, error };

std::string_view status_name(Status);
// "A", "TXT"...; "TYPE<n>" for values outside the enum.
std::string rr_type_name(RrType);

struct Record {
    std::string text; // A/AAAA: presentation address; TXT/SPF: the character-strings joined;
                      // MX/PTR/CNAME/NS: name without trailing dot
    std::uint16_t preference = 0; // MX only
};

struct Answer {
    Status status = Status::error;
    std::vector<Record> records;
    std::chrono::seconds ttl{0}; // of the records; 0 for every status but ok
    bool secure = false;         // DNSSEC-validated
    std::string error_text;      // why, for logs (never attacker text unescaped)
};

class Resolver {
public:
    virtual ~Resolver() = default;
    // Blocking; never takes longer than the configured timeout.
    virtual Answer query(std::string_view name, RrType type) = 0;
    // `done` is called exactly once, from a resolver thread.
    virtual void query_async(std::string_view name, RrType type,
                             std::function<void(Answer)> done) = 0;
};

struct UnboundOptions {
    std::vector<std::string> servers; // "ADDR" or "ADDR@PORT"; empty = system resolv.conf
    std::chrono::milliseconds timeout{5000};
    bool dnssec = false;
    std::string trust_anchor_file = "/usr/share/dns/root.key";
    // libunbound answers names in special-use and documentation zones (test., 192.0.2.0/24
    // reverse, 2001:db8::/32 reverse, RFC 1918 reverse...) NXDOMAIN itself. true: ask the
    // servers instead, as test setups (and forwarders that serve private reverse zones) need.
    bool forward_documentation_zones = false;
};

// Throws std::runtime_error with a clear message on bad options.
std::unique_ptr<Resolver> make_unbound_resolver(const UnboundOptions& options);

} // namespace mailwarden::dns
