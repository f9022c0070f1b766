// AnswerCache and the caching Resolver: DNS answers kept in the process, in front of
// libunbound, so that an answer we already have costs a hash lookup under one shard's lock -
// no thread hop, no syscall - where going through libunbound costs two (our event thread and
// its own) and a handful of syscalls per lookup.
// What is kept: ok answers for their records' TTL (TTL 0: not kept); NXDOMAIN and NODATA for
// their negative TTL (RFC 2308: the SOA's TTL and MINIMUM, lower of the two, as the reply
// carries it), or default_negative_ttl when the reply has no SOA; both capped. SERVFAIL,
// timeouts and errors are never kept: they are our trouble or a passing one (on_dns_error
// answers them with a 4xx), and keeping one would extend an outage past its end; libunbound
// already remembers failing servers itself, which bounds what a burst of them costs upstream.
// Bounds: max_entries and max_bytes (estimated size of names, records and bookkeeping), both
// hard; the least recently used answers go first. Parameters: dns_cache_size,
// dns_cache_entries. Thread-safe; never throws after construction except std::bad_alloc.
#pragma once

#include "dns/resolver.hh"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

namespace mailwarden::dns {

struct CacheStats {
    std::size_t entries = 0;
    std::size_t bytes = 0;
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t evictions = 0; // for room, not for expiry
};

class AnswerCache {
public:
    using Clock = std::chrono::steady_clock;

    explicit AnswerCache(const CacheOptions& options);
    ~AnswerCache();
    AnswerCache(const AnswerCache&) = delete;
    AnswerCache& operator=(const AnswerCache&) = delete;

    // The answer kept for name (case-insensitive, trailing dot optional) and type, its ttl the
    // time left; nullopt when none is kept or it expired at `now`.
    std::optional<Answer> find(std::string_view name, RrType type, Clock::time_point now);
    // Keeps answer if its status and TTL allow (see above); replaces what was kept.
    void store(std::string_view name, RrType type, const Answer& answer, Clock::time_point now);
    CacheStats stats() const;

    // How long an answer is kept; zero for one that is not.
    std::chrono::seconds lifetime(const Answer& answer) const;

private:
    struct Shard;
    Shard& shard_of(std::string_view key);

    CacheOptions options_;
    std::size_t shard_count_;
    std::unique_ptr<Shard[]> shards_;
};

// A Resolver answering from an AnswerCache when it can and from `upstream` otherwise (whose
// answers it keeps). A cached answer is returned on the caller's thread: query_async then calls
// `done` before returning. `now` is the clock (tests pass their own).
std::unique_ptr<Resolver>
make_caching_resolver(std::unique_ptr<Resolver> upstream, const CacheOptions& options,
                      std::function<AnswerCache::Clock::time_point()> now = nullptr);

} // namespace mailwarden::dns
