// See state_store.hh.
#include "engine/state_store.hh"

#include "state/breaker.hh"
#include "state/lmdb_store.hh"
#include "util/daemon.hh"

#include <filesystem>
#include <stdexcept>

namespace mailwarden::engine {

namespace {

std::unique_ptr<state::Store> open_lmdb(const config::Config& config) {
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
        .path = path, .max_size = static_cast<std::size_t>(config.size("state_max_size"))});
    util::set_owner(path, "", owner);
    util::set_owner(path + "-lock", "", owner);
    return store;
}

} // namespace

std::shared_ptr<state::Store> open_state_store(const config::Config& config) {
    if (config.string("state_backend") != "lmdb")
        throw std::runtime_error("state_backend = " + config.string("state_backend") +
                                 " is not available in this build");
    return std::make_shared<state::BreakerStore>(open_lmdb(config));
}

} // namespace mailwarden::engine
