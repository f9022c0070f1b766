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
    // ok: of the records; nxdomain, nodata: the negative TTL of the reply's SOA (RFC 2308),
    // 0 when it had none; 0 for the other statuses.
    std::chrono::seconds ttl{0};
    bool secure = false;    // DNSSEC-validated
    std::string error_text; // why, for logs (never attacker text unescaped)
};

class Resolver {
public:
    virtual ~Resolver() = default;
    // Blocking; never takes longer than the configured timeout.
    virtual Answer query(std::string_view name, RrType type) = 0;
    // `done` is called exactly once: from a resolver thread, or on the caller's thread before
    // query_async returns (a cached answer).
    virtual void query_async(std::string_view name, RrType type,
                             std::function<void(Answer)> done) = 0;
};

// The answer cache in front of libunbound (answer_cache.hh says what it keeps).
struct CacheOptions {
    std::size_t max_entries = 100'000;
    std::size_t max_bytes = 16 * 1024 * 1024;
    std::chrono::seconds max_ttl{86'400};
    // RFC 2308 section 5 suggests one to three hours; unbound's cache-max-negative-ttl is 1 h.
    std::chrono::seconds max_negative_ttl{3'600};
    std::chrono::seconds default_negative_ttl{60}; // a negative reply without an SOA
    bool enabled() const { return max_entries > 0 && max_bytes > 0; }
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
    CacheOptions cache{}; // max_entries or max_bytes 0: libunbound's cache only
};

// Throws std::runtime_error with a clear message on bad options. Answers come from an
// AnswerCache (answer_cache.hh) when options.cache is enabled.
std::unique_ptr<Resolver> make_unbound_resolver(const UnboundOptions& options);

} // namespace mailwarden::dns
