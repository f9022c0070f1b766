// See answer_cache.hh. Each shard is an LRU list with a hash index, under its own mutex; a
// name's shard is chosen by its hash, so threads asking different names rarely meet.
#include "dns/answer_cache.hh"

#include "util/lock_guarded.hh"

#include <algorithm>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace mailwarden::dns {

namespace {

using Clock = AnswerCache::Clock;

// Hash-node, list-node and Entry bookkeeping, counted against max_bytes with the data.
constexpr std::size_t entry_overhead = 160;
constexpr std::size_t max_shards = 16;

// "<type><lowercase name without trailing dot>": DNS names compare case-insensitively in
// ASCII only (RFC 4343); other bytes stay as they are.
void make_key(std::string_view name, RrType type, std::string& key) {
    if (!name.empty() && name.back() == '.')
        name.remove_suffix(1);
    key.clear();
    key.push_back(static_cast<char>(static_cast<std::uint16_t>(type) >> 8));
    key.push_back(static_cast<char>(static_cast<std::uint16_t>(type) & 0xff));
    for (const char c : name)
        key.push_back(c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c);
}

std::size_t answer_bytes(const std::string& key, const Answer& answer) {
    std::size_t bytes = entry_overhead + key.size() + answer.error_text.size();
    for (const Record& record : answer.records)
        bytes += sizeof(Record) + record.text.size();
    return bytes;
}

struct Entry {
    std::string key;
    Answer answer;
    Clock::time_point expires;
    std::size_t bytes = 0;
};

struct TransparentHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view text) const {
        return std::hash<std::string_view>{}(text);
    }
};

} // namespace

struct AnswerCache::Shard {
    struct Data {
        std::list<Entry> entries; // most recently used first
        std::unordered_map<std::string_view, std::list<Entry>::iterator, TransparentHash,
                           std::equal_to<>>
            index; // keys view Entry::key, which a list node never moves
        std::size_t bytes = 0;
        CacheStats counts;

        void erase(std::list<Entry>::iterator entry) {
            bytes -= entry->bytes;
            index.erase(std::string_view(entry->key));
            entries.erase(entry);
        }
    };
    util::LockGuarded<Data> data;
    std::size_t max_entries = 0;
    std::size_t max_bytes = 0;
};

AnswerCache::AnswerCache(const CacheOptions& options)
    : options_(options),
      // One shard for a small cache, so that its bounds hold exactly and a large answer fits;
      // more when each gets a useful share of both bounds.
      shard_count_(options.max_entries >= 64 * max_shards &&
                           options.max_bytes >= max_shards * 256 * 1024
                       ? max_shards
                       : 1),
      shards_(std::make_unique<Shard[]>(shard_count_)) {
    for (std::size_t i = 0; i < shard_count_; ++i) {
        shards_[i].max_entries = options.max_entries / shard_count_;
        shards_[i].max_bytes = options.max_bytes / shard_count_;
    }
}

AnswerCache::~AnswerCache() = default;

AnswerCache::Shard& AnswerCache::shard_of(std::string_view key) {
    return shards_[TransparentHash{}(key) % shard_count_];
}

std::chrono::seconds AnswerCache::lifetime(const Answer& answer) const {
    switch (answer.status) {
    case Status::ok:
        return std::min(answer.ttl, options_.max_ttl);
    case Status::nxdomain:
    case Status::nodata:
        return std::min(answer.ttl.count() > 0 ? answer.ttl : options_.default_negative_ttl,
                        options_.max_negative_ttl);
    case Status::servfail:
    case Status::timeout:
    case Status::error:
        break;
    }
    return std::chrono::seconds(0);
}

std::optional<Answer> AnswerCache::find(std::string_view name, RrType type, Clock::time_point now) {
    thread_local std::string key; // no allocation per lookup once it has grown
    make_key(name, type, key);
    Shard& shard = shard_of(key);
    auto data = shard.data.lock();
    const auto found = data->index.find(std::string_view(key));
    if (found == data->index.end()) {
        ++data->counts.misses;
        return std::nullopt;
    }
    const auto entry = found->second;
    if (entry->expires <= now) {
        data->erase(entry);
        ++data->counts.misses;
        return std::nullopt;
    }
    ++data->counts.hits;
    data->entries.splice(data->entries.begin(), data->entries, entry);
    Answer answer = entry->answer;
    if (answer.ttl.count() > 0) // what is left of it, rounded up
        answer.ttl = std::chrono::ceil<std::chrono::seconds>(entry->expires - now);
    return answer;
}

void AnswerCache::store(std::string_view name, RrType type, const Answer& answer,
                        Clock::time_point now) {
    const std::chrono::seconds keep = lifetime(answer);
    if (keep.count() <= 0)
        return;
    Entry entry{.key = {}, .answer = answer, .expires = now + keep, .bytes = 0};
    make_key(name, type, entry.key);
    entry.bytes = answer_bytes(entry.key, answer);
    Shard& shard = shard_of(entry.key);
    if (entry.bytes > shard.max_bytes || shard.max_entries == 0)
        return;
    auto data = shard.data.lock();
    if (const auto found = data->index.find(std::string_view(entry.key));
        found != data->index.end())
        data->erase(found->second);
    while (!data->entries.empty() && (data->entries.size() + 1 > shard.max_entries ||
                                      data->bytes + entry.bytes > shard.max_bytes)) {
        data->erase(std::prev(data->entries.end()));
        ++data->counts.evictions;
    }
    data->bytes += entry.bytes;
    data->entries.push_front(std::move(entry));
    data->index.emplace(std::string_view(data->entries.front().key), data->entries.begin());
}

CacheStats AnswerCache::stats() const {
    CacheStats total;
    for (std::size_t i = 0; i < shard_count_; ++i) {
        const auto data = shards_[i].data.read_lock();
        total.entries += data->entries.size();
        total.bytes += data->bytes;
        total.hits += data->counts.hits;
        total.misses += data->counts.misses;
        total.evictions += data->counts.evictions;
    }
    return total;
}

namespace {

class CachingResolver final : public Resolver {
public:
    CachingResolver(std::unique_ptr<Resolver> upstream, const CacheOptions& options,
                    std::function<Clock::time_point()> now)
        : cache_(std::make_shared<AnswerCache>(options)), upstream_(std::move(upstream)),
          now_(now ? std::move(now) : [] { return Clock::now(); }) {}

    Answer query(std::string_view name, RrType type) override {
        if (auto cached = cache_->find(name, type, now_()))
            return std::move(*cached);
        Answer answer = upstream_->query(name, type);
        cache_->store(name, type, answer, now_());
        return answer;
    }

    void query_async(std::string_view name, RrType type,
                     std::function<void(Answer)> done) override {
        if (auto cached = cache_->find(name, type, now_()))
            return done(std::move(*cached));
        // The callback may run after this resolver is gone (the upstream answers what is
        // outstanding when it is destroyed): it holds the cache and the clock itself.
        upstream_->query_async(name, type,
                               [cache = cache_, now = now_, key = std::string(name), type,
                                done = std::move(done)](Answer answer) {
                                   cache->store(key, type, answer, now());
                                   done(std::move(answer));
                               });
    }

private:
    std::shared_ptr<AnswerCache> cache_;
    std::unique_ptr<Resolver> upstream_;
    std::function<Clock::time_point()> now_;
};

} // namespace

std::unique_ptr<Resolver> make_caching_resolver(std::unique_ptr<Resolver> upstream,
                                                const CacheOptions& options,
                                                std::function<Clock::time_point()> now) {
    return std::make_unique<CachingResolver>(std::move(upstream), options, std::move(now));
}

} // namespace mailwarden::dns
