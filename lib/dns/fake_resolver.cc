// FakeResolver: answers from a Zone in memory; see fake_resolver.hh. Never blocks.
#include "dns/fake_resolver.hh"

#include <stdexcept>

namespace mailwarden::dns {

FakeResolver FakeResolver::from_text(std::string_view zone_text) {
    Zone zone;
    if (auto error = zone.add(zone_text, "zone"))
        throw std::runtime_error(*error);
    return FakeResolver(std::move(zone));
}

FakeResolver::FakeResolver(FakeResolver&& other) noexcept
    : zone_(std::move(other.zone_)), total_queries_(other.total_queries_.load()) {
    std::lock_guard lock(other.counts_mutex_);
    queries_by_name_ = std::move(other.queries_by_name_);
}

std::size_t FakeResolver::query_count(std::string_view name) const {
    auto canonical = canonical_name(name, true);
    std::lock_guard lock(counts_mutex_);
    auto found = queries_by_name_.find(canonical.value_or(std::string(name)));
    return found == queries_by_name_.end() ? 0 : found->second;
}

Answer FakeResolver::query(std::string_view name, RrType type) {
    ++total_queries_;
    {
        std::lock_guard lock(counts_mutex_);
        ++queries_by_name_[canonical_name(name, true).value_or(std::string(name))];
    }
    Answer answer;
    ZoneAnswer found = zone_.lookup(name, type);
    answer.status = found.status;
    if (found.status != Status::ok) {
        answer.error_text = std::string(status_name(found.status)) + " (fake zone)";
        answer.ttl = std::chrono::seconds(found.negative_ttl());
        return answer;
    }
    std::uint32_t ttl = UINT32_MAX;
    for (const ZoneRecord* record : found.records) {
        ttl = std::min(ttl, record->ttl);
        if (record->type != type)
            continue; // the CNAME chain: callers see the final records, as from libunbound
        answer.records.push_back({record->presentation(), record->preference});
    }
    answer.ttl = std::chrono::seconds(ttl);
    return answer;
}

void FakeResolver::query_async(std::string_view name, RrType type,
                               std::function<void(Answer)> done) {
    done(query(name, type));
}

} // namespace mailwarden::dns
