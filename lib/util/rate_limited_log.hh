// Rate limiting for repeated warnings, so a dead Redis or resolver does not flood the log:
// at most one line per category per interval, and the next line logged says how many were
// suppressed ("... suppressed=41"). Thread-safe. Memory is bounded: past
// max_categories distinct categories, new ones share one overflow category.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include "util/lock_guarded.hh"

namespace mailwarden::util {

// At most one line per category per interval; the next line logged says how many were suppressed.
class RateLimitedLog {
public:
    static constexpr std::size_t max_categories = 256;

    explicit RateLimitedLog(std::chrono::seconds interval);

    void warn(std::string_view category, std::string_view line); // Severity::warning via log_write

    // Testable core: returns true if a line may be logged now; suppressed receives the count
    // dropped since the last one. When it returns false, suppressed receives the running count
    // including this line. The first line of a category is always admitted; so is the first one at
    // least interval after the last admitted one.
    bool admit(std::string_view category, std::chrono::steady_clock::time_point now,
               std::uint64_t& suppressed);

    // line, plus " suppressed=N" when N > 0.
    static std::string with_suppressed_count(std::string_view line, std::uint64_t suppressed);

private:
    struct Category {
        std::chrono::steady_clock::time_point last_admitted;
        std::uint64_t suppressed = 0;
    };

    std::chrono::seconds interval_;
    LockGuarded<std::unordered_map<std::string, Category>> categories_;
};

} // namespace mailwarden::util
