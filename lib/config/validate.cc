// validate() and check_config_file(): what a configuration is checked for beyond each value's
// own rules (the parser and the table), so that `mailwarden config check`, a daemon that
// starts and a daemon that reloads refuse the same files:
//   - settings that only work together (state_backend = redis and its servers or Sentinels);
//   - what the file names on this host: the directory of a unix socket, an inet socket's
//     address (bound once, to port 0) and a privileged port without root, the LMDB state file
//     or the directory it will be made in, and, when started as root to drop privileges, the
//     user and the socket owner.
// Not checked, because they are not the file's fault: a port already in use, a server that is
// down, the run-time directory of the pid files (the init system makes it). Never throws.
#include "config/config.hh"

#include "util/daemon.hh"
#include "util/socket_spec.hh"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

namespace mailwarden::config {

namespace {

namespace fs = std::filesystem;

class Checker {
public:
    explicit Checker(const Config& config) : config_(config) {}

    std::vector<ConfigError> run() {
        redis_settings();
        socket("milter_socket");
        socket("policy_socket");
        state_file();
        accounts();
        return std::move(errors_);
    }

private:
    void error(std::string_view key, std::string message) {
        errors_.push_back({config_.source_path(), 0, std::string(key), std::move(message)});
    }

    void redis_settings() {
        if (config_.string("state_backend") != "redis")
            return;
        if (config_.list("redis_servers").empty() && config_.list("redis_sentinels").empty())
            error("redis_servers", "state_backend = redis needs redis_servers or redis_sentinels");
        if (!config_.list("redis_sentinels").empty() && config_.string("redis_master_name").empty())
            error("redis_master_name", "redis_sentinels need the name of the master they watch");
    }

    void socket(std::string_view key) {
        const auto spec = util::parse_socket_spec(config_.string(key));
        if (!spec) // the table's validator said why
            return;
        if (spec->kind == util::SocketSpec::Kind::unix_path) {
            const fs::path directory = fs::path(spec->path).parent_path();
            std::error_code ignored;
            if (!fs::is_directory(directory, ignored))
                error(key, "directory " + directory.string() + " does not exist");
            return;
        }
        if (spec->port < unprivileged_port_start() && !util::running_as_root())
            error(key, "port " + std::to_string(spec->port) +
                           " is privileged: only root can listen on it");
        if (const std::string why = bind_error(*spec); !why.empty())
            error(key, "cannot listen on " + spec->address + ": " + why);
    }

    // Whether the address is one of this host's: a bind to port 0 (no port is taken). The
    // address is a literal of its family (parse_socket_spec checked it).
    static std::string bind_error(const util::SocketSpec& spec) {
        sockaddr_storage storage{};
        socklen_t length = 0;
        if (spec.kind == util::SocketSpec::Kind::inet) {
            auto* address = reinterpret_cast<sockaddr_in*>(&storage);
            address->sin_family = AF_INET;
            ::inet_pton(AF_INET, spec.address.c_str(), &address->sin_addr);
            length = sizeof *address;
        } else {
            auto* address = reinterpret_cast<sockaddr_in6*>(&storage);
            address->sin6_family = AF_INET6;
            ::inet_pton(AF_INET6, spec.address.c_str(), &address->sin6_addr);
            length = sizeof *address;
        }
        const int fd = ::socket(storage.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return std::strerror(errno);
        const int bound = ::bind(fd, reinterpret_cast<sockaddr*>(&storage), length);
        const int saved = errno;
        ::close(fd);
        if (bound == 0)
            return "";
        return saved == EADDRNOTAVAIL ? "not an address of this host" : std::strerror(saved);
    }

    static int unprivileged_port_start() {
        int port = 1024;
        std::ifstream("/proc/sys/net/ipv4/ip_unprivileged_port_start") >> port;
        return port;
    }

    // The LMDB file: a file we can read and write, or one we can make (with its directories).
    void state_file() {
        if (config_.string("state_backend") != "lmdb")
            return;
        const fs::path path = config_.string("state_path");
        std::error_code failed;
        if (fs::exists(path, failed)) {
            if (fs::is_directory(path, failed))
                error("state_path", path.string() + " is a directory");
            else if (::access(path.c_str(), R_OK | W_OK) != 0)
                error("state_path",
                      "cannot read and write " + path.string() + ": " + std::strerror(errno));
            return;
        }
        fs::path existing = path.parent_path();
        while (!existing.empty() && existing != existing.root_path() &&
               !fs::exists(existing, failed))
            existing = existing.parent_path();
        if (!fs::is_directory(existing, failed))
            error("state_path", existing.string() + " is not a directory");
        else if (::access(existing.c_str(), W_OK | X_OK) != 0)
            error("state_path", "cannot make " + path.string() + " in " + existing.string() + ": " +
                                    std::strerror(errno));
    }

    // Started as root, a daemon gives its files to `user` and drops to it.
    void accounts() {
        if (!util::running_as_root())
            return;
        if (!config_.boolean("allow_root")) {
            const std::string& user = config_.string("user");
            const passwd* entry = ::getpwnam(user.c_str());
            if (entry == nullptr)
                error("user", "no such user '" + user + "'");
            else if (entry->pw_uid == 0)
                error("user", "'" + user + "' is root (allow_root = yes keeps root)");
        }
        const std::string& owner = config_.string("milter_socket_owner");
        const std::size_t colon = owner.find(':');
        const std::string owner_user = owner.substr(0, colon);
        const std::string owner_group = colon == std::string::npos ? "" : owner.substr(colon + 1);
        if (!owner_user.empty() && ::getpwnam(owner_user.c_str()) == nullptr)
            error("milter_socket_owner", "no such user '" + owner_user + "'");
        if (!owner_group.empty() && ::getgrnam(owner_group.c_str()) == nullptr)
            error("milter_socket_owner", "no such group '" + owner_group + "'");
    }

    const Config& config_;
    std::vector<ConfigError> errors_;
};

} // namespace

std::vector<ConfigError> validate(const Config& config) {
    return Checker(config).run();
}

LoadResult check_config_file(const std::string& path, const ConfigCheck& more) {
    LoadResult result = load_config_file(path);
    if (!result.ok())
        return result;
    std::vector<ConfigError> errors = validate(*result.config);
    if (more)
        for (ConfigError& error : more(*result.config))
            errors.push_back(std::move(error));
    if (!errors.empty())
        return {nullptr, std::move(errors)};
    return result;
}

} // namespace mailwarden::config
