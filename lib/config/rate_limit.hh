// One `ratelimit =` line of the configuration, parsed:
//
//   ratelimit = NAME KEY RATE/PERIOD [burst=N] [action=tempfail|reject] [count=messages|recipients]
//               [stage=mail|rcpt|eom]
//
// NAME   [a-z0-9_]{1,32}, unique; it names the limit in replies and logs.
// KEY    what is counted per bucket: client_ip, client_subnet (/24 for IPv4, /64 for IPv6),
//        sasl_user, sender (the envelope address), sender_domain, recipient.
// RATE/PERIOD  e.g. 100/1h: RATE requests per PERIOD (a duration: 30s, 10m, 1h, 1d).
// burst  requests allowed at once (default RATE).
// action tempfail (default: 451 4.7.1) or reject (550 5.7.1).
// count  messages (default): one per message (per recipient for the recipient key);
//        recipients: a message counts for its number of recipients (an outbound quota).
//
// stage  where the limit is checked. By default it follows from the key: recipient limits at
//        RCPT, recipient counts at end of message (when the number is known), the others at
//        MAIL. stage=rcpt counts a sender or client once per recipient and refuses the
//        recipient that goes over; stage=eom counts a message only once it was sent whole.
//        A recipient key cannot be checked at MAIL or end of message, nor a recipient count
//        before end of message.
// Never throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailwarden::config {

enum class RateKey { client_ip, client_subnet, sasl_user, sender, sender_domain, recipient };
enum class RateCount { messages, recipients };
enum class RateStage { mail, rcpt, end_of_message };

struct RateLimitRule {
    std::string name;
    RateKey key = RateKey::client_ip;
    std::int64_t rate = 1;
    std::chrono::milliseconds period{1000};
    std::int64_t burst = 1;
    bool reject = false; // else tempfail
    RateCount count = RateCount::messages;
    std::optional<RateStage> configured_stage; // stage=; else the key's

    RateStage stage() const;
    std::chrono::milliseconds interval() const { return period / rate; } // between refills
};

std::optional<RateLimitRule> parse_rate_limit(std::string_view line, std::string* error);
std::string_view rate_key_name(RateKey key);

} // namespace mailwarden::config
