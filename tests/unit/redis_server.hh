// Test fixture: a private redis-server on 127.0.0.1, on a free port, without persistence, in a
// temporary directory of its own, stopped by PID when the object goes away. stop() and start()
// again (same port, empty data) make an outage in the middle of a test; pause() and resume()
// (SIGSTOP, SIGCONT) make a server that is up but does not answer. sentinel() starts a
// redis-sentinel watching a master instead.
//
// redis-server comes from Debian's redis-server package (contrib/quickstart installs it); when
// it is not on PATH the constructor throws, so a test fails, never silently skips.
#pragma once

#include "child_process.hh"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mailwarden::test {

class RedisTestServer {
public:
    // extra: more redis-server options, e.g. {"--replicaof", "127.0.0.1", "PORT"}.
    explicit RedisTestServer(std::vector<std::string> extra = {});
    // A Sentinel monitoring `master_name` at 127.0.0.1:master_port, failing it over 500 ms after
    // it stops answering.
    static std::unique_ptr<RedisTestServer> sentinel(const std::string& master_name,
                                                     std::uint16_t master_port, int quorum);
    ~RedisTestServer();
    RedisTestServer(const RedisTestServer&) = delete;
    RedisTestServer& operator=(const RedisTestServer&) = delete;

    std::uint16_t port() const { return port_; }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

    void stop();  // SIGTERM, waits for the exit
    void start(); // again, on the same port
    void pause();
    void resume();

    // One command through hiredis; the reply as text (arrays joined with '\n', errors as
    // "ERR ..."), "" on a connection failure.
    std::string command(const std::vector<std::string>& words) const;

private:
    struct Sentinel {};
    RedisTestServer(Sentinel, std::string config_text);
    bool spawn(std::uint16_t port);
    void start_on_free_port();

    std::string directory_;
    std::vector<std::string> extra_;
    std::string sentinel_config_; // not empty for a Sentinel: its configuration, port excepted
    std::uint16_t port_ = 0;
    std::unique_ptr<ChildProcess> process_;
};

} // namespace mailwarden::test
