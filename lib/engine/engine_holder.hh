// EngineHolder: what a daemon keeps between connections. One Resolver for the process (its
// cache is shared by every connection and survives reloads), the state store (opened once,
// before the privilege drop), and the Engine of the live configuration snapshot. A connection takes
// current() when it starts and keeps that Engine, with its configuration, to its end; a reload
// builds the next Engine beside it.
//
// Failure: the constructor throws std::runtime_error when the resolver or the first Engine
// cannot be built (the daemon then refuses to start). reload() never throws: a new Engine that
// cannot be built is logged and the running one stays.
#pragma once

#include "config/config.hh"
#include "dns/resolver.hh"
#include "engine/engine.hh"

#include <atomic>
#include <memory>

namespace mailwarden::engine {

class EngineHolder {
public:
    explicit EngineHolder(const config::ConfigPtr& initial);
    // For tests: a resolver and a store of the caller's (store may be null: no state).
    EngineHolder(const config::ConfigPtr& initial, std::shared_ptr<dns::Resolver> resolver,
                 std::shared_ptr<state::Store> store);
    EngineHolder(const EngineHolder&) = delete;
    EngineHolder& operator=(const EngineHolder&) = delete;

    // Thread-safe; the Engine lives as long as someone holds it.
    std::shared_ptr<const Engine> current() const { return current_.load(); }

    // Builds an Engine for config unless the current one already has that snapshot. Returns
    // false (and logs why) when it cannot be built; the current Engine then stays.
    bool reload(const config::ConfigPtr& config);

private:
    std::shared_ptr<dns::Resolver> resolver_; // shared with every Engine built here
    std::shared_ptr<state::Store> store_;
    std::atomic<std::shared_ptr<const Engine>> current_;
};

} // namespace mailwarden::engine
