// Logging: syslog with a configurable facility and ident, optionally mirrored to stderr
// (-f, foreground), one key=value record per line. Thread-safe: libmilter calls in from
// many threads. Logging never throws to its caller and never fails a mail transaction: a
// missing syslog socket or a closed stderr loses the line, nothing else.
#pragma once

#include <syslog.h>

#include <charconv>
#include <concepts>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "util/escape.hh"

namespace mailwarden::util {

// Ordered from most to least severe; a threshold keeps its own level and the ones above.
enum class Severity { error, warning, notice, info, debug };

struct LogSettings {
    std::string ident;        // program name, e.g. "mailwarden-milter"
    int facility = LOG_MAIL;  // <syslog.h> facility
    bool also_stderr = false; // -f: foreground, also write to stderr
    Severity threshold = Severity::info;
};

// mail, daemon, user, local0..local7 (lower case, as in the configuration file).
std::optional<int> syslog_facility_from_name(std::string_view name);
// error, warning, notice, info, debug.
std::optional<Severity> severity_from_name(std::string_view name);
std::string_view severity_name(Severity);

// Thread-safe; called again on SIGHUP reload (from the main loop, not from the handler:
// it is not async-signal-safe). Before the first call, lines go to syslog with the
// C library's default ident (program name) and facility mail, threshold info, no stderr.
void log_configure(const LogSettings& settings);
// True if a line of this severity would be written; lets callers skip building it.
bool log_enabled(Severity severity);
// One line, as given (the caller escaped it). Dropped if below the threshold.
void log_write(Severity severity, std::string_view line);

// One key=value line. Values are escaped with escape_log_value; emitted by emit() or the
// destructor. A value that is empty or holds a space, '"' or '=' is written in double
// quotes with inner '"' as \" (backslashes are already \\ from the escaping), so one
// C-style unescaping pass recovers the text.
class LogRecord {
public:
    // Bound on the escaped form of one kv() value and of one text() part.
    static constexpr std::size_t max_value_bytes = default_log_value_bytes;
    static constexpr std::size_t max_text_bytes = 512;

    explicit LogRecord(Severity severity);
    LogRecord(const LogRecord&) = delete; // a copy would log the line twice
    LogRecord& operator=(const LogRecord&) = delete;
    ~LogRecord(); // emits if not yet emitted (must not throw)

    LogRecord& kv(std::string_view key, std::string_view value);
    LogRecord& kv(std::string_view key, const char* value); // nullptr logs as ""
    template <std::integral Integer> LogRecord& kv(std::string_view key, Integer value) {
        if constexpr (std::same_as<Integer, bool>) {
            return append_field(key, value ? "yes" : "no");
        } else {
            char digits[48];
            const auto result = std::to_chars(digits, digits + sizeof digits, value);
            return append_field(key, std::string_view(digits, result.ptr - digits));
        }
    }
    LogRecord& kv(std::string_view key, double value); // one decimal, e.g. ms=3.1
    // A free-text prefix/message part (e.g. the queue id "4QkZ3T1x:"), escaped, not quoted.
    LogRecord& text(std::string_view message);

    std::string str() const; // the line as it would be logged
    void emit();             // idempotent

private:
    // value must already be safe for the line (digits, or escaped and maybe quoted).
    LogRecord& append_field(std::string_view key, std::string_view value);
    void append_separator();

    Severity severity_;
    bool emitted_ = false;
    std::string line_;
};

} // namespace mailwarden::util
