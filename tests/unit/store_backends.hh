// Test helpers shared by the Store suites (test-store.cc, test-store-report.cc): a scratch
// directory, and every backend as a fresh, empty store — LMDB in the scratch directory, Redis
// on one redis-server for the whole run (MW_TEST_REDIS, or a private one) under a prefix of
// its own.
#pragma once

#include "redis_server.hh"
#include "state/lmdb_store.hh"
#include "state/redis_store.hh"

#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <unistd.h>
#include <vector>

namespace mailwarden::test {

using state::LmdbOptions;
using state::LmdbStore;
using state::RedisOptions;
using state::RedisStore;
using state::Store;

struct TempDir {
    TempDir() {
        char pattern[] = "/tmp/mw-store-XXXXXX";
        path = ::mkdtemp(pattern);
    }
    ~TempDir() { std::filesystem::remove_all(path); }
    std::string path;
};

struct Backend {
    std::string name;
    // A fresh, empty store; nullptr (with a message) when the backend is not available here.
    std::function<std::unique_ptr<Store>(const std::string& scratch_dir)> make;
};

// One redis-server for the whole run: the one contrib/quickstart started (MW_TEST_REDIS), or a
// private one. Each store gets a prefix of its own, so it starts empty.
inline std::string shared_redis_address() {
    if (const char* external = std::getenv("MW_TEST_REDIS"); external != nullptr && *external)
        return external;
    static RedisTestServer server;
    return server.address();
}

inline std::unique_ptr<Store> make_redis_store() {
    static int stores = 0;
    return std::make_unique<RedisStore>(RedisOptions{
        .servers = {shared_redis_address()},
        .sentinels = {},
        .master_name = "",
        .password = "",
        .database = 0,
        .prefix = "mw-test-" + std::to_string(::getpid()) + "-" + std::to_string(++stores) + ":",
        .connect_timeout = std::chrono::seconds(2),
        .command_timeout = std::chrono::seconds(2)});
}

inline std::vector<Backend> store_backends() {
    return {{"lmdb",
             [](const std::string& dir) -> std::unique_ptr<Store> {
                 return std::make_unique<LmdbStore>(LmdbOptions{.path = dir + "/state.mdb"});
             }},
            {"redis", [](const std::string&) { return make_redis_store(); }}};
}

} // namespace mailwarden::test
