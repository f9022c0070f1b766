// See lmdb_report.hh.
#include "state/lmdb_report.hh"

#include "state/lmdb_value.hh"

#include <charconv>
#include <cstdio>
#include <memory>

namespace mailwarden::state {

namespace {

struct CursorClose {
    void operator()(MDB_cursor* cursor) const noexcept { mdb_cursor_close(cursor); }
};

// One transaction's view: live values (expired ones count as absent), writes with expiry.
class Entries {
public:
    Entries(MDB_txn* txn, MDB_dbi database, Millis now, const std::function<int()>& make_room)
        : txn_(txn), database_(database), now_(now), make_room_(&make_room) {}

    // The live text at key; nullopt when absent or expired. rc_ set on an LMDB error.
    std::optional<std::string> get(const std::string& key) {
        MDB_val key_val = lmdb_val(key), value{};
        const int rc = mdb_get(txn_, database_, &key_val, &value);
        if (rc != MDB_SUCCESS) {
            if (rc != MDB_NOTFOUND)
                rc_ = rc;
            return std::nullopt;
        }
        const auto stored = lmdb_decode(value);
        if (!stored || stored->expires_at <= now_)
            return std::nullopt;
        return std::string(stored->text);
    }

    std::int64_t get_number(const std::string& key) {
        const auto text = get(key);
        std::int64_t value = 0;
        if (text)
            std::from_chars(text->data(), text->data() + text->size(), value);
        return value;
    }

    void put(const std::string& key, std::string_view text, Millis expires_at) {
        if (rc_ != MDB_SUCCESS)
            return;
        MDB_val key_val = lmdb_val(key), existing{};
        const int found = mdb_get(txn_, database_, &key_val, &existing);
        if (found == MDB_NOTFOUND)
            rc_ = (*make_room_)();
        if (rc_ != MDB_SUCCESS)
            return;
        const std::string bytes = lmdb_encode(expires_at, text);
        MDB_val data = lmdb_val(bytes);
        rc_ = mdb_put(txn_, database_, &key_val, &data, 0);
    }

    void erase(const std::string& key) {
        MDB_val key_val = lmdb_val(key);
        if (const int rc = mdb_del(txn_, database_, &key_val, nullptr);
            rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
            rc_ = rc;
    }

    // Calls visit(key, text) for the live entries whose key starts with prefix, in key order,
    // until visit returns false.
    template <typename Visit> void scan(const std::string& prefix, Visit&& visit) {
        MDB_cursor* raw = nullptr;
        if (rc_ != MDB_SUCCESS || (rc_ = mdb_cursor_open(txn_, database_, &raw)) != MDB_SUCCESS)
            return;
        const std::unique_ptr<MDB_cursor, CursorClose> cursor(raw);
        MDB_val key = lmdb_val(prefix), value{};
        for (int rc = mdb_cursor_get(raw, &key, &value, MDB_SET_RANGE); rc == MDB_SUCCESS;
             rc = mdb_cursor_get(raw, &key, &value, MDB_NEXT)) {
            const std::string_view name(static_cast<const char*>(key.mv_data), key.mv_size);
            if (!name.starts_with(prefix))
                return;
            const auto stored = lmdb_decode(value);
            if (stored && stored->expires_at > now_ && !visit(name, stored->text))
                return;
        }
    }

    int rc() const { return rc_; }
    Millis now() const { return now_; }

private:
    MDB_txn* txn_;
    MDB_dbi database_;
    Millis now_;
    const std::function<int()>* make_room_;
    int rc_ = MDB_SUCCESS;
};

std::string interval_key(const std::string& redis_key, std::string_view field) {
    return redis_key + ":" + std::string(field);
}

ReportCountOutcome count(Entries& entries, const ReportCount& op,
                         const std::vector<std::string>& keys) {
    const std::string domain_hash = report_hash(op.domain);
    const std::string row_key = keys[2] + ":" + report_hash(op.row);
    const std::string domain_rows_key = interval_key(keys[0], domain_hash);
    const std::string total_key = interval_key(keys[0], "total");
    std::int64_t count = 0;
    if (const auto row = entries.get(row_key)) {
        std::from_chars(row->data(), row->data() + row->size(), count);
    } else {
        const std::int64_t domain_rows = entries.get_number(domain_rows_key);
        const std::int64_t total = entries.get_number(total_key);
        if (domain_rows >= op.max_domain_rows)
            return ReportCountOutcome::domain_full;
        if (total >= op.max_interval_rows)
            return ReportCountOutcome::interval_full;
        entries.put(domain_rows_key, std::to_string(domain_rows + 1), op.expires_at);
        entries.put(total_key, std::to_string(total + 1), op.expires_at);
    }
    entries.put(row_key, std::to_string(count + 1) + "\n" + op.row, op.expires_at);
    entries.put(interval_key(keys[1], domain_hash), op.domain + "\n" + op.policy, op.expires_at);
    return ReportCountOutcome::counted;
}

std::vector<ReportDomainEntry> domains(Entries& entries, const std::vector<std::string>& keys) {
    std::vector<std::pair<std::string, ReportDomainEntry>> found; // domain hash, entry
    entries.scan(keys[1] + ":", [&](std::string_view key, std::string_view text) {
        const std::size_t newline = text.find('\n');
        if (newline != std::string_view::npos)
            found.push_back(
                {std::string(key.substr(keys[1].size() + 1)),
                 {std::string(text.substr(0, newline)), std::string(text.substr(newline + 1)), 0}});
        return true;
    });
    std::vector<ReportDomainEntry> out;
    for (auto& [hash, entry] : found) {
        entry.rows = entries.get_number(interval_key(keys[0], hash));
        out.push_back(std::move(entry));
    }
    return out;
}

std::vector<ReportRowEntry> rows(Entries& entries, const std::vector<std::string>& keys) {
    std::vector<ReportRowEntry> out;
    entries.scan(keys[0] + ":", [&](std::string_view, std::string_view text) {
        const std::size_t newline = text.find('\n');
        std::int64_t count = 0;
        if (newline != std::string_view::npos &&
            std::from_chars(text.data(), text.data() + newline, count).ec == std::errc())
            out.push_back({std::string(text.substr(newline + 1)), count});
        return true;
    });
    return out;
}

ClaimOutcome claim(Entries& entries, const ReportClaim& op, const std::vector<std::string>& keys) {
    const std::string key = interval_key(keys[0], report_hash(op.domain));
    const auto stored = entries.get(key);
    const ClaimApplied applied = apply_claim(
        op, stored ? std::optional<std::string_view>(*stored) : std::nullopt, entries.now());
    if (applied.write && applied.write->empty())
        entries.erase(key);
    else if (applied.write)
        entries.put(key, *applied.write, op.expires_at);
    return applied.outcome;
}

FailureQueueOutcome queue(Entries& entries, const FailureQueue& op,
                          const std::vector<std::string>& keys) {
    const std::int64_t this_hour = entries.get_number(keys[1]);
    if (this_hour >= op.per_hour)
        return FailureQueueOutcome::rate_limited;
    std::int64_t queued = 0;
    entries.scan(keys[0] + ":",
                 [&](std::string_view, std::string_view) { return ++queued < op.max_queued; });
    if (queued >= op.max_queued)
        return FailureQueueOutcome::queue_full;
    constexpr Millis hour = 3'600'000;
    entries.put(keys[1], std::to_string(this_hour + 1), (entries.now() / hour + 1) * hour);
    char time[17];
    std::snprintf(time, sizeof time, "%016llx", static_cast<unsigned long long>(entries.now()));
    entries.put(keys[0] + ":" + time + report_hash(op.report), op.report, op.expires_at);
    return FailureQueueOutcome::queued;
}

std::vector<std::string> take(Entries& entries, const FailureTake& op,
                              const std::vector<std::string>& keys) {
    std::vector<std::string> names, reports;
    entries.scan(keys[0] + ":", [&](std::string_view key, std::string_view text) {
        names.emplace_back(key);
        reports.emplace_back(text);
        return static_cast<std::int64_t>(reports.size()) < op.max;
    });
    for (const std::string& name : names)
        entries.erase(name);
    return reports;
}

} // namespace

int run_report_operation(MDB_txn* txn, MDB_dbi database, const ReportOperation& operation,
                         Millis now, const std::function<int()>& make_room, Outcome& outcome) {
    Entries entries(txn, database, now, make_room);
    const std::vector<std::string> keys = report_keys(operation, now);
    ReportValue value = std::visit(
        [&](const auto& op) -> ReportValue {
            using Op = std::decay_t<decltype(op)>;
            if constexpr (std::is_same_v<Op, ReportCount>)
                return count(entries, op, keys);
            else if constexpr (std::is_same_v<Op, ReportDomains>)
                return domains(entries, keys);
            else if constexpr (std::is_same_v<Op, ReportRows>)
                return rows(entries, keys);
            else if constexpr (std::is_same_v<Op, ReportClaim>)
                return claim(entries, op, keys);
            else if constexpr (std::is_same_v<Op, FailureQueue>)
                return queue(entries, op, keys);
            else
                return take(entries, op, keys);
        },
        operation.operation);
    outcome = ReportOutcome{std::move(value)};
    return entries.rc();
}

} // namespace mailwarden::state
