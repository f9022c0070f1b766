// See lmdb_file.hh.
#include "state/lmdb_file.hh"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace mailwarden::state::lmdb {

namespace {

constexpr std::size_t meta_pages = 2;
constexpr std::int64_t path_check_interval_ms = 1000;

std::string utc_stamp() {
    const std::time_t now = std::time(nullptr);
    std::tm parts{};
    ::gmtime_r(&now, &parts);
    char text[32];
    std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &parts);
    return text;
}

std::atomic<std::uint64_t> forks_seen{0};

void count_fork_in_child() {
    forks_seen.fetch_add(1, std::memory_order_relaxed);
}

} // namespace

std::uint64_t fork_count() {
    static const bool registered = ::pthread_atfork(nullptr, nullptr, count_fork_in_child) == 0;
    static_cast<void>(registered);
    return forks_seen.load(std::memory_order_relaxed);
}

bool is_damage(int rc) {
    return rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID ||
           rc == MDB_VERSION_MISMATCH;
}

std::unique_ptr<OpenFile> open_environment(const std::string& path, std::size_t map_size,
                                           unsigned int flags, int* rc) {
    auto file = std::make_unique<OpenFile>();
    file->forks = fork_count();
    MDB_env* raw = nullptr;
    if ((*rc = mdb_env_create(&raw)) != MDB_SUCCESS)
        return nullptr;
    file->env.reset(raw);
    if ((*rc = mdb_env_set_mapsize(raw, map_size)) != MDB_SUCCESS ||
        (*rc = mdb_env_open(raw, path.c_str(), flags | MDB_NOSUBDIR | MDB_NOTLS, 0600)) !=
            MDB_SUCCESS)
        return nullptr;
    int fd = -1;
    struct stat status {};
    MDB_stat sizes{};
    if ((*rc = mdb_env_get_fd(raw, &fd)) != MDB_SUCCESS ||
        (*rc = mdb_env_stat(raw, &sizes)) != MDB_SUCCESS)
        return nullptr;
    if (::fstat(fd, &status) != 0) {
        *rc = errno;
        return nullptr;
    }
    file->device = status.st_dev;
    file->inode = status.st_ino;
    file->mode = status.st_mode;
    file->page_size = sizes.ms_psize;
    return file;
}

int open_database(OpenFile& file) {
    MDB_txn* txn = nullptr;
    if (const int rc = mdb_txn_begin(file.env.get(), nullptr, 0, &txn); rc != MDB_SUCCESS)
        return rc;
    if (const int rc = mdb_dbi_open(txn, nullptr, 0, &file.database); rc != MDB_SUCCESS) {
        mdb_txn_abort(txn);
        return rc;
    }
    return mdb_txn_commit(txn);
}

FileCheck check_file(OpenFile& file, const std::string& path) {
    if (file.forks != fork_count())
        return {FileState::replaced, "opened before a fork"};
    int fd = -1;
    struct stat status {};
    if (mdb_env_get_fd(file.env.get(), &fd) != MDB_SUCCESS || ::fstat(fd, &status) != 0)
        return {FileState::replaced, "cannot stat the open state file"};
    auto size = static_cast<std::size_t>(status.st_size);
    if (size < meta_pages * file.page_size)
        return {FileState::damaged, std::to_string(size) + " bytes, shorter than its meta pages"};
    MDB_envinfo info{}; // read from the meta pages, which are there
    mdb_env_info(file.env.get(), &info);
    const std::size_t needed = (info.me_last_pgno + 1) * file.page_size;
    // A commit by another thread or the other daemon between the size and the meta page grows
    // the file past the size read first. It writes its pages before the meta page that names
    // them, so the size read after the meta page covers them unless the file really is short.
    if (size < needed && ::fstat(fd, &status) == 0)
        size = static_cast<std::size_t>(status.st_size);
    if (size < needed)
        return {FileState::damaged, std::to_string(size) +
                                        " bytes, shorter than its last page needs (" +
                                        std::to_string(needed) + ")"};
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now().time_since_epoch())
                                 .count();
    if (status.st_mode == file.mode.exchange(status.st_mode) &&
        now - file.path_checked_at_ms.load() < path_check_interval_ms)
        return {};
    file.path_checked_at_ms = now;
    if (!same_file(file, path))
        return {FileState::replaced, "the path names another file now"};
    return {};
}

bool same_file(const OpenFile& file, const std::string& path) {
    struct stat status {};
    return ::stat(path.c_str(), &status) == 0 && status.st_dev == file.device &&
           status.st_ino == file.inode;
}

std::string move_aside(const std::string& path, std::string* error) {
    const std::string stem = path + ".damaged-" + utc_stamp();
    std::string aside = stem;
    std::error_code ignored;
    for (int n = 2; std::filesystem::exists(aside, ignored) && n < 100; ++n)
        aside = stem + "-" + std::to_string(n);
    if (std::rename(path.c_str(), aside.c_str()) != 0) {
        *error = "cannot rename to " + aside + ": " + std::strerror(errno);
        return "";
    }
    ::chmod(aside.c_str(), 0400);       // tells the processes that still have it open
    ::unlink((path + "-lock").c_str()); // it belongs to the old file; a new one comes with it
    return aside;
}

DirectoryLock::DirectoryLock(const std::string& path) {
    std::filesystem::path directory = std::filesystem::path(path).parent_path();
    if (directory.empty())
        directory = ".";
    fd_ = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0)
        return;
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
}

DirectoryLock::~DirectoryLock() {
    if (fd_ >= 0)
        ::close(fd_); // releases the lock
}

} // namespace mailwarden::state::lmdb
