// Rate limiting for repeated warnings; see rate_limited_log.hh for the contract.
// Fails only by allocation failure (std::bad_alloc) when a category is first seen.
#include "util/rate_limited_log.hh"

#include "util/log.hh"

namespace mailwarden::util {
namespace {
// Shared by all categories first seen after the table is full, so the table stays bounded
// even if a caller passes attacker text as the category.
constexpr std::string_view overflow_category = "(other)";
} // namespace

RateLimitedLog::RateLimitedLog(std::chrono::seconds interval) : interval_(interval) {}

bool RateLimitedLog::admit(std::string_view category, std::chrono::steady_clock::time_point now,
                           std::uint64_t& suppressed) {
    auto table = categories_.lock();
    auto found = table->find(std::string(category));
    if (found == table->end()) {
        if (table->size() >= max_categories) {
            category = overflow_category;
            found = table->find(std::string(category));
        }
        if (found == table->end()) {
            table->emplace(std::string(category), Category{now, 0});
            suppressed = 0;
            return true;
        }
    }
    Category& state = found->second;
    if (now - state.last_admitted >= interval_) {
        suppressed = state.suppressed;
        state.suppressed = 0;
        state.last_admitted = now;
        return true;
    }
    ++state.suppressed;
    suppressed = state.suppressed;
    return false;
}

std::string RateLimitedLog::with_suppressed_count(std::string_view line, std::uint64_t suppressed) {
    std::string result(line);
    if (suppressed > 0) {
        result += " suppressed=";
        result += std::to_string(suppressed);
    }
    return result;
}

void RateLimitedLog::warn(std::string_view category, std::string_view line) {
    std::uint64_t suppressed = 0;
    if (admit(category, std::chrono::steady_clock::now(), suppressed)) {
        log_write(Severity::warning, with_suppressed_count(line, suppressed));
    }
}

} // namespace mailwarden::util
