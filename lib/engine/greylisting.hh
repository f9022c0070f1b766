// Greylisting (off by default): the first delivery attempt of a triplet (client network,
// envelope sender, recipient) is refused with 451 4.7.1; a retry after greylist_delay and
// within greylist_retry_window passes, and the triplet then passes at once for
// greylist_pass_lifetime (each use extends it). Real MTAs retry; most bulk senders do not.
// Applies to inbound mail from clients not in allow_networks, at RCPT. Parameters read:
// greylisting, greylist_delay, greylist_retry_window, greylist_pass_lifetime. Never throws.
#pragma once

#include "config/config.hh"
#include "engine/verdict.hh"
#include "state/store.hh"

#include <optional>
#include <string>
#include <string_view>

namespace mailwarden::engine {

// "first_seen", "too_early", "passed", "known".
std::string greylist_word(state::GreylistOutcome outcome);

struct Greylisting {
    bool enabled = false;
    state::Millis delay = 300'000;
    state::Millis retry_window = 4 * 3'600'000;
    state::Millis pass_lifetime = 36LL * 86'400'000;

    static Greylisting from_config(const config::Config& config);
    // The check of a triplet (engine::greylist_key: the client's /24 or /64, since MTA pools
    // retry from neighbours, and the lowercased addresses); nullopt when the client address
    // does not parse (no triplet, no greylisting).
    std::optional<state::Operation> check(std::string_view client_ip, std::string_view sender,
                                          std::string_view recipient) const;
    // 451 4.7.1 for a refused attempt; nullopt when it passes.
    std::optional<Verdict> verdict(state::GreylistOutcome outcome) const;
};

} // namespace mailwarden::engine
