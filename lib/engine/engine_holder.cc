// See engine_holder.hh.
#include "engine/engine_holder.hh"

#include "engine/resolver_options.hh"
#include "engine/state_store.hh"
#include "util/log.hh"

#include <exception>

namespace mailwarden::engine {

namespace {

// The deleter keeps the resolver alive for as long as any Engine that uses it.
std::shared_ptr<const Engine> build_engine(const config::ConfigPtr& config,
                                           const std::shared_ptr<dns::Resolver>& resolver,
                                           const std::shared_ptr<state::Store>& store) {
    return {new Engine(config, *resolver, store),
            [resolver](const Engine* engine) { delete engine; }};
}

std::shared_ptr<dns::Resolver> make_resolver(const config::Config& config) {
    return dns::make_unbound_resolver(resolver_options(config)); // throws when it cannot start
}

} // namespace

EngineHolder::EngineHolder(const config::ConfigPtr& initial)
    : EngineHolder(initial, make_resolver(*initial), open_state_store(*initial)) {}

EngineHolder::EngineHolder(const config::ConfigPtr& initial,
                           std::shared_ptr<dns::Resolver> resolver,
                           std::shared_ptr<state::Store> store)
    : resolver_(std::move(resolver)), store_(std::move(store)),
      current_(build_engine(initial, resolver_, store_)) {}

bool EngineHolder::reload(const config::ConfigPtr& config) {
    if (&current()->config() == config.get())
        return true;
    try {
        current_.store(build_engine(config, resolver_, store_));
        return true;
    } catch (const std::exception& error) {
        util::LogRecord(util::Severity::error)
            .text("reload: the new configuration cannot be used, keeping the running one")
            .kv("error", error.what());
        return false;
    }
}

} // namespace mailwarden::engine
