// The embedded Store: one LMDB file (state_path) that mailwarden-milter, mailwarden-policyd and
// the admin tool on this host open together. Each run() is one write transaction, so every
// operation is atomic across threads and processes (LMDB serializes writers with a robust
// mutex in its lock file, STATE_PATH-lock).
//
// Bounded: the map has a fixed size (state_max_size) and holds at most one entry per KB of it,
// which leaves LMDB the free pages its copy-on-write needs even to delete. Values carry their
// expiry; expired ones count as absent, and each run() also removes a few expired entries (a
// sweep that walks the whole file over many calls).
//
// Full is not an outage: a new key that finds the file at its entry limit makes room. One pass
// over the file removes every expired entry and, when that frees less than 1/64 of the limit,
// the live entries nearest their end up to that much (a rate bucket closest to refilled, the
// oldest greylist or reputation record), so that the pass is paid once per many new keys. Keys
// that stay keep their exact values; a warning says so at most once per minute. The entry
// limit keeps LMDB's own MDB_MAP_FULL (pages, not entries) away even for the longest keys in
// the smallest file; should it come, the batch fails (on_state_error).
//
// Damage never crashes: before each batch the file is checked without touching its pages
// (lmdb_file.hh: shorter than its own last page, or replaced). A file that is damaged (that,
// or MDB_CORRUPTED, MDB_PAGE_NOTFOUND, MDB_INVALID, MDB_VERSION_MISMATCH at open or while
// running) is renamed STATE_PATH.damaged-YYYYMMDDTHHMMSSZ, one error names it in the log, and
// the store goes on with an empty file: the batch that met the damage runs again on it. The
// other processes that share the file follow to the new one. With OnDamage::refuse (the admin
// tool) nothing is moved: the constructor throws StateFileDamaged and run() fails.
// What remains: a file truncated by another program between our check and our read still
// raises SIGBUS (LMDB itself never shrinks the file); LMDB aborts on some inconsistencies it
// asserts against; and corruption that still looks valid gives wrong values until found.
//
// Durability (LmdbSync): see README.md, "State store". `none` (MDB_NOSYNC) lets a crash of
// the host leave a damaged file, which is then moved aside at the next start; `data`
// (MDB_NOMETASYNC) flushes each commit's pages before its meta page and may lose only the
// last commit; `full` flushes both.
//
// Timeout: a write transaction takes microseconds and the writer mutex is held only inside
// run(), so there is no wait to bound beyond another process's run(); a process that dies
// holding it releases it (robust mutex).
//
// Failure: the constructor throws std::runtime_error naming the file and LMDB's reason when
// the file cannot be opened. run() never throws.
#pragma once

#include "state/store.hh"
#include "util/lock_guarded.hh"
#include "util/rate_limited_log.hh"

#include <cstddef>
#include <memory>
#include <shared_mutex>
#include <stdexcept>
#include <string>

struct MDB_txn;

namespace mailwarden::state {

namespace lmdb {
struct OpenFile;
struct FileCheck;
} // namespace lmdb

enum class OnDamage { move_aside, refuse };
enum class LmdbSync { none, data, full };

struct LmdbOptions {
    std::string path;                        // the data file; PATH-lock beside it
    std::size_t max_size = 64 * 1024 * 1024; // bytes (LMDB map size)
    std::size_t sweep_per_run = 16;          // expired entries looked at per run()
    OnDamage on_damage = OnDamage::move_aside;
    LmdbSync sync = LmdbSync::none;
};

class StateFileDamaged : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

class LmdbStore final : public Store {
public:
    explicit LmdbStore(LmdbOptions options);
    ~LmdbStore() override;
    LmdbStore(const LmdbStore&) = delete;
    LmdbStore& operator=(const LmdbStore&) = delete;

    BatchResult run(std::span<const Operation> operations, Millis now) override;
    std::string_view backend() const override { return "lmdb"; }

    // Removes every expired entry now; returns how many. For the admin tool and the tests.
    std::size_t sweep_all(Millis now);
    // Live and expired entries in the file. For the admin tool and the tests.
    std::size_t entries();

private:
    struct Current {
        std::unique_ptr<lmdb::OpenFile> file; // null when unusable
        std::string unusable;                 // why, then
    };
    struct Attempt;

    std::unique_ptr<lmdb::OpenFile> open_checked();
    bool replace(const lmdb::OpenFile* seen, const lmdb::FileCheck& trouble);
    Attempt attempt(std::span<const Operation> operations, Millis now,
                    std::vector<Outcome>& outcomes);
    void move_aside_logged(const std::string& why);
    std::string damaged_text(const std::string& why) const;
    int run_transaction(const lmdb::OpenFile& file, std::span<const Operation> operations,
                        Millis now, std::vector<Outcome>& outcomes);
    int make_room(const lmdb::OpenFile& file, MDB_txn* txn, Millis now);
    std::size_t entry_limit() const;

    LmdbOptions options_;
    util::LockGuarded<Current, std::shared_mutex> current_;
    util::LockGuarded<std::string> sweep_from_; // where the incremental sweep goes on next
    util::RateLimitedLog full_log_;
};

} // namespace mailwarden::state
