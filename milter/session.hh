// One milter connection: the facts gathered so far for the current message. The
// foundation only records them and logs one summary line per message; the engine takes
// decisions once lib/engine lands (issue 4).
#pragma once

#include "config/config.hh"

#include <chrono>
#include <string>

namespace mailwarden::milter {

struct Session {
    explicit Session(config::ConfigPtr config_snapshot) : config(std::move(config_snapshot)) {}

    // Clears what belongs to one message (after end of message, abort or RSET).
    void reset_message() {
        envelope_sender.clear();
        recipient_count = 0;
        started = std::chrono::steady_clock::now();
    }

    config::ConfigPtr config; // the snapshot this connection started with
    std::string client_name;
    std::string client_address;
    std::string helo_name;
    std::string envelope_sender;
    unsigned recipient_count = 0;
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
};

} // namespace mailwarden::milter
