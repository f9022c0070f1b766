// See lmdb_store.hh.
#include "state/lmdb_store.hh"

#include "state/lmdb_file.hh"
#include "state/lmdb_report.hh"
#include "state/lmdb_value.hh"
#include "state/rules.hh"
#include "util/log.hh"

#include <algorithm>
#include <cstring>
#include <queue>
#include <utility>

namespace mailwarden::state {

namespace {

constexpr std::size_t bytes_per_entry = 1024; // the entry budget: far above an entry's size
constexpr std::size_t room_fraction = 64;     // one room-making pass frees 1/64 of the limit
constexpr std::chrono::seconds full_warning_interval{60};

const auto decode = lmdb_decode;
const auto encode = lmdb_encode;
const auto val_of = lmdb_val;

std::string lmdb_error(const std::string& what, int code) {
    return what + ": " + mdb_strerror(code);
}

unsigned int sync_flags(LmdbSync sync) {
    switch (sync) {
    case LmdbSync::none:
        return MDB_NOSYNC;
    case LmdbSync::data:
        return MDB_NOMETASYNC;
    case LmdbSync::full:
        return 0;
    }
    return MDB_NOSYNC;
}

struct TxnAbort {
    void operator()(MDB_txn* txn) const noexcept { mdb_txn_abort(txn); }
};
using Txn = std::unique_ptr<MDB_txn, TxnAbort>;

struct CursorClose {
    void operator()(MDB_cursor* cursor) const noexcept { mdb_cursor_close(cursor); }
};
using Cursor = std::unique_ptr<MDB_cursor, CursorClose>;

// Commits and releases; the Txn no longer owns it either way (LMDB frees it).
int commit(Txn& txn) {
    return mdb_txn_commit(txn.release());
}

int begin(const lmdb::OpenFile& file, Txn& txn) {
    MDB_txn* raw = nullptr;
    const int rc = mdb_txn_begin(file.env.get(), nullptr, 0, &raw);
    txn.reset(raw);
    return rc;
}

// Removes up to `limit` expired entries starting at `from` ("" = the first key); returns the
// key to start from next time ("" after the last key) and adds the count to *removed.
int sweep_some(MDB_txn* txn, MDB_dbi database, std::string& from, std::size_t limit, Millis now,
               std::size_t* removed) {
    MDB_cursor* raw = nullptr;
    if (const int rc = mdb_cursor_open(txn, database, &raw); rc != MDB_SUCCESS)
        return rc;
    const Cursor cursor(raw);
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

struct Room {
    std::size_t expired = 0;
    std::size_t evicted = 0;
};

// One pass over the file: removes every expired entry and, when fewer than `target` went, the
// live entries nearest their end until `target` went.
int make_room_pass(MDB_txn* txn, MDB_dbi database, Millis now, std::size_t target, Room& room) {
    MDB_cursor* raw = nullptr;
    if (const int rc = mdb_cursor_open(txn, database, &raw); rc != MDB_SUCCESS)
        return rc;
    const Cursor cursor(raw);
    std::priority_queue<std::pair<Millis, std::string>> nearest; // top: the latest of them
    MDB_val key{}, value{};
    int rc = mdb_cursor_get(raw, &key, &value, MDB_FIRST);
    while (rc == MDB_SUCCESS) {
        const auto stored = decode(value);
        if (!stored || stored->expires_at <= now) {
            if (const int del = mdb_cursor_del(raw, 0); del != MDB_SUCCESS)
                return del;
            ++room.expired;
        } else if (nearest.size() < target || stored->expires_at < nearest.top().first) {
            nearest.emplace(stored->expires_at,
                            std::string(static_cast<const char*>(key.mv_data), key.mv_size));
            if (nearest.size() > target)
                nearest.pop();
        }
        rc = mdb_cursor_get(raw, &key, &value, MDB_NEXT);
    }
    if (rc != MDB_NOTFOUND)
        return rc;
    while (!nearest.empty() && room.expired + nearest.size() > target)
        nearest.pop();
    for (; !nearest.empty(); nearest.pop()) {
        MDB_val victim = val_of(nearest.top().second);
        if (const int del = mdb_del(txn, database, &victim, nullptr); del != MDB_SUCCESS)
            return del;
        ++room.evicted;
    }
    return MDB_SUCCESS;
}

} // namespace

// What one try of a batch met: the file it ran on (null: none was usable), what the check
// before it found, and LMDB's answer.
struct LmdbStore::Attempt {
    const lmdb::OpenFile* file = nullptr;
    std::string unusable;
    lmdb::FileCheck check;
    int rc = MDB_SUCCESS;
};

LmdbStore::LmdbStore(LmdbOptions options)
    : options_(std::move(options)), full_log_(full_warning_interval) {
    const lmdb::DirectoryLock directory(options_.path);
    current_.lock()->file = open_checked();
}

LmdbStore::~LmdbStore() {
    if (const auto& file = current_.lock()->file)
        mdb_env_sync(file->env.get(), 1);
}

std::string LmdbStore::damaged_text(const std::string& why) const {
    return "state file " + options_.path + " is damaged: " + why +
           "; left as it is (the daemons move it aside and start an empty one when they next "
           "use it)";
}

void LmdbStore::move_aside_logged(const std::string& why) {
    std::string error;
    const std::string aside = lmdb::move_aside(options_.path, &error);
    util::LogRecord record(util::Severity::error);
    if (aside.empty())
        record.text("state file damaged and cannot be moved aside")
            .kv("path", options_.path)
            .kv("reason", why)
            .kv("error", error);
    else
        record.text("state file damaged: moved aside, going on with an empty one")
            .kv("path", options_.path)
            .kv("moved_to", aside)
            .kv("reason", why);
}

// Opens the file, moving it aside first when it is damaged. Call with the DirectoryLock held.
std::unique_ptr<lmdb::OpenFile> LmdbStore::open_checked() {
    int rc = MDB_SUCCESS;
    const unsigned int flags = sync_flags(options_.sync);
    auto file = lmdb::open_environment(options_.path, options_.max_size, flags, &rc);
    std::string damage = !file && lmdb::is_damage(rc) ? mdb_strerror(rc) : "";
    if (file)
        if (const auto check = lmdb::check_file(*file, options_.path);
            check.state == lmdb::FileState::damaged)
            damage = check.why;
    if (!damage.empty()) {
        if (options_.on_damage == OnDamage::refuse)
            throw StateFileDamaged(damaged_text(damage));
        file.reset();
        move_aside_logged(damage);
        file = lmdb::open_environment(options_.path, options_.max_size, flags, &rc);
    }
    if (!file || (rc = lmdb::open_database(*file)) != MDB_SUCCESS)
        throw std::runtime_error(lmdb_error("cannot open state file " + options_.path, rc));
    return file;
}

// Replaces the open file `seen` after trouble: a damaged one is moved aside (unless another
// process did that already), then PATH is opened again. False when no file is usable now.
bool LmdbStore::replace(const lmdb::OpenFile* seen, const lmdb::FileCheck& trouble) {
    auto current = current_.lock();
    if (current->file.get() != seen) // another thread did it meanwhile
        return current->file != nullptr;
    const lmdb::DirectoryLock directory(options_.path);
    if (seen != nullptr && trouble.state == lmdb::FileState::damaged) {
        if (options_.on_damage == OnDamage::refuse) {
            current->file.reset();
            current->unusable = damaged_text(trouble.why);
            return false;
        }
        if (lmdb::same_file(*seen, options_.path))
            move_aside_logged(trouble.why);
    }
    current->file.reset();
    try {
        current->file = open_checked();
        current->unusable.clear();
        return true;
    } catch (const std::exception& error) {
        current->unusable = error.what();
        return false;
    }
}

std::size_t LmdbStore::entry_limit() const {
    return std::max<std::size_t>(options_.max_size / bytes_per_entry, 16);
}

// Before a new key: below the entry limit, or made so (1/64 of the limit at a time).
int LmdbStore::make_room(const lmdb::OpenFile& file, MDB_txn* txn, Millis now) {
    const std::size_t limit = entry_limit();
    MDB_stat stat{};
    if (const int rc = mdb_stat(txn, file.database, &stat); rc != MDB_SUCCESS)
        return rc;
    if (stat.ms_entries < limit)
        return MDB_SUCCESS;
    Room room;
    const std::size_t target = std::max<std::size_t>(limit / room_fraction, 1);
    if (const int rc = make_room_pass(txn, file.database, now, target, room); rc != MDB_SUCCESS)
        return rc;
    if (room.evicted > 0)
        full_log_.warn("state-full",
                       "state file full (state_max_size): removed " + std::to_string(room.evicted) +
                           " live entries nearest their end to make room; raise state_max_size");
    return MDB_SUCCESS;
}

int LmdbStore::run_transaction(const lmdb::OpenFile& file, std::span<const Operation> operations,
                               Millis now, std::vector<Outcome>& outcomes) {
    Txn txn;
    if (const int rc = begin(file, txn); rc != MDB_SUCCESS)
        return rc;
    MDB_txn* raw = txn.get();
    outcomes.clear();
    for (const Operation& operation : operations) {
        if (const auto* report = std::get_if<ReportOperation>(&operation)) {
            Outcome outcome;
            const auto room = [&] { return make_room(file, raw, now); };
            if (const int rc =
                    run_report_operation(raw, file.database, *report, now, room, outcome);
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
        const int got = mdb_get(raw, file.database, &key_val, &value);
        if (got == MDB_SUCCESS) {
            if (const auto stored = decode(value); stored && stored->expires_at > now)
                current = stored->text;
        } else if (got != MDB_NOTFOUND) {
            return got;
        }
        Applied applied = apply(operation, current, now);
        if (applied.write == Applied::Write::put && got == MDB_NOTFOUND)
            if (const int rc = make_room(file, raw, now); rc != MDB_SUCCESS)
                return rc;
        if (applied.write == Applied::Write::put) {
            const std::string bytes = encode(applied.expires_at, applied.value);
            MDB_val data = val_of(bytes);
            if (const int rc = mdb_put(raw, file.database, &key_val, &data, 0); rc != MDB_SUCCESS)
                return rc;
        } else if (applied.write == Applied::Write::erase && got == MDB_SUCCESS) {
            if (const int rc = mdb_del(raw, file.database, &key_val, nullptr); rc != MDB_SUCCESS)
                return rc;
        }
        outcomes.push_back(std::move(applied.outcome));
    }
    std::size_t removed = 0;
    {
        auto from = sweep_from_.lock();
        if (const int rc =
                sweep_some(raw, file.database, *from, options_.sweep_per_run, now, &removed);
            rc != MDB_SUCCESS)
            return rc;
    }
    return commit(txn);
}

// Runs the batch once on the current file, after checking the file.
LmdbStore::Attempt LmdbStore::attempt(std::span<const Operation> operations, Millis now,
                                      std::vector<Outcome>& outcomes) {
    const auto current = current_.read_lock();
    Attempt attempt;
    attempt.file = current->file.get();
    attempt.unusable = current->unusable;
    if (attempt.file == nullptr)
        return attempt;
    attempt.check = lmdb::check_file(*current->file, options_.path);
    if (attempt.check.state == lmdb::FileState::usable)
        attempt.rc = run_transaction(*attempt.file, operations, now, outcomes);
    return attempt;
}

BatchResult LmdbStore::run(std::span<const Operation> operations, Millis now) {
    BatchResult result;
    auto fail = [&result](std::string error) {
        result.ok = false;
        result.error = std::move(error);
        result.outcomes.clear();
        return std::move(result);
    };
    for (int round = 0;; ++round) {
        const Attempt attempt = this->attempt(operations, now, result.outcomes);
        lmdb::FileCheck trouble = attempt.check;
        if (attempt.file == nullptr) {
            if (options_.on_damage == OnDamage::refuse || round > 0)
                return fail(attempt.unusable);
            trouble = {lmdb::FileState::replaced, attempt.unusable}; // try to open it again
        } else if (trouble.state == lmdb::FileState::usable) {
            const int rc = attempt.rc;
            if (rc == MDB_SUCCESS)
                return result;
            if (lmdb::is_damage(rc))
                trouble = {lmdb::FileState::damaged, mdb_strerror(rc)};
            else if (rc == MDB_PANIC || rc == MDB_MAP_RESIZED)
                trouble = {lmdb::FileState::replaced, mdb_strerror(rc)};
            else
                return fail(rc == MDB_MAP_FULL ? "state file full (state_max_size)"
                                               : std::string("lmdb: ") + mdb_strerror(rc));
        }
        if (round > 0)
            return fail("state file " + options_.path + ": " + trouble.why);
        if (!replace(attempt.file, trouble)) {
            const auto current = current_.read_lock();
            return fail(current->unusable);
        }
    }
}

std::size_t LmdbStore::sweep_all(Millis now) {
    const auto current = current_.read_lock();
    if (!current->file ||
        lmdb::check_file(*current->file, options_.path).state == lmdb::FileState::damaged)
        return 0;
    Txn txn;
    if (begin(*current->file, txn) != MDB_SUCCESS)
        return 0;
    std::string from;
    std::size_t removed = 0;
    if (sweep_some(txn.get(), current->file->database, from, static_cast<std::size_t>(-1), now,
                   &removed) != MDB_SUCCESS ||
        commit(txn) != MDB_SUCCESS)
        return 0;
    return removed;
}

std::size_t LmdbStore::entries() {
    const auto current = current_.read_lock();
    MDB_stat stat{};
    return current->file &&
                   lmdb::check_file(*current->file, options_.path).state !=
                       lmdb::FileState::damaged &&
                   mdb_env_stat(current->file->env.get(), &stat) == MDB_SUCCESS
               ? stat.ms_entries
               : 0;
}

} // namespace mailwarden::state
