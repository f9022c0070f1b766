// The shared Store: Redis, for a fleet of MX hosts that must see one set of rates, reputations
// and greylist entries. Every operation is one Lua script (lib/state/redis/*.lua, the rules of
// rules.cc written again), sent with EVALSHA; a batch is one pipeline, so one round trip.
// Each new connection loads every script (SCRIPT LOAD, in the same round trip as AUTH, SELECT
// and ROLE), so a call meets NOSCRIPT only when the server's script cache was flushed since
// (SCRIPT FLUSH). Then the calls that met it, which are all from that point of the pipeline on,
// are sent again, in order, after SCRIPT LOAD, in a second round trip.
//
// Where the master is: `sentinels` + `master_name` asks the Sentinels (in order) for the
// current master, on every new connection, so a failover is followed without a restart;
// otherwise `servers` are tried in order and the first one that is a master is used. Every
// server is checked with ROLE after AUTH (`password`) and SELECT (`database`), so a demoted
// master or a replica is never written to.
//
// Connections: a pool owned by the store. A thread takes one for its batch and gives it back,
// so connections are reused and never shared, and there are at most as many as threads in
// run() at once. A connection that saw any error is closed, never reused.
//
// Timeouts: `connect_timeout` for each connect (Sentinel and server), `command_timeout` for
// each read or write. A batch that fails on a pooled connection before any reply came (the
// server closed it while idle: a restart) is retried once on a new connection; a timeout is
// never retried, because the server may have run the scripts.
//
// Keys are `prefix` + the operation's key. Logs and errors name servers, never the password
// or key material.
//
// Full: every key carries a TTL, so with maxmemory-policy volatile-ttl (recommended) a full
// Redis evicts the keys nearest their end, as the LMDB store does. Under noeviction (Redis's
// default) it refuses writes (OOM); the scripts then answer as if they had stored (a bucket
// over its limit still refuses, a request that cannot be counted passes uncounted, a new
// greylist triplet is let through), the batch succeeds, and a warning says so at most once a
// minute: a full Redis is not an outage, but keys below their limit stop counting until it has
// room. An admin's change (reputation set, greylist allow) that cannot be stored fails.
//
// Failure: the constructor throws std::invalid_argument for an unusable option (no server,
// a bad address); it does not connect, so a Redis that is down at start only fails batches.
// run() never throws: store trouble is BatchResult::ok == false (the caller applies
// on_state_error, and BreakerStore stops paying the timeout).
#pragma once

#include "state/store.hh"
#include "util/lock_guarded.hh"
#include "util/rate_limited_log.hh"
#include "util/socket_spec.hh"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace mailwarden::state {

struct RedisOptions {
    std::vector<std::string> servers;   // HOST:PORT, [IPV6]:PORT or /PATH (util::parse_endpoint)
    std::vector<std::string> sentinels; // HOST:PORT; when set, servers is not used
    std::string master_name = "mailwarden";
    std::string password; // AUTH when not empty
    int database = 0;     // SELECT when not 0
    std::string prefix = "mailwarden:";
    std::chrono::milliseconds connect_timeout{250};
    std::chrono::milliseconds command_timeout{250};
};

inline constexpr std::uint16_t redis_default_port = 6379;
inline constexpr std::uint16_t sentinel_default_port = 26379;

class RedisStore final : public Store {
public:
    explicit RedisStore(RedisOptions options);
    ~RedisStore() override;
    RedisStore(const RedisStore&) = delete;
    RedisStore& operator=(const RedisStore&) = delete;

    BatchResult run(std::span<const Operation> operations, Millis now) override;
    std::string_view backend() const override { return "redis"; }

    // The server the last new connection went to ("" before the first); for tests and logs.
    std::string current_server() const;

    struct Connection; // a redisContext and where it goes
    struct Script;     // a script's text and SHA-1

private:
    std::unique_ptr<Connection> take(std::string& error);
    void give_back(std::unique_ptr<Connection> connection);
    std::unique_ptr<Connection> connect(std::string& error);
    std::unique_ptr<Connection> connect_server(const util::Endpoint& server, std::string& error);
    bool ask_sentinels(util::Endpoint& master, std::string& error);

    RedisOptions options_;
    std::vector<util::Endpoint> servers_;
    std::vector<util::Endpoint> sentinels_;
    util::LockGuarded<std::vector<std::unique_ptr<Connection>>> pool_;
    util::LockGuarded<std::string> current_server_;
    util::RateLimitedLog full_log_{std::chrono::seconds(60)};
};

} // namespace mailwarden::state
