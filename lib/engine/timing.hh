// Timing: how long each check's hooks took for one message (or one policy request), and the
// state store's round trips, on the monotonic clock. Admins read it first when mail is slow
// (the log line's ms= field, `mailwarden check`); the metrics export it. Filled by the
// engine as the stages run; a fixed array, so keeping it costs no allocation. Never throws.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace mailwarden::engine {

// At most this many checks in one Engine: per-message bookkeeping is a fixed array.
inline constexpr std::size_t max_checks = 24;

using TimingClock = std::chrono::steady_clock;

class Timing {
public:
    struct Entry {
        std::string_view check; // the check's name; "" when it did not run
        std::int64_t nanoseconds = 0;
    };

    // Time of the check at `index` in the Engine's list (its name: a string literal).
    void add(std::size_t index, std::string_view check, TimingClock::duration spent) {
        Entry& entry = checks_[index];
        entry.check = check;
        entry.nanoseconds += std::chrono::nanoseconds(spent).count();
    }
    void add_state(TimingClock::duration spent) {
        state_nanoseconds_ += std::chrono::nanoseconds(spent).count();
        ++state_round_trips_;
    }
    // The whole evaluation as the front-end measured it (0: not given).
    void set_total(TimingClock::duration total) {
        total_nanoseconds_ = std::chrono::nanoseconds(total).count();
    }

    // The checks that ran, in the Engine's order.
    template <typename Each> void for_each_check(Each&& each) const {
        for (const Entry& entry : checks_)
            if (!entry.check.empty())
                each(entry);
    }
    std::int64_t state_nanoseconds() const { return state_nanoseconds_; }
    std::size_t state_round_trips() const { return state_round_trips_; }
    std::int64_t total_nanoseconds() const { return total_nanoseconds_; }

    // What happened after `earlier` (a copy of this Timing taken before): the time of one
    // policy request of a message.
    Timing since(const Timing& earlier) const;

private:
    std::array<Entry, max_checks> checks_{};
    std::int64_t state_nanoseconds_ = 0;
    std::size_t state_round_trips_ = 0;
    std::int64_t total_nanoseconds_ = 0;
};

// The log line's ms= value: the front-end's total (one decimal, as before per-check figures
// existed), then each check that ran and the state round trips in milliseconds with two
// decimals, e.g. "3.1,spf:0.41,dkim:1.20,dmarc:0.10,state:0.30". Only the total when
// nothing ran.
std::string timing_field(double total_ms, const Timing& timing);

// Nanoseconds as milliseconds with `decimals` decimals, e.g. "0.412".
std::string milliseconds_text(std::int64_t nanoseconds, int decimals);

} // namespace mailwarden::engine
