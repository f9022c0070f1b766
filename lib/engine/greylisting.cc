// See greylisting.hh.
#include "engine/greylisting.hh"

#include "engine/state_keys.hh"

namespace mailwarden::engine {

std::string greylist_word(state::GreylistOutcome outcome) {
    switch (outcome) {
    case state::GreylistOutcome::first_seen:
        return "first_seen";
    case state::GreylistOutcome::too_early:
        return "too_early";
    case state::GreylistOutcome::passed:
        return "passed";
    case state::GreylistOutcome::known:
        return "known";
    }
    return "?";
}

Greylisting Greylisting::from_config(const config::Config& config) {
    return {.enabled = config.boolean("greylisting"),
            .delay = config.duration("greylist_delay").count(),
            .retry_window = config.duration("greylist_retry_window").count(),
            .pass_lifetime = config.duration("greylist_pass_lifetime").count()};
}

std::optional<state::Operation> Greylisting::check(std::string_view client_ip,
                                                   std::string_view sender,
                                                   std::string_view recipient) const {
    std::string key = greylist_key(client_ip, sender, recipient);
    if (key.empty())
        return std::nullopt;
    return state::GreylistCheck{.key = std::move(key),
                                .delay = delay,
                                .retry_window = retry_window,
                                .pass_lifetime = pass_lifetime};
}

std::optional<Verdict> Greylisting::verdict(state::GreylistOutcome outcome) const {
    if (outcome != state::GreylistOutcome::first_seen &&
        outcome != state::GreylistOutcome::too_early)
        return std::nullopt;
    return Verdict::tempfail(
        "4.7.1", "greylisted, please try again in " + std::to_string(delay / 1000) + " s",
        "greylist");
}

} // namespace mailwarden::engine
