// See redis_store.hh.
#include "state/redis_store.hh"

#include "state/redis_report.hh"
#include "state/rules.hh"
#include "util/digest.hh"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <csignal>
#include <cstdio>
#include <stdexcept>
#include <type_traits>

namespace mailwarden::state {

namespace {

// The scripts' texts, each with prelude.lua in front: generated from lib/state/redis/*.lua.
#include "lib/state/redis_scripts.inc"

enum class ScriptId {
    rate,
    reputation,
    greylist,
    inspect,
    forget,
    put,
    report_count,
    report_domains,
    report_rows,
    report_claim,
    failure_queue,
    failure_take
};
constexpr std::array all_scripts{
    ScriptId::rate,         ScriptId::reputation,     ScriptId::greylist,
    ScriptId::inspect,      ScriptId::forget,         ScriptId::put,
    ScriptId::report_count, ScriptId::report_domains, ScriptId::report_rows,
    ScriptId::report_claim, ScriptId::failure_queue,  ScriptId::failure_take};
// The report scripts by the name redis_report.cc gives them.
constexpr std::array<std::pair<std::string_view, ScriptId>, 6> report_scripts{
    {{"report_count", ScriptId::report_count},
     {"report_domains", ScriptId::report_domains},
     {"report_rows", ScriptId::report_rows},
     {"report_claim", ScriptId::report_claim},
     {"failure_queue", ScriptId::failure_queue},
     {"failure_take", ScriptId::failure_take}}};

struct ContextFree {
    void operator()(redisContext* context) const noexcept { redisFree(context); }
};
struct ReplyFree {
    void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
using ContextPtr = std::unique_ptr<redisContext, ContextFree>;
using ReplyPtr = std::unique_ptr<redisReply, ReplyFree>;

constexpr std::size_t max_idle_connections = 256;

} // namespace

struct RedisStore::Script {
    std::string_view text;
    std::string sha1; // what EVALSHA names it by: SHA-1 of the text, as Redis computes it
};

namespace {

const RedisStore::Script& script(ScriptId id) {
    static const std::array<RedisStore::Script, all_scripts.size()> scripts = [] {
        std::array<RedisStore::Script, all_scripts.size()> all{{{rate_lua, ""},
                                                                {reputation_lua, ""},
                                                                {greylist_lua, ""},
                                                                {inspect_lua, ""},
                                                                {forget_lua, ""},
                                                                {put_lua, ""},
                                                                {report_count_lua, ""},
                                                                {report_domains_lua, ""},
                                                                {report_rows_lua, ""},
                                                                {report_claim_lua, ""},
                                                                {failure_queue_lua, ""},
                                                                {failure_take_lua, ""}}};
        for (auto& one : all)
            one.sha1 = util::hex_digest(util::DigestKind::sha1, one.text);
        return all;
    }();
    return scripts[static_cast<std::size_t>(id)];
}

std::string number(Millis value) {
    return std::to_string(value);
}

std::string number(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", value);
    return text;
}

// One script call: which script, with which ARGV (ARGV[1] is always now), on which keys
// (none given: the operation's key).
struct Call {
    ScriptId script;
    std::vector<std::string> arguments;
    std::vector<std::string> keys = {};
};

Call call_of(const Operation& operation, Millis now) {
    return std::visit(
        [&](const auto& op) -> Call {
            using Op = std::decay_t<decltype(op)>;
            if constexpr (std::is_same_v<Op, RateCheck>) {
                return {ScriptId::rate,
                        {number(now), number(op.interval), number(Millis{op.burst}),
                         number(Millis{op.cost})}};
            } else if constexpr (std::is_same_v<Op, ReputationChange>) {
                return {ScriptId::reputation,
                        {number(now), number(op.good), number(op.bad), number(op.half_life),
                         number(Millis{reputation_lifetime_half_lives})}};
            } else if constexpr (std::is_same_v<Op, GreylistCheck>) {
                return {ScriptId::greylist,
                        {number(now), number(op.delay), number(op.retry_window),
                         number(op.pass_lifetime)}};
            } else if constexpr (std::is_same_v<Op, Inspect>) {
                return {ScriptId::inspect, {number(now)}};
            } else if constexpr (std::is_same_v<Op, Forget>) {
                return {ScriptId::forget, {number(now)}};
            } else if constexpr (std::is_same_v<Op, ReportOperation>) {
                ReportCall call = report_call(op, now);
                const auto* named =
                    std::find_if(report_scripts.begin(), report_scripts.end(),
                                 [&](const auto& entry) { return entry.first == call.script; });
                return {named->second, std::move(call.arguments), std::move(call.keys)};
            } else {
                // SetReputation, AllowGreylist: the value does not depend on what was stored.
                const Applied applied = apply(op, std::nullopt, now);
                return {ScriptId::put, {number(now), number(applied.expires_at), applied.value}};
            }
        },
        operation);
}

bool integer_reply(const redisReply* reply, long long min, long long max) {
    return reply != nullptr && reply->type == REDIS_REPLY_INTEGER && reply->integer >= min &&
           reply->integer <= max;
}

std::optional<double> counter_reply(const redisReply* reply) {
    if (reply == nullptr || reply->type != REDIS_REPLY_STRING)
        return std::nullopt;
    double value = 0;
    const auto [end, error] = std::from_chars(reply->str, reply->str + reply->len, value);
    if (error != std::errc() || end != reply->str + reply->len)
        return std::nullopt;
    return value;
}

// Whether an array reply carries the scripts' "not stored: Redis is full" mark, a last
// element 1 after `elements` (prelude.lua, store_text).
bool marked_unstored(const redisReply& reply, std::size_t elements) {
    return reply.elements == elements + 1 && integer_reply(reply.element[elements], 1, 1);
}

// The outcome a script's reply means for its operation; nullopt when the reply is not what
// the script returns. *unstored: the script could not store what it should have (Redis full).
std::optional<Outcome> outcome_of(const Operation& operation, const redisReply& reply, Millis now,
                                  bool* unstored) {
    return std::visit(
        [&](const auto& op) -> std::optional<Outcome> {
            using Op = std::decay_t<decltype(op)>;
            if constexpr (std::is_same_v<Op, RateCheck>) {
                *unstored = reply.type == REDIS_REPLY_ARRAY && marked_unstored(reply, 2);
                if (reply.type != REDIS_REPLY_ARRAY || (reply.elements != 2 && !*unstored) ||
                    !integer_reply(reply.element[0], 0, 1) ||
                    !integer_reply(reply.element[1], 0, INT64_MAX))
                    return std::nullopt;
                const bool limited = reply.element[0]->integer == 1;
                return RateOutcome{.limited = limited,
                                   .retry_after = limited ? reply.element[1]->integer : 0};
            } else if constexpr (std::is_same_v<Op, ReputationChange>) {
                *unstored = reply.type == REDIS_REPLY_ARRAY && marked_unstored(reply, 2);
                if (reply.type != REDIS_REPLY_ARRAY || (reply.elements != 2 && !*unstored))
                    return std::nullopt;
                const auto good = counter_reply(reply.element[0]);
                const auto bad = counter_reply(reply.element[1]);
                if (!good || !bad)
                    return std::nullopt;
                return Reputation{*good, *bad};
            } else if constexpr (std::is_same_v<Op, GreylistCheck>) {
                if (!integer_reply(&reply, 0, 4))
                    return std::nullopt;
                *unstored = reply.integer == 4; // let through: it could never pass
                static constexpr std::array outcomes{
                    GreylistOutcome::first_seen, GreylistOutcome::too_early,
                    GreylistOutcome::passed, GreylistOutcome::known, GreylistOutcome::known};
                return outcomes[static_cast<std::size_t>(reply.integer)];
            } else if constexpr (std::is_same_v<Op, Inspect>) {
                if (reply.type != REDIS_REPLY_STRING)
                    return std::nullopt;
                return std::string(reply.str, reply.len);
            } else if constexpr (std::is_same_v<Op, Forget>) {
                if (!integer_reply(&reply, 0, 1))
                    return std::nullopt;
                return reply.integer == 1;
            } else if constexpr (std::is_same_v<Op, ReportOperation>) {
                return report_outcome(op, reply);
            } else {
                if (!integer_reply(&reply, 0, 1))
                    return std::nullopt;
                *unstored = reply.integer == 0; // an admin's change: fails the batch
                return apply(op, std::nullopt, now).outcome;
            }
        },
        operation);
}

timeval timeval_of(std::chrono::milliseconds duration) {
    return {.tv_sec = static_cast<time_t>(duration.count() / 1000),
            .tv_usec = static_cast<suseconds_t>(duration.count() % 1000 * 1000)};
}

void append(redisContext* context, const std::vector<std::string_view>& words) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (const std::string_view word : words) {
        argv.push_back(word.data());
        lengths.push_back(word.size());
    }
    redisAppendCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data());
}

std::string error_text(const redisReply& reply) {
    return std::string(reply.str, std::min<std::size_t>(reply.len, 200));
}

} // namespace

struct RedisStore::Connection {
    ContextPtr context;
    std::string server; // for errors: "redis HOST:PORT"
    bool reused = false;

    // Why the connection failed, for the log; and whether it was the server closing an idle
    // connection (nothing was read, nothing timed out).
    std::string io_error(int saved_errno) const {
        if (context->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK))
            return server + ": timed out";
        return server + ": " + (context->errstr[0] != '\0' ? context->errstr : "I/O error");
    }
    bool closed_by_server(int saved_errno) const {
        return context->err == REDIS_ERR_EOF ||
               (context->err == REDIS_ERR_IO &&
                (saved_errno == ECONNRESET || saved_errno == EPIPE));
    }
    // The next reply; nullptr (the connection is then unusable) on an I/O error or timeout.
    ReplyPtr read(int& saved_errno) {
        void* reply = nullptr;
        errno = 0;
        const int rc = redisGetReply(context.get(), &reply);
        saved_errno = errno;
        if (rc != REDIS_OK)
            return nullptr;
        return ReplyPtr(static_cast<redisReply*>(reply));
    }
};

RedisStore::RedisStore(RedisOptions options) : options_(std::move(options)) {
    auto parse_all = [](const std::vector<std::string>& texts, std::uint16_t default_port,
                        std::vector<util::Endpoint>& into) {
        for (const std::string& text : texts) {
            std::string error;
            const auto endpoint = util::parse_endpoint(text, default_port, &error);
            if (!endpoint)
                throw std::invalid_argument("redis server " + text + ": " + error);
            into.push_back(*endpoint);
        }
    };
    parse_all(options_.servers, redis_default_port, servers_);
    parse_all(options_.sentinels, sentinel_default_port, sentinels_);
    if (servers_.empty() && sentinels_.empty())
        throw std::invalid_argument("no redis server or sentinel configured");
    if (!sentinels_.empty() && options_.master_name.empty())
        throw std::invalid_argument("redis sentinels need a master name");
    // hiredis writes with write(2): a server gone between two batches must be an error value,
    // not a SIGPIPE that ends the process. The daemons ignore it already; the admin tool and
    // the tests may not.
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
        std::signal(SIGPIPE, SIG_IGN);
    static_cast<void>(script(ScriptId::rate)); // hash the scripts now, not in a batch
}

RedisStore::~RedisStore() = default;

std::string RedisStore::current_server() const {
    return *current_server_.read_lock();
}

namespace {

// A connected context with the command timeout set, or nullptr and *error.
ContextPtr open_context(const util::Endpoint& endpoint, std::chrono::milliseconds connect_timeout,
                        std::chrono::milliseconds command_timeout, std::string& error) {
    const timeval limit = timeval_of(connect_timeout);
    ContextPtr context(endpoint.path.empty()
                           ? redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, limit)
                           : redisConnectUnixWithTimeout(endpoint.path.c_str(), limit));
    if (!context) {
        error = "redis " + endpoint.text() + ": out of memory";
        return nullptr;
    }
    if (context->err != 0) {
        error = "redis " + endpoint.text() + ": " + context->errstr;
        return nullptr;
    }
    if (redisSetTimeout(context.get(), timeval_of(command_timeout)) != REDIS_OK) {
        error = "redis " + endpoint.text() + ": cannot set timeout";
        return nullptr;
    }
    if (endpoint.path.empty())
        redisEnableKeepAlive(context.get());
    return context;
}

} // namespace

bool RedisStore::ask_sentinels(util::Endpoint& master, std::string& error) {
    std::string errors;
    for (const util::Endpoint& sentinel : sentinels_) {
        std::string why;
        ContextPtr context =
            open_context(sentinel, options_.connect_timeout, options_.command_timeout, why);
        if (context) {
            Connection connection{std::move(context), "sentinel " + sentinel.text(), false};
            append(connection.context.get(),
                   {"SENTINEL", "get-master-addr-by-name", options_.master_name});
            int saved_errno = 0;
            const ReplyPtr reply = connection.read(saved_errno);
            if (!reply) {
                why = connection.io_error(saved_errno);
            } else if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
                       reply->element[0]->type == REDIS_REPLY_STRING &&
                       reply->element[1]->type == REDIS_REPLY_STRING) {
                const std::string address(reply->element[0]->str, reply->element[0]->len);
                const std::string port(reply->element[1]->str, reply->element[1]->len);
                const auto endpoint = util::parse_endpoint(address.find(':') != std::string::npos
                                                               ? "[" + address + "]:" + port
                                                               : address + ":" + port,
                                                           redis_default_port);
                if (endpoint) {
                    master = *endpoint;
                    return true;
                }
                why = connection.server + ": unusable master address";
            } else if (reply->type == REDIS_REPLY_ERROR) {
                why = connection.server + ": " + error_text(*reply);
            } else {
                why = connection.server + " does not know master " + options_.master_name;
            }
        }
        errors += (errors.empty() ? "" : "; ") + why;
    }
    error = errors;
    return false;
}

std::unique_ptr<RedisStore::Connection> RedisStore::connect_server(const util::Endpoint& server,
                                                                   std::string& error) {
    ContextPtr context =
        open_context(server, options_.connect_timeout, options_.command_timeout, error);
    if (!context)
        return nullptr;
    auto connection = std::make_unique<Connection>(
        Connection{std::move(context), "redis " + server.text(), false});
    redisContext* raw = connection->context.get();
    const std::string database = std::to_string(options_.database);
    if (!options_.password.empty())
        append(raw, {"AUTH", options_.password});
    if (options_.database != 0)
        append(raw, {"SELECT", database});
    append(raw, {"ROLE"});
    for (const ScriptId id : all_scripts)
        append(raw, {"SCRIPT", "LOAD", script(id).text});
    const int setup = (options_.password.empty() ? 0 : 1) + (options_.database != 0 ? 1 : 0);
    const int replies = setup + 1 + static_cast<int>(all_scripts.size());
    for (int i = 0; i < replies; ++i) {
        int saved_errno = 0;
        const ReplyPtr reply = connection->read(saved_errno);
        if (!reply) {
            error = connection->io_error(saved_errno);
            return nullptr;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
            error = connection->server + ": " + error_text(*reply);
            return nullptr;
        }
        if (i == setup) {
            const bool master = reply->type == REDIS_REPLY_ARRAY && reply->elements > 0 &&
                                reply->element[0]->type == REDIS_REPLY_STRING &&
                                std::string_view(reply->element[0]->str) == "master";
            if (!master) {
                error = connection->server + ": not a master";
                return nullptr;
            }
        } else if (i > setup) {
            const std::string& sha1 = script(all_scripts[i - setup - 1]).sha1;
            if (reply->type != REDIS_REPLY_STRING ||
                std::string_view(reply->str, reply->len) != sha1) {
                error = connection->server + ": SCRIPT LOAD gave an unexpected answer";
                return nullptr;
            }
        }
    }
    return connection;
}

std::unique_ptr<RedisStore::Connection> RedisStore::connect(std::string& error) {
    std::vector<util::Endpoint> candidates = servers_;
    if (!sentinels_.empty()) {
        util::Endpoint master;
        if (!ask_sentinels(master, error))
            return nullptr;
        candidates = {master};
    }
    std::string errors;
    for (const util::Endpoint& server : candidates) {
        std::string why;
        if (auto connection = connect_server(server, why)) {
            *current_server_.lock() = server.text();
            return connection;
        }
        errors += (errors.empty() ? "" : "; ") + why;
    }
    error = errors;
    return nullptr;
}

std::unique_ptr<RedisStore::Connection> RedisStore::take(std::string& error) {
    {
        auto pool = pool_.lock();
        if (!pool->empty()) {
            auto connection = std::move(pool->back());
            pool->pop_back();
            connection->reused = true;
            return connection;
        }
    }
    return connect(error);
}

void RedisStore::give_back(std::unique_ptr<Connection> connection) {
    auto pool = pool_.lock();
    if (pool->size() < max_idle_connections)
        pool->push_back(std::move(connection));
}

namespace {

enum class Failure { none, closed_by_server, other };

struct Exchange {
    Failure failure = Failure::none;
    std::string error;
    std::vector<Outcome> outcomes;
    std::size_t unstored = 0; // operations Redis was too full to record
};

constexpr const char* full_text = "full (maxmemory with maxmemory-policy noeviction): not stored";

void append_call(redisContext* context, const Call& call, const std::vector<std::string>& keys) {
    const std::string key_count = std::to_string(keys.size());
    std::vector<std::string_view> words{"EVALSHA", script(call.script).sha1, key_count};
    for (const std::string& key : keys)
        words.push_back(key);
    for (const std::string& argument : call.arguments)
        words.push_back(argument);
    append(context, words);
}

// Sends the calls in one pipeline and reads every reply; calls that met NOSCRIPT are sent
// again after SCRIPT LOAD, in a second pipeline.
Exchange exchange(RedisStore::Connection& connection, std::span<const Operation> operations,
                  const std::vector<Call>& calls, const std::vector<std::vector<std::string>>& keys,
                  Millis now) {
    redisContext* raw = connection.context.get();
    std::vector<ReplyPtr> replies(calls.size());
    std::vector<std::size_t> missing;
    for (std::size_t i = 0; i < calls.size(); ++i)
        append_call(raw, calls[i], keys[i]);
    for (std::size_t i = 0; i < calls.size(); ++i) {
        int saved_errno = 0;
        replies[i] = connection.read(saved_errno);
        if (!replies[i])
            return {i == 0 && connection.closed_by_server(saved_errno) ? Failure::closed_by_server
                                                                       : Failure::other,
                    connection.io_error(saved_errno),
                    {}};
        if (replies[i]->type == REDIS_REPLY_ERROR &&
            std::string_view(replies[i]->str, replies[i]->len).starts_with("NOSCRIPT"))
            missing.push_back(i);
    }
    if (!missing.empty()) {
        std::vector<ScriptId> loads;
        for (const std::size_t i : missing)
            if (std::find(loads.begin(), loads.end(), calls[i].script) == loads.end())
                loads.push_back(calls[i].script);
        for (const ScriptId id : loads)
            append(raw, {"SCRIPT", "LOAD", script(id).text});
        for (const std::size_t i : missing)
            append_call(raw, calls[i], keys[i]);
        for (const ScriptId id : loads) {
            int saved_errno = 0;
            const ReplyPtr loaded = connection.read(saved_errno);
            if (!loaded)
                return {Failure::other, connection.io_error(saved_errno), {}};
            if (loaded->type != REDIS_REPLY_STRING ||
                std::string_view(loaded->str, loaded->len) != script(id).sha1)
                return {Failure::other,
                        connection.server + ": SCRIPT LOAD failed" +
                            (loaded->type == REDIS_REPLY_ERROR ? ": " + error_text(*loaded) : ""),
                        {}};
        }
        for (const std::size_t i : missing) {
            int saved_errno = 0;
            replies[i] = connection.read(saved_errno);
            if (!replies[i])
                return {Failure::other, connection.io_error(saved_errno), {}};
        }
    }
    Exchange result;
    for (std::size_t i = 0; i < calls.size(); ++i) {
        if (replies[i]->type == REDIS_REPLY_ERROR)
            return {Failure::other, connection.server + ": " + error_text(*replies[i]), {}};
        bool unstored = false;
        auto outcome = outcome_of(operations[i], *replies[i], now, &unstored);
        if (!outcome)
            return {Failure::other, connection.server + ": unexpected reply from a script", {}};
        if (unstored && (std::holds_alternative<SetReputation>(operations[i]) ||
                         std::holds_alternative<AllowGreylist>(operations[i])))
            return {Failure::other, connection.server + ": " + full_text, {}};
        result.unstored += unstored;
        result.outcomes.push_back(std::move(*outcome));
    }
    return result;
}

} // namespace

BatchResult RedisStore::run(std::span<const Operation> operations, Millis now) {
    if (operations.empty())
        return {};
    std::vector<Call> calls;
    std::vector<std::vector<std::string>> keys;
    for (const Operation& operation : operations) {
        const std::string& key = key_of(operation);
        if (!usable_key(key))
            return {.ok = false, .error = "unusable state key", .outcomes = {}};
        calls.push_back(call_of(operation, now));
        std::vector<std::string>& prefixed = keys.emplace_back();
        for (const std::string& name :
             calls.back().keys.empty() ? std::vector<std::string>{key} : calls.back().keys)
            prefixed.push_back(options_.prefix + name);
    }
    for (bool first_attempt = true;; first_attempt = false) {
        std::string error;
        std::unique_ptr<Connection> connection = first_attempt ? take(error) : connect(error);
        if (!connection)
            return {.ok = false, .error = error, .outcomes = {}};
        Exchange result = exchange(*connection, operations, calls, keys, now);
        if (result.failure == Failure::none) {
            if (result.unstored > 0)
                full_log_.warn("redis-full", connection->server + " is " + std::string(full_text) +
                                                 " (" + std::to_string(result.unstored) +
                                                 " of a batch); set maxmemory-policy volatile-ttl");
            give_back(std::move(connection));
            return {.ok = true, .error = "", .outcomes = std::move(result.outcomes)};
        }
        // A pooled connection the server closed while idle (a restart, a failover): the other
        // idle ones are as stale, so they go, and the batch is tried once more on a new one.
        if (result.failure == Failure::closed_by_server && connection->reused && first_attempt) {
            pool_.lock()->clear();
            continue;
        }
        return {.ok = false, .error = result.error, .outcomes = {}};
    }
}

} // namespace mailwarden::state
