// See config_check.hh.
#include "engine/config_check.hh"

#include "engine/engine_holder.hh"
#include "engine/resolver_options.hh"
#include "engine/state_store.hh"

#include <exception>

namespace mailwarden::engine {

std::vector<config::ConfigError> check_configuration(const config::Config& config) {
    // The caller keeps the snapshot alive for the whole trial: no copy, no ownership.
    const config::ConfigPtr snapshot(&config, [](const config::Config*) {});
    try {
        std::shared_ptr<dns::Resolver> resolver =
            dns::make_unbound_resolver(resolver_options(config));
        const EngineHolder trial(snapshot, std::move(resolver), nullptr);
        if (config.string("state_backend") == "redis")
            static_cast<void>(open_state_store(config)); // parses its options, connects nowhere
    } catch (const std::exception& error) {
        return {{config.source_path(), 0, "", error.what()}};
    }
    return {};
}

} // namespace mailwarden::engine
