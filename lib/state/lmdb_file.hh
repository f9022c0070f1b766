// The LMDB state file as a file, for LmdbStore (lmdb_store.hh): opening it, the checks that
// need no page of it, moving a damaged one aside, and the lock that orders one process's
// recovery against another's open.
//
// Why checks before pages: LMDB maps the file and reads its pages in place. A page beyond the
// end of the file is not an error code but SIGBUS, which kills the process. The two meta pages
// at the start of the file name the last page in use, so a file shorter than two pages, or
// shorter than its last page, is found with fstat() before any other page is read.
//
// Which file: the daemons and the admin tool share the file. When one of them moves a damaged
// file aside it also removes the lock file (PATH-lock, which belongs to that data file: LMDB
// keeps the last transaction id there), makes the old file read-only, and opens a new pair. The
// others notice on their next batch (fstat: the mode changed) that PATH is no longer the file
// they have open (device and inode) and open it again; PATH itself is looked at once a second
// too, for a file removed or replaced by hand. Opens and moves happen under an flock() of the
// directory, so that nobody opens the new data file with the old lock file or the other way
// round.
//
// Across fork: LMDB forbids using an environment in a child of the process that opened it.
// fcntl() locks are not inherited, so with the opener gone (a daemon that detaches) the next
// process to open the file takes itself for the first and resets the lock file, writer mutex
// included, possibly under a writer. The daemons open the store before they detach, so a file
// opened before a fork counts as replaced in the child, which opens it again (pthread_atfork).
//
// Never throws; failures are LMDB or errno codes and short texts.
#pragma once

#include <lmdb.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <sys/types.h>

namespace mailwarden::state::lmdb {

struct EnvClose {
    void operator()(MDB_env* env) const noexcept { mdb_env_close(env); }
};

// An open environment and which file it is.
struct OpenFile {
    std::unique_ptr<MDB_env, EnvClose> env;
    MDB_dbi database = 0; // the unnamed database
    dev_t device = 0;
    ino_t inode = 0;
    std::size_t page_size = 4096;
    std::atomic<mode_t> mode{0};                     // as last seen
    std::atomic<std::int64_t> path_checked_at_ms{0}; // steady clock
    std::uint64_t forks = 0;                         // fork_count() when opened
};

// How many times this process is a child of a fork() since the program started.
std::uint64_t fork_count();

// The return codes that say the file's contents are broken (rather than I/O trouble).
bool is_damage(int rc);

// Opens the environment (no page beyond the meta pages is read); nullptr and *rc on failure.
std::unique_ptr<OpenFile> open_environment(const std::string& path, std::size_t map_size,
                                           unsigned int flags, int* rc);
// Opens the unnamed database: the first transaction. Call it after check_file().
int open_database(OpenFile& file);

enum class FileState { usable, damaged, replaced };
struct FileCheck {
    FileState state = FileState::usable;
    std::string why; // for the log, when not usable
};
// What can be learned without touching a data page: the file is long enough for its meta pages
// and for the last page they name (else damaged), and PATH is still this file, opened by this
// process (else replaced).
// PATH is looked at when its mode changed and at most once a second otherwise.
FileCheck check_file(OpenFile& file, const std::string& path);

// Whether PATH still names the file of `file` (device and inode).
bool same_file(const OpenFile& file, const std::string& path);

// Renames PATH to PATH.damaged-YYYYMMDDTHHMMSSZ (with -2, -3... when taken), makes it
// read-only (which the other processes see) and removes PATH-lock; returns the new name, or ""
// and *error.
std::string move_aside(const std::string& path, std::string* error);

// An exclusive flock() of PATH's directory for the life of the object. Advisory, between
// LmdbStores only; without a directory it can open it does nothing.
class DirectoryLock {
public:
    explicit DirectoryLock(const std::string& path);
    ~DirectoryLock();
    DirectoryLock(const DirectoryLock&) = delete;
    DirectoryLock& operator=(const DirectoryLock&) = delete;

private:
    int fd_ = -1;
};

} // namespace mailwarden::state::lmdb
