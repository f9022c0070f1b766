// BreakerStore: a Store in front of another that stops paying the backend's timeout on every
// message while the backend is down. After `failures_to_open` failed batches in a row the
// circuit opens: batches fail at once ("state store down") for `cooldown`, then one batch is
// let through as a probe; its success closes the circuit, its failure opens it again. Each
// failure is logged as a warning at most once per `log_interval` (with the count suppressed),
// and the recovery once, so a dead Redis does not flood the log. Thread-safe; never throws.
#pragma once

#include "state/store.hh"
#include "util/lock_guarded.hh"
#include "util/rate_limited_log.hh"

#include <chrono>
#include <functional>
#include <memory>

namespace mailwarden::state {

struct BreakerOptions {
    int failures_to_open = 3;
    std::chrono::milliseconds cooldown{5000};
    std::chrono::seconds log_interval{60};
};

class BreakerStore final : public Store {
public:
    using Clock = std::function<std::chrono::steady_clock::time_point()>;
    BreakerStore(std::unique_ptr<Store> backend, BreakerOptions options = {},
                 Clock clock = std::chrono::steady_clock::now);

    BatchResult run(std::span<const Operation> operations, Millis now) override;
    std::string_view backend() const override { return backend_->backend(); }

    bool open() const; // for tests and the admin tool

private:
    struct State {
        int consecutive_failures = 0;
        bool open = false;
        bool probing = false;
        std::chrono::steady_clock::time_point retry_at{};
    };
    std::unique_ptr<Store> backend_;
    BreakerOptions options_;
    Clock clock_;
    util::LockGuarded<State> state_;
    util::RateLimitedLog log_;
};

} // namespace mailwarden::state
