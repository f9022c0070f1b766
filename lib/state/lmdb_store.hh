// The embedded Store: one LMDB file (state_path) that mailwarden-milter, mailwarden-policyd and
// the admin tool on this host open together. Each run() is one write transaction, so every
// operation is atomic across threads and processes (LMDB serializes writers with a robust
// mutex in its lock file, STATE_PATH-lock).
//
// Bounded: the map has a fixed size (state_max_size) and holds at most one entry per KB of it,
// which leaves LMDB the free pages its copy-on-write needs even to delete. Values carry their
// expiry; expired ones count as absent, and each run() also removes a few expired entries (a
// sweep that walks the whole file over many calls). A new key that finds the file at its entry
// limit first sweeps expired entries; if none can go, the batch fails (ok == false: the
// caller applies on_state_error) rather than evicting live limits.
//
// Timeout: a write transaction takes microseconds and the writer mutex is held only inside
// run(), so there is no wait to bound beyond another process's run(); a process that dies
// holding it releases it (robust mutex).
//
// Failure: the constructor throws std::runtime_error naming the file and LMDB's reason when
// the file cannot be opened. run() never throws.
#pragma once

#include "state/store.hh"

#include <cstddef>
#include <memory>
#include <string>

struct MDB_env;
struct MDB_txn;

namespace mailwarden::state {

struct LmdbOptions {
    std::string path;                        // the data file; PATH-lock beside it
    std::size_t max_size = 64 * 1024 * 1024; // bytes (LMDB map size)
    std::size_t sweep_per_run = 16;          // expired entries looked at per run()
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
    struct Sweep; // where the incremental sweep goes on next
    struct EnvClose {
        void operator()(MDB_env* env) const noexcept;
    };
    int run_transaction(std::span<const Operation> operations, Millis now,
                        std::vector<Outcome>& outcomes);
    int make_room(MDB_txn* txn, Millis now);

    LmdbOptions options_;
    std::unique_ptr<MDB_env, EnvClose> env_;
    unsigned int database_ = 0; // MDB_dbi of the unnamed database
    std::unique_ptr<Sweep> sweep_;
};

} // namespace mailwarden::state
