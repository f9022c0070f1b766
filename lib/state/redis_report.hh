// The DMARC reporting operations (report_ops.hh) as calls of their Redis scripts
// (lib/state/redis/report_*.lua, failure_*.lua), and their replies as outcomes; RedisStore
// sends them in its pipeline like any other operation.
#pragma once

#include "state/store.hh"

#include <hiredis/hiredis.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::state {

struct ReportCall {
    std::string_view script;            // the script's file name without .lua
    std::vector<std::string> keys;      // without the prefix
    std::vector<std::string> arguments; // ARGV, ARGV[1] being now
};

ReportCall report_call(const ReportOperation& operation, Millis now);

// nullopt when the reply is not what the script returns.
std::optional<Outcome> report_outcome(const ReportOperation& operation, const redisReply& reply);

} // namespace mailwarden::state
