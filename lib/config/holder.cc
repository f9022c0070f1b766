// ConfigHolder: the live configuration snapshot, replaced on SIGHUP by a freshly loaded and
// validated one. Readers take a shared_ptr and keep it for the whole connection, so a reload
// never changes the rules in the middle of a transaction. Non-reloadable parameters (sockets,
// user, pid files, backends) keep their old value until restart. Failures are logged through the
// sink and leave the old snapshot in place.
#include "config/config.hh"

#include "config/params.hh"

#include "util/escape.hh"

namespace mailwarden::config {

namespace {

void log_to_daemon_log(util::Severity severity, std::string_view line) {
    // The file is the admin's, but a garbage line must not break the log line either.
    util::log_write(severity, util::escape_log_value(line, 1024));
}

} // namespace

ConfigHolder::ConfigHolder(ConfigPtr initial)
    : ConfigHolder(std::move(initial), log_to_daemon_log) {}

ConfigHolder::ConfigHolder(ConfigPtr initial, LogSink log_sink)
    : current_(initial ? std::move(initial) : default_config()), log_sink_(std::move(log_sink)) {}

ConfigHolder::ConfigHolder(ConfigPtr initial, ConfigCheck validator)
    : ConfigHolder(std::move(initial), log_to_daemon_log) {
    validator_ = std::move(validator);
}

ConfigPtr ConfigHolder::current() const {
    return current_.load();
}

bool ConfigHolder::reload(const std::string& path, const Apply& apply) {
    LoadResult result = validator_ ? check_config_file(path, validator_) : load_config_file(path);
    if (!result.ok()) {
        for (const ConfigError& error : result.errors)
            log_sink_(util::Severity::error, "config reload failed: " + error.to_string());
        log_sink_(util::Severity::error,
                  "config reload failed: keeping the previous configuration");
        return false;
    }
    const ConfigPtr old_config = current();
    Config merged = *result.config;
    for (const ParamDef& param : parameters()) {
        if (param.reloadable || merged.value(param.name) == old_config->value(param.name))
            continue;
        log_sink_(util::Severity::warning,
                  "config: " + std::string(param.name) + " changed to '" + merged.text(param.name) +
                      "'; it needs a restart, keeping '" + old_config->text(param.name) + "'");
        ConfigBuilder::set(merged, param.name, old_config->value(param.name));
    }
    const auto next = std::make_shared<const Config>(std::move(merged));
    if (apply && !apply(next)) {
        log_sink_(util::Severity::error,
                  "config reload failed: keeping the previous configuration");
        return false;
    }
    current_.store(next);
    log_sink_(util::Severity::notice, "config reloaded from " + path);
    return true;
}

} // namespace mailwarden::config
