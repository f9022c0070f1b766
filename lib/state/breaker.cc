// See breaker.hh.
#include "state/breaker.hh"

#include "util/log.hh"

namespace mailwarden::state {

BreakerStore::BreakerStore(std::unique_ptr<Store> backend, BreakerOptions options, Clock clock)
    : backend_(std::move(backend)), options_(options), clock_(std::move(clock)),
      log_(options.log_interval) {}

bool BreakerStore::open() const {
    return state_.read_only([](const State& state) { return state.open; });
}

BatchResult BreakerStore::run(std::span<const Operation> operations, Millis now) {
    const auto at = clock_();
    const bool go = state_.with([&](State& state) {
        if (!state.open)
            return true;
        if (state.probing || at < state.retry_at)
            return false;
        state.probing = true; // this batch is the probe
        return true;
    });
    if (!go)
        return {.ok = false, .error = "state store down (circuit open)", .outcomes = {}};

    BatchResult result = backend_->run(operations, now);
    const bool recovered = state_.with([&](State& state) {
        const bool was_open = state.open;
        state.probing = false;
        if (result.ok) {
            state.consecutive_failures = 0;
            state.open = false;
            return was_open;
        }
        if (++state.consecutive_failures >= options_.failures_to_open || was_open) {
            state.open = true;
            state.retry_at = clock_() + options_.cooldown;
        }
        return false;
    });
    if (recovered)
        util::LogRecord(util::Severity::notice)
            .text("state store is back")
            .kv("backend", backend_->backend());
    if (!result.ok)
        log_.warn("state",
                  "state store failed (" + std::string(backend_->backend()) + "): " + result.error);
    return result;
}

} // namespace mailwarden::state
