// See state_store.hh.
#include "engine/state_store.hh"

#include "state/breaker.hh"
#include "state/lmdb_store.hh"
#include "state/redis_store.hh"
#include "util/daemon.hh"

#include <filesystem>
#include <stdexcept>

namespace mailwarden::engine {

namespace {

std::unique_ptr<state::Store> open_lmdb(const config::Config& config, state::OnDamage on_damage) {
    const std::string path = config.string("state_path");
    const std::string owner = config.boolean("allow_root") ? "" : config.string("user");
    const std::filesystem::path directory = std::filesystem::path(path).parent_path();
    std::error_code error;
    if (!directory.empty() && !std::filesystem::exists(directory, error)) {
        std::filesystem::create_directories(directory, error);
        if (error)
            throw std::runtime_error("cannot create " + directory.string() + ": " +
                                     error.message());
        std::filesystem::permissions(directory, std::filesystem::perms(0750), error);
        util::set_owner(directory.string(), "", owner);
    }
    auto store = std::make_unique<state::LmdbStore>(state::LmdbOptions{
        .path = path,
        .max_size = static_cast<std::size_t>(config.size("state_max_size")),
        .sweep_per_run = 16,
        .on_damage = on_damage,
        .sync = config.boolean("state_sync") ? state::LmdbSync::data : state::LmdbSync::none});
    util::set_owner(path, "", owner);
    util::set_owner(path + "-lock", "", owner);
    return store;
}

std::unique_ptr<state::Store> open_redis(const config::Config& config) {
    try {
        return std::make_unique<state::RedisStore>(
            state::RedisOptions{.servers = config.list("redis_servers"),
                                .sentinels = config.list("redis_sentinels"),
                                .master_name = config.string("redis_master_name"),
                                .password = config.string("redis_password"),
                                .database = static_cast<int>(config.integer("redis_db")),
                                .prefix = config.string("redis_prefix"),
                                .connect_timeout = config.duration("redis_connect_timeout"),
                                .command_timeout = config.duration("redis_timeout")});
    } catch (const std::invalid_argument& error) {
        throw std::runtime_error(std::string("state_backend = redis: ") + error.what());
    }
}

} // namespace

std::shared_ptr<state::Store> open_state_store(const config::Config& config,
                                               state::OnDamage on_damage) {
    return std::make_shared<state::BreakerStore>(config.string("state_backend") == "redis"
                                                     ? open_redis(config)
                                                     : open_lmdb(config, on_damage));
}

} // namespace mailwarden::engine
