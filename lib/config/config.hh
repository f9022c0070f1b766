// The configuration snapshot and how to get one: parse /etc/mailwarden/mailwarden.conf (or text)
// against the one parameter table in params.cc, dump it back, and swap it live on SIGHUP
// (ConfigHolder). Bad input never throws: it becomes ConfigError values naming file, line and key.
// Getters throw std::logic_error for an unknown name or a wrong type: that is a bug in the caller.
#pragma once

#include "util/cidr.hh"
#include "util/log.hh"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mailwarden::config {

enum class Action { accept, tempfail, reject, quarantine, discard, none };
std::string_view action_name(Action);

// One parsed value; which alternative is used follows the parameter's type in the table.
using Value = std::variant<bool, long long, std::chrono::milliseconds, std::uint64_t, std::string,
                           std::vector<std::string>, util::CidrSet, Action>;

class Config { // immutable snapshot
public:
    bool boolean(std::string_view name) const;
    long long integer(std::string_view name) const;
    std::chrono::milliseconds duration(std::string_view name) const;
    std::uint64_t size(std::string_view name) const;
    const std::string& string(std::string_view name) const; // string and choice parameters
    const std::vector<std::string>& list(std::string_view name) const;
    const util::CidrSet& cidrs(std::string_view name) const;
    Action action(std::string_view name) const;
    const std::string& source_path() const; // "" for defaults

    // The value as the configuration file would spell it (canonical form, loadable again).
    std::string text(std::string_view name) const;
    const Value& value(std::string_view name) const;
    friend bool operator==(const Config&, const Config&) = default;

private:
    friend class ConfigBuilder;
    std::map<std::string, Value, std::less<>> values_;
    std::string source_path_;
};
using ConfigPtr = std::shared_ptr<const Config>;

struct ConfigError {
    std::string file;
    int line = 0; // 0: the error concerns the whole file
    std::string key;
    std::string message;
    std::string to_string() const; // "FILE:LINE: KEY: MESSAGE" (LINE and KEY omitted when unset)
};

struct LoadResult {
    ConfigPtr config; // null when errors is not empty
    std::vector<ConfigError> errors;
    bool ok() const { return errors.empty(); }
};

LoadResult load_config_file(const std::string& path); // missing/unreadable file is an error
LoadResult parse_config_text(std::string_view text, std::string_view file_name);

// What a parsed file is checked for beyond each value's rules (validate.cc): settings that must
// go together and what it names on this host (socket directories and addresses, the state
// file, the user). Errors carry the file and the parameter, line 0.
std::vector<ConfigError> validate(const Config& config);
// More checks from a layer above (the engine's trial build: engine/config_check.hh).
using ConfigCheck = std::function<std::vector<ConfigError>(const Config&)>;
// The one validation path of `mailwarden config check`, a daemon's start and its reload:
// load_config_file, then validate(), then `more`.
LoadResult check_config_file(const std::string& path, const ConfigCheck& more);
ConfigPtr default_config();
std::string default_config_path(); // SYSCONFDIR "/mailwarden/mailwarden.conf"
// "key = value" lines grouped under [section] headers; parse_config_text reads it back.
std::string dump_config(const Config& config, bool non_default_only);

// Where reload() reports: errors with Severity::error, restarts needed with warning, success
// with notice. The default writes to the daemon's log (util::log_write), escaped.
using LogSink = std::function<void(util::Severity severity, std::string_view line)>;

class ConfigHolder { // the live snapshot; connections keep the snapshot they started with
public:
    explicit ConfigHolder(ConfigPtr initial); // logs through util::log_write
    ConfigHolder(ConfigPtr initial, LogSink log_sink);
    // A daemon's: reload() checks the file as check_config_file(path, validator) does.
    ConfigHolder(ConfigPtr initial, ConfigCheck validator);
    ConfigPtr current() const; // thread-safe, lock-free where the platform allows
    // What a daemon builds from a new snapshot before it counts as loaded (its Engine); false
    // when it cannot (it has logged why).
    using Apply = std::function<bool(const ConfigPtr&)>;
    // Loads and checks path, then has `apply` (if any) put the new snapshot to use; on success
    // swaps and returns true, logging "config reloaded" (only then, so that a line read in the
    // log means the new rules are in force) and, for each changed non-reloadable parameter,
    // that it needs a restart (the new snapshot keeps the old value). On failure logs every
    // error, keeps the old snapshot and returns false. Call it from one thread at a time (the
    // daemon's signal-handling thread); current() may be called concurrently from any number
    // of threads.
    bool reload(const std::string& path, const Apply& apply = {});

private:
    std::atomic<std::shared_ptr<const Config>> current_;
    LogSink log_sink_;
    ConfigCheck validator_; // none: the file is only parsed
};

} // namespace mailwarden::config
