// Logging to syslog and, in the foreground, to stderr; see log.hh for the contract.
// Reads the settings given to log_configure (syslog_facility, the program name, -f, the
// log level). Fails silently: syslog(3) drops lines when /dev/log is missing, and a failed
// stderr write is not retried beyond EINTR, so logging can never stop mail.
#include "util/log.hh"

#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <climits>
#include <list>
#include <shared_mutex>
#include <utility>

#include "util/lock_guarded.hh"

namespace mailwarden::util {
namespace {

struct LoggerState {
    LogSettings settings;
    // openlog keeps the ident pointer, and libraries may call syslog outside our lock, so
    // every ident ever passed to openlog stays alive (one string per distinct reload).
    std::list<std::string> idents;
};

// Writers (log_write) share the lock; log_configure takes it exclusively.
LockGuarded<LoggerState, std::shared_mutex>& logger_state() {
    static LockGuarded<LoggerState, std::shared_mutex> state;
    return state;
}

// Copy of settings.threshold readable without the lock, so dropped lines cost one load.
std::atomic<Severity> threshold{Severity::info};

constexpr std::array<std::pair<std::string_view, Severity>, 5> severity_names{{
    {"error", Severity::error},
    {"warning", Severity::warning},
    {"notice", Severity::notice},
    {"info", Severity::info},
    {"debug", Severity::debug},
}};

constexpr std::array<std::pair<std::string_view, int>, 11> facility_names{{
    {"mail", LOG_MAIL},
    {"daemon", LOG_DAEMON},
    {"user", LOG_USER},
    {"local0", LOG_LOCAL0},
    {"local1", LOG_LOCAL1},
    {"local2", LOG_LOCAL2},
    {"local3", LOG_LOCAL3},
    {"local4", LOG_LOCAL4},
    {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6},
    {"local7", LOG_LOCAL7},
}};

int syslog_level(Severity severity) {
    switch (severity) {
    case Severity::error:
        return LOG_ERR;
    case Severity::warning:
        return LOG_WARNING;
    case Severity::notice:
        return LOG_NOTICE;
    case Severity::info:
        return LOG_INFO;
    case Severity::debug:
        return LOG_DEBUG;
    }
    return LOG_ERR;
}

// "ident[pid]: severity: line\n" in one writev, so concurrent lines do not interleave
// (atomic for pipes up to PIPE_BUF) and nothing is allocated.
void write_stderr(std::string_view ident, Severity severity, std::string_view line) {
    if (ident.empty()) {
        ident = program_invocation_short_name;
    }
    char pid_digits[24];
    const auto pid_end = std::to_chars(pid_digits, pid_digits + sizeof pid_digits, ::getpid()).ptr;
    const std::string_view name = severity_name(severity);
    const auto part = [](std::string_view text) {
        return iovec{const_cast<char*>(text.data()), text.size()};
    };
    std::array<iovec, 8> parts{
        part(ident), part("["),  part(std::string_view(pid_digits, pid_end - pid_digits)),
        part("]: "), part(name), part(": "),
        part(line),  part("\n"),
    };
    while (::writev(STDERR_FILENO, parts.data(), static_cast<int>(parts.size())) < 0 &&
           errno == EINTR) {
    }
}

} // namespace

std::optional<int> syslog_facility_from_name(std::string_view name) {
    for (const auto& [facility_name, facility] : facility_names) {
        if (facility_name == name) {
            return facility;
        }
    }
    return std::nullopt;
}

std::optional<Severity> severity_from_name(std::string_view name) {
    for (const auto& [known_name, severity] : severity_names) {
        if (known_name == name) {
            return severity;
        }
    }
    return std::nullopt;
}

std::string_view severity_name(Severity severity) {
    for (const auto& [name, known] : severity_names) {
        if (known == severity) {
            return name;
        }
    }
    return "unknown";
}

void log_configure(const LogSettings& settings) {
    auto state = logger_state().lock();
    if (state->idents.empty() || state->idents.back() != settings.ident) {
        state->idents.push_back(settings.ident);
    }
    state->settings = settings;
    ::closelog();
    const std::string& ident = state->idents.back();
    ::openlog(ident.empty() ? nullptr : ident.c_str(), LOG_PID | LOG_NDELAY, settings.facility);
    threshold.store(settings.threshold, std::memory_order_relaxed);
}

bool log_enabled(Severity severity) {
    return severity <= threshold.load(std::memory_order_relaxed);
}

void log_write(Severity severity, std::string_view line) {
    if (!log_enabled(severity)) {
        return;
    }
    const auto state = logger_state().read_lock();
    const int length = line.size() > INT_MAX ? INT_MAX : static_cast<int>(line.size());
    ::syslog(state->settings.facility | syslog_level(severity), "%.*s", length, line.data());
    if (state->settings.also_stderr) {
        write_stderr(state->settings.ident, severity, line);
    }
}

LogRecord::LogRecord(Severity severity) : severity_(severity) {}

LogRecord::~LogRecord() {
    try {
        emit();
    } catch (...) { // NOLINT(bugprone-empty-catch): a destructor must not throw
    }
}

LogRecord& LogRecord::kv(std::string_view key, std::string_view value) {
    std::string escaped = escape_log_value_quotable(value, max_value_bytes);
    if (escaped.empty() || escaped.find_first_of(" \"=") != std::string::npos) {
        escaped.insert(escaped.begin(), '"');
        escaped.push_back('"');
    }
    return append_field(key, escaped);
}

LogRecord& LogRecord::kv(std::string_view key, const char* value) {
    return kv(key, value == nullptr ? std::string_view() : std::string_view(value));
}

LogRecord& LogRecord::kv(std::string_view key, double value) {
    char digits[400]; // fixed notation of DBL_MAX has 309 digits before the point
    const auto result =
        std::to_chars(digits, digits + sizeof digits, value, std::chars_format::fixed, 1);
    return append_field(key, std::string_view(digits, result.ptr - digits));
}

LogRecord& LogRecord::text(std::string_view message) {
    const std::string escaped = escape_log_value(message, max_text_bytes);
    if (!escaped.empty()) {
        append_separator();
        line_ += escaped;
    }
    return *this;
}

std::string LogRecord::str() const {
    return line_;
}

void LogRecord::emit() {
    if (emitted_) {
        return;
    }
    emitted_ = true;
    log_write(severity_, line_);
}

LogRecord& LogRecord::append_field(std::string_view key, std::string_view value) {
    append_separator();
    if (key.empty()) {
        line_ += '_';
    }
    // Keys are program constants; anything outside [A-Za-z0-9_.-] is a bug, kept harmless.
    for (const char c : key) {
        const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                           (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
        line_ += plain ? c : '_';
    }
    line_ += '=';
    line_ += value;
    return *this;
}

void LogRecord::append_separator() {
    if (!line_.empty()) {
        line_ += ' ';
    }
}

} // namespace mailwarden::util
