// See timing.hh.
#include "engine/timing.hh"

#include <charconv>

namespace mailwarden::engine {

namespace {

void append_ms(std::string& text, double ms, int decimals) {
    char digits[32];
    const auto result =
        std::to_chars(digits, digits + sizeof digits, ms, std::chars_format::fixed, decimals);
    text.append(digits, result.ptr);
}

double milliseconds(std::int64_t nanoseconds) {
    return static_cast<double>(nanoseconds) / 1e6;
}

} // namespace

std::string milliseconds_text(std::int64_t nanoseconds, int decimals) {
    std::string text;
    append_ms(text, milliseconds(nanoseconds), decimals);
    return text;
}

Timing Timing::since(const Timing& earlier) const {
    Timing later;
    for (std::size_t index = 0; index < checks_.size(); ++index) {
        const std::int64_t spent = checks_[index].nanoseconds - earlier.checks_[index].nanoseconds;
        if (!checks_[index].check.empty() && (spent > 0 || earlier.checks_[index].check.empty()))
            later.checks_[index] = {checks_[index].check, spent};
    }
    later.state_nanoseconds_ = state_nanoseconds_ - earlier.state_nanoseconds_;
    later.state_round_trips_ = state_round_trips_ - earlier.state_round_trips_;
    return later;
}

std::string timing_field(double total_ms, const Timing& timing) {
    std::string text;
    append_ms(text, total_ms, 1);
    timing.for_each_check([&](const Timing::Entry& entry) {
        text += ',';
        text += entry.check;
        text += ':';
        append_ms(text, milliseconds(entry.nanoseconds), 2);
    });
    if (timing.state_round_trips() > 0) {
        text += ",state:";
        append_ms(text, milliseconds(timing.state_nanoseconds()), 2);
    }
    return text;
}

} // namespace mailwarden::engine
