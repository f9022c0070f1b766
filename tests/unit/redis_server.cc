// See redis_server.hh.
#include "redis_server.hh"

#include <hiredis/hiredis.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>

namespace mailwarden::test {

namespace {

std::string find_program(const std::string& name) {
    const char* path = std::getenv("PATH");
    std::string directories = path != nullptr ? path : "/usr/bin:/bin";
    directories += ":/usr/sbin:/sbin";
    std::size_t start = 0;
    while (start <= directories.size()) {
        const std::size_t end = std::min(directories.find(':', start), directories.size());
        const std::filesystem::path candidate =
            std::filesystem::path(directories.substr(start, end - start)) / name;
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate.string();
        start = end + 1;
    }
    throw std::runtime_error(name + " not found on PATH: install Debian's redis-server package "
                                    "(contrib/quickstart deps)");
}

std::string reply_text(const redisReply* reply) {
    if (reply == nullptr)
        return "";
    switch (reply->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        return std::string(reply->str, reply->len);
    case REDIS_REPLY_INTEGER:
        return std::to_string(reply->integer);
    case REDIS_REPLY_ARRAY: {
        std::string text;
        for (std::size_t i = 0; i < reply->elements; ++i)
            text += (i ? "\n" : "") + reply_text(reply->element[i]);
        return text;
    }
    default:
        return "";
    }
}

} // namespace

RedisTestServer::RedisTestServer(std::vector<std::string> extra) : extra_(std::move(extra)) {
    start_on_free_port();
}

RedisTestServer::RedisTestServer(Sentinel, std::string config_text)
    : sentinel_config_(std::move(config_text)) {
    start_on_free_port();
}

std::unique_ptr<RedisTestServer> RedisTestServer::sentinel(const std::string& master_name,
                                                           std::uint16_t master_port, int quorum) {
    const std::string name = " " + master_name + " ";
    return std::unique_ptr<RedisTestServer>(
        new RedisTestServer(Sentinel{}, "bind 127.0.0.1\n"
                                        "sentinel monitor" +
                                            name + "127.0.0.1 " + std::to_string(master_port) +
                                            " " + std::to_string(quorum) +
                                            "\n"
                                            "sentinel down-after-milliseconds" +
                                            name +
                                            "500\n"
                                            "sentinel failover-timeout" +
                                            name + "5000\n"));
}

RedisTestServer::~RedisTestServer() {
    process_.reset();
    if (!directory_.empty()) {
        std::error_code ignored;
        std::filesystem::remove_all(directory_, ignored);
    }
}

void RedisTestServer::start_on_free_port() {
    char pattern[] = "/tmp/mw-redis-XXXXXX";
    if (::mkdtemp(pattern) == nullptr)
        throw std::runtime_error("mkdtemp failed");
    directory_ = pattern;
    std::mt19937 random(std::random_device{}());
    for (int attempt = 0; attempt < 20; ++attempt) {
        if (spawn(static_cast<std::uint16_t>(20000 + random() % 40000)))
            return;
    }
    std::ifstream log(directory_ + "/redis.log");
    const std::string why((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
    std::error_code ignored;
    std::filesystem::remove_all(directory_, ignored);
    throw std::runtime_error("redis-server did not start on a free port: " + why.substr(0, 300));
}

bool RedisTestServer::spawn(std::uint16_t port) {
    std::vector<std::string> argv{find_program("redis-server")};
    if (!sentinel_config_.empty()) {
        const std::string config = directory_ + "/sentinel.conf";
        std::ofstream(config) << "port " << port << "\ndir " << directory_ << "\n"
                              << sentinel_config_;
        argv.insert(argv.end(), {config, "--sentinel"});
    } else {
        argv.insert(argv.end(), {"--bind", "127.0.0.1", "--port", std::to_string(port), "--save",
                                 "", "--appendonly", "no", "--dir", directory_});
        argv.insert(argv.end(), extra_.begin(), extra_.end());
    }
    process_ = std::make_unique<ChildProcess>(argv, directory_ + "/redis.log");
    port_ = port;
    const bool up = eventually(
        [&] {
            const std::string pong = command({"PING"});
            return !process_->running() || pong == "PONG" || pong.starts_with("NOAUTH");
        },
        std::chrono::seconds(10));
    if (up && process_->running())
        return true;
    process_.reset();
    return false;
}

void RedisTestServer::stop() {
    resume(); // a stopped process would not see the SIGTERM
    if (process_)
        process_->stop();
    process_.reset();
}

void RedisTestServer::start() {
    stop();
    if (!spawn(port_))
        throw std::runtime_error("redis-server did not start again on port " +
                                 std::to_string(port_));
}

void RedisTestServer::pause() {
    if (process_)
        process_->signal(SIGSTOP);
}

void RedisTestServer::resume() {
    if (process_)
        process_->signal(SIGCONT);
}

std::string RedisTestServer::command(const std::vector<std::string>& words) const {
    redisContext* context = redisConnectWithTimeout("127.0.0.1", port_, {1, 0});
    if (context == nullptr)
        return "";
    std::string text;
    if (context->err == 0 && redisSetTimeout(context, {10, 0}) == REDIS_OK) {
        std::vector<const char*> argv;
        std::vector<std::size_t> lengths;
        for (const std::string& word : words) {
            argv.push_back(word.c_str());
            lengths.push_back(word.size());
        }
        auto* reply = static_cast<redisReply*>(
            redisCommandArgv(context, static_cast<int>(argv.size()), argv.data(), lengths.data()));
        text = reply_text(reply);
        if (reply != nullptr)
            freeReplyObject(reply);
    }
    redisFree(context);
    return text;
}

} // namespace mailwarden::test
