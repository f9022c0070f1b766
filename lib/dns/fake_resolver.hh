// FakeResolver: a Resolver answering from a Zone in memory, for fast unit tests of modules
// that do DNS (SPF, DKIM, DMARC). Same lookup rule as the test responder (Zone::lookup);
// TIMEOUT names answer Status::timeout at once, without waiting. Counts queries per name so
// tests can assert how many lookups a module made. Thread-safe.
#pragma once

#include "dns/zone_file.hh"

#include <atomic>
#include <map>
#include <mutex>
#include <string>

namespace mailwarden::dns {

class FakeResolver final : public Resolver {
public:
    explicit FakeResolver(Zone zone) : zone_(std::move(zone)) {}
    // Parses zone text; throws std::runtime_error with "SOURCE:LINE: why" on a bad line.
    static FakeResolver from_text(std::string_view zone_text);

    FakeResolver(FakeResolver&& other) noexcept;
    FakeResolver(const FakeResolver&) = delete;
    FakeResolver& operator=(const FakeResolver&) = delete;

    Answer query(std::string_view name, RrType type) override;
    // Calls `done` on the caller's thread before returning.
    void query_async(std::string_view name, RrType type, std::function<void(Answer)> done) override;

    std::size_t query_count() const { return total_queries_; }
    std::size_t query_count(std::string_view name) const;

private:
    Zone zone_;
    std::atomic<std::size_t> total_queries_{0};
    mutable std::mutex counts_mutex_;
    std::map<std::string, std::size_t> queries_by_name_; // guarded by counts_mutex_
};

} // namespace mailwarden::dns
