// See lmdb_store.hh.
#include "state/lmdb_store.hh"

#include "state/lmdb_report.hh"
#include "state/lmdb_value.hh"
#include "state/rules.hh"
#include "util/lock_guarded.hh"
#include "util/log.hh"

#include <lmdb.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <stdexcept>

namespace mailwarden::state {

namespace {

constexpr std::size_t bytes_per_entry = 1024;     // the entry budget: far above an entry's size
constexpr int entry_limit_reached = MDB_MAP_FULL; // reported as "state file full"

const auto decode = lmdb_decode;
const auto encode = lmdb_encode;
const auto val_of = lmdb_val;

std::string lmdb_error(const std::string& what, int code) {
    return what + ": " + mdb_strerror(code);
}

struct TxnAbort {
    void operator()(MDB_txn* txn) const noexcept { mdb_txn_abort(txn); }
};
using Txn = std::unique_ptr<MDB_txn, TxnAbort>;

struct CursorClose {
    void operator()(MDB_cursor* cursor) const noexcept { mdb_cursor_close(cursor); }
};

// Commits and releases; the Txn no longer owns it either way (LMDB frees it).
int commit(Txn& txn) {
    return mdb_txn_commit(txn.release());
}

// Removes up to `limit` expired entries starting at `from` ("" = the first key); returns the
// key to start from next time ("" after the last key) and adds the count to *removed.
int sweep_some(MDB_txn* txn, MDB_dbi database, std::string& from, std::size_t limit, Millis now,
               std::size_t* removed) {
    MDB_cursor* raw = nullptr;
    if (const int rc = mdb_cursor_open(txn, database, &raw); rc != MDB_SUCCESS)
        return rc;
    const std::unique_ptr<MDB_cursor, CursorClose> cursor(raw);
    MDB_val key = val_of(from), value{};
    int rc = from.empty() ? mdb_cursor_get(raw, &key, &value, MDB_FIRST)
                          : mdb_cursor_get(raw, &key, &value, MDB_SET_RANGE);
    for (std::size_t seen = 0; rc == MDB_SUCCESS && seen < limit; ++seen) {
        const auto stored = decode(value);
        if (!stored || stored->expires_at <= now) {
            if (const int del = mdb_cursor_del(raw, 0); del != MDB_SUCCESS)
                return del;
            ++*removed;
            // After a delete, MDB_NEXT gives the entry that followed the deleted one.
            rc = mdb_cursor_get(raw, &key, &value, MDB_NEXT);
            continue;
        }
        rc = mdb_cursor_get(raw, &key, &value, MDB_NEXT);
    }
    if (rc == MDB_NOTFOUND) {
        from.clear();
        return MDB_SUCCESS;
    }
    if (rc == MDB_SUCCESS)
        from.assign(static_cast<const char*>(key.mv_data), key.mv_size);
    return rc;
}

} // namespace

struct LmdbStore::Sweep {
    util::LockGuarded<std::string> next_key;
};

void LmdbStore::EnvClose::operator()(MDB_env* env) const noexcept {
    mdb_env_close(env);
}

LmdbStore::LmdbStore(LmdbOptions options)
    : options_(std::move(options)), sweep_(std::make_unique<Sweep>()) {
    auto open = [this]() -> int {
        MDB_env* raw = nullptr;
        if (const int rc = mdb_env_create(&raw); rc != MDB_SUCCESS)
            return rc;
        env_.reset(raw);
        if (const int rc = mdb_env_set_mapsize(raw, options_.max_size); rc != MDB_SUCCESS)
            return rc;
        // NOSYNC: a crash of this host may lose the last seconds of counters, never more;
        // the state is soft, and an fsync per message would cost more than the checks.
        return mdb_env_open(raw, options_.path.c_str(), MDB_NOSUBDIR | MDB_NOTLS | MDB_NOSYNC,
                            0600);
    };
    int rc = open();
    if (rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_VERSION_MISMATCH) {
        // Soft state: keep the damaged file for inspection and start afresh.
        const std::string aside = options_.path + ".damaged-" +
                                  std::to_string(static_cast<long long>(std::time(nullptr)));
        env_.reset();
        if (std::rename(options_.path.c_str(), aside.c_str()) == 0) {
            util::LogRecord(util::Severity::warning)
                .text("state file unreadable, moved aside; starting with empty state")
                .kv("path", options_.path)
                .kv("moved_to", aside)
                .kv("error", mdb_strerror(rc));
            rc = open();
        }
    }
    if (rc != MDB_SUCCESS)
        throw std::runtime_error(lmdb_error("cannot open state file " + options_.path, rc));
    MDB_txn* raw = nullptr;
    if (rc = mdb_txn_begin(env_.get(), nullptr, 0, &raw); rc != MDB_SUCCESS)
        throw std::runtime_error(lmdb_error("state file " + options_.path, rc));
    Txn txn(raw);
    if (rc = mdb_dbi_open(raw, nullptr, 0, &database_);
        rc != MDB_SUCCESS || (rc = commit(txn)) != MDB_SUCCESS)
        throw std::runtime_error(lmdb_error("state file " + options_.path, rc));
}

LmdbStore::~LmdbStore() {
    if (env_)
        mdb_env_sync(env_.get(), 1);
}

// Before a new key: below the entry limit, or brought below it by removing expired entries.
int LmdbStore::make_room(MDB_txn* txn, Millis now) {
    const std::size_t limit = std::max<std::size_t>(options_.max_size / bytes_per_entry, 16);
    MDB_stat stat{};
    if (const int rc = mdb_stat(txn, database_, &stat); rc != MDB_SUCCESS)
        return rc;
    if (stat.ms_entries < limit)
        return MDB_SUCCESS;
    std::string from;
    std::size_t removed = 0;
    if (const int rc =
            sweep_some(txn, database_, from, static_cast<std::size_t>(-1), now, &removed);
        rc != MDB_SUCCESS)
        return rc;
    return removed > 0 ? MDB_SUCCESS : entry_limit_reached;
}

int LmdbStore::run_transaction(std::span<const Operation> operations, Millis now,
                               std::vector<Outcome>& outcomes) {
    MDB_txn* raw = nullptr;
    if (const int rc = mdb_txn_begin(env_.get(), nullptr, 0, &raw); rc != MDB_SUCCESS)
        return rc;
    Txn txn(raw);
    outcomes.clear();
    for (const Operation& operation : operations) {
        if (const auto* report = std::get_if<ReportOperation>(&operation)) {
            Outcome outcome;
            const auto room = [&] { return make_room(raw, now); };
            if (const int rc = run_report_operation(raw, database_, *report, now, room, outcome);
                rc != MDB_SUCCESS)
                return rc;
            outcomes.push_back(std::move(outcome));
            continue;
        }
        const std::string& key = key_of(operation);
        if (!usable_key(key)) // LMDB's default key limit is 511 bytes
            return MDB_BAD_VALSIZE;
        MDB_val key_val = val_of(key), value{};
        std::optional<std::string_view> current;
        const int got = mdb_get(raw, database_, &key_val, &value);
        if (got == MDB_SUCCESS) {
            if (const auto stored = decode(value); stored && stored->expires_at > now)
                current = stored->text;
        } else if (got != MDB_NOTFOUND) {
            return got;
        }
        Applied applied = apply(operation, current, now);
        if (applied.write == Applied::Write::put && got == MDB_NOTFOUND)
            if (const int rc = make_room(raw, now); rc != MDB_SUCCESS)
                return rc;
        if (applied.write == Applied::Write::put) {
            const std::string bytes = encode(applied.expires_at, applied.value);
            MDB_val data = val_of(bytes);
            if (const int rc = mdb_put(raw, database_, &key_val, &data, 0); rc != MDB_SUCCESS)
                return rc;
        } else if (applied.write == Applied::Write::erase && got == MDB_SUCCESS) {
            if (const int rc = mdb_del(raw, database_, &key_val, nullptr); rc != MDB_SUCCESS)
                return rc;
        }
        outcomes.push_back(std::move(applied.outcome));
    }
    std::size_t removed = 0;
    {
        auto next_key = sweep_->next_key.lock();
        if (const int rc =
                sweep_some(raw, database_, *next_key, options_.sweep_per_run, now, &removed);
            rc != MDB_SUCCESS)
            return rc;
    }
    return commit(txn);
}

BatchResult LmdbStore::run(std::span<const Operation> operations, Millis now) {
    BatchResult result;
    const int rc = run_transaction(operations, now, result.outcomes);
    if (rc != MDB_SUCCESS) {
        result.ok = false;
        result.error = rc == MDB_MAP_FULL ? "state file full (state_max_size)"
                                          : std::string("lmdb: ") + mdb_strerror(rc);
        result.outcomes.clear();
    }
    return result;
}

std::size_t LmdbStore::sweep_all(Millis now) {
    MDB_txn* raw = nullptr;
    if (mdb_txn_begin(env_.get(), nullptr, 0, &raw) != MDB_SUCCESS)
        return 0;
    Txn txn(raw);
    std::string from;
    std::size_t removed = 0;
    if (sweep_some(raw, database_, from, static_cast<std::size_t>(-1), now, &removed) !=
            MDB_SUCCESS ||
        commit(txn) != MDB_SUCCESS)
        return 0;
    return removed;
}

std::size_t LmdbStore::entries() {
    MDB_stat stat{};
    return mdb_env_stat(env_.get(), &stat) == MDB_SUCCESS ? stat.ms_entries : 0;
}

} // namespace mailwarden::state
