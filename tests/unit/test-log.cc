// Unit tests for util/log and util/rate_limited_log: name tables, key=value record
// formatting, the severity threshold and stderr format, and the warning rate limiter with
// an injected clock. Fails by Boost.Test assertion.
#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "log_capture.hh"
#include "util/log.hh"
#include "util/rate_limited_log.hh"

using namespace mailwarden::util;
using namespace std::chrono_literals;
using mailwarden::test::DefaultLogSettings;
using mailwarden::test::StderrCapture;

namespace {
struct RecordCase {
    std::string value;
    std::string expected_field;
};

} // namespace

BOOST_AUTO_TEST_SUITE(logging) // not "log": that names the C math function

BOOST_AUTO_TEST_CASE(facility_names_accept_mail_daemon_user_local0_to_local7_only) {
    BOOST_TEST(syslog_facility_from_name("mail").value() == LOG_MAIL);
    BOOST_TEST(syslog_facility_from_name("daemon").value() == LOG_DAEMON);
    BOOST_TEST(syslog_facility_from_name("user").value() == LOG_USER);
    BOOST_TEST(syslog_facility_from_name("local0").value() == LOG_LOCAL0);
    BOOST_TEST(syslog_facility_from_name("local7").value() == LOG_LOCAL7);
    for (const char* bad : {"", "MAIL", "local8", "kern", "auth", "mail ", "local"}) {
        BOOST_TEST(!syslog_facility_from_name(bad).has_value(), bad);
    }
}

BOOST_AUTO_TEST_CASE(severity_names_round_trip_and_reject_unknown) {
    for (const auto severity :
         {Severity::error, Severity::warning, Severity::notice, Severity::info, Severity::debug}) {
        BOOST_TEST((severity_from_name(severity_name(severity)) == severity));
    }
    BOOST_TEST(severity_name(Severity::warning) == "warning");
    for (const char* bad : {"", "warn", "err", "Info", "critical"}) {
        BOOST_TEST(!severity_from_name(bad).has_value(), bad);
    }
}

BOOST_AUTO_TEST_CASE(record_quotes_values_with_space_quote_equals_or_empty) {
    const std::vector<RecordCase> cases{
        {"mx.example.org[192.0.2.7]", "k=mx.example.org[192.0.2.7]"},
        {"<a@example.org>", "k=<a@example.org>"},
        {"", "k=\"\""},
        {"two words", "k=\"two words\""},
        {"a=b", "k=\"a=b\""},
        {"say \"hi\"", "k=\"say \\\"hi\\\"\""},
        {"back\\slash", "k=back\\\\slash"},
        {"back\\ slash", "k=\"back\\\\ slash\""},
        {"evil\r\nfake=record", "k=\"evil\\r\\nfake=record\""},
        {"evil\nline", "k=evil\\nline"},
    };
    for (const auto& [value, expected_field] : cases) {
        LogRecord record(Severity::debug);
        record.kv("k", value);
        BOOST_TEST(record.str() == expected_field);
        record.emit();
    }
}

BOOST_AUTO_TEST_CASE(record_matches_design_summary_line) {
    LogRecord record(Severity::debug);
    record.text("4QkZ3T1x:")
        .kv("client", "mx.example.org[192.0.2.7]")
        .kv("from", "<a@example.org>")
        .kv("spf", "pass")
        .kv("rep", "+0.8")
        .kv("ms", 3.14159)
        .kv("size", 12345u)
        .kv("rcpts", -1)
        .kv("tls", true)
        .kv("missing", static_cast<const char*>(nullptr));
    BOOST_TEST(record.str() == "4QkZ3T1x: client=mx.example.org[192.0.2.7] from=<a@example.org> "
                               "spf=pass rep=+0.8 ms=3.1 size=12345 rcpts=-1 tls=yes missing=\"\"");
    record.emit();
}

BOOST_AUTO_TEST_CASE(record_numbers_cover_full_range_and_one_decimal) {
    LogRecord record(Severity::debug);
    record.kv("max", std::numeric_limits<std::uint64_t>::max())
        .kv("min", std::numeric_limits<long long>::min())
        .kv("zero", 0.0)
        .kv("round", 2.96)
        .kv("big", 1e20);
    BOOST_TEST(record.str() == "max=18446744073709551615 min=-9223372036854775808 zero=0.0 "
                               "round=3.0 big=100000000000000000000.0");
    record.emit();
}

BOOST_AUTO_TEST_CASE(record_value_bounded_by_max_value_bytes_text_by_max_text_bytes) {
    const std::string huge(100000, 'x');
    LogRecord record(Severity::debug);
    record.kv("k", huge);
    BOOST_TEST(record.str().size() == 2 + LogRecord::max_value_bytes);
    BOOST_TEST(record.str().ends_with("..."));
    LogRecord message(Severity::debug);
    message.text(huge);
    BOOST_TEST(message.str().size() == LogRecord::max_text_bytes);
    record.emit();
    message.emit();
}

BOOST_AUTO_TEST_CASE(record_keys_outside_safe_charset_become_underscore) {
    LogRecord record(Severity::debug);
    record.kv("bad key=", "v").kv("", "w").kv("ok_key.1-a", "z");
    BOOST_TEST(record.str() == "bad_key_=v _=w ok_key.1-a=z");
    record.emit();
}

BOOST_AUTO_TEST_CASE(stderr_line_is_ident_pid_severity_and_drops_below_threshold) {
    const DefaultLogSettings restore;
    const StderrCapture capture;
    log_configure(LogSettings{.ident = "mw-test",
                              .facility = LOG_USER,
                              .also_stderr = true,
                              .threshold = Severity::notice});
    BOOST_TEST(log_enabled(Severity::notice));
    BOOST_TEST(!log_enabled(Severity::info));
    log_write(Severity::warning, "redis down");
    log_write(Severity::info, "dropped below threshold");
    log_write(Severity::debug, "dropped below threshold");
    LogRecord(Severity::error).text("4QkZ3T1x:").kv("action", "tempfail");
    {
        LogRecord record(Severity::notice);
        record.kv("emitted", "once");
        record.emit();
        record.emit();
    } // destructor does not log it again
    const std::string pid = std::to_string(::getpid());
    BOOST_TEST(capture.captured() == "mw-test[" + pid + "]: warning: redis down\n" + "mw-test[" +
                                         pid + "]: error: 4QkZ3T1x: action=tempfail\n" +
                                         "mw-test[" + pid + "]: notice: emitted=once\n");
}

BOOST_AUTO_TEST_CASE(rate_limiter_admits_one_line_per_category_per_interval) {
    RateLimitedLog limiter(10s);
    const std::chrono::steady_clock::time_point start{};
    std::uint64_t suppressed = 99;
    BOOST_TEST(limiter.admit("redis", start, suppressed));
    BOOST_TEST(suppressed == 0u);
    BOOST_TEST(!limiter.admit("redis", start + 1s, suppressed));
    BOOST_TEST(suppressed == 1u);
    BOOST_TEST(!limiter.admit("redis", start + 9999ms, suppressed));
    BOOST_TEST(suppressed == 2u);
    // Another category has its own budget.
    BOOST_TEST(limiter.admit("dns", start + 5s, suppressed));
    BOOST_TEST(suppressed == 0u);
    // At the interval the next line passes and reports what was dropped since the last one.
    BOOST_TEST(limiter.admit("redis", start + 10s, suppressed));
    BOOST_TEST(suppressed == 2u);
    BOOST_TEST(!limiter.admit("redis", start + 11s, suppressed));
    BOOST_TEST(suppressed == 1u);
    // A quiet spell: the count restarts after it is reported.
    BOOST_TEST(limiter.admit("redis", start + 1h, suppressed));
    BOOST_TEST(suppressed == 1u);
    BOOST_TEST(limiter.admit("redis", start + 2h, suppressed));
    BOOST_TEST(suppressed == 0u);
}

BOOST_AUTO_TEST_CASE(rate_limiter_with_zero_interval_admits_everything) {
    RateLimitedLog limiter(0s);
    const std::chrono::steady_clock::time_point start{};
    std::uint64_t suppressed = 0;
    for (int i = 0; i < 5; ++i) {
        BOOST_TEST(limiter.admit("redis", start, suppressed));
        BOOST_TEST(suppressed == 0u);
    }
}

BOOST_AUTO_TEST_CASE(rate_limiter_categories_bounded_by_max_categories) {
    RateLimitedLog limiter(60s);
    const std::chrono::steady_clock::time_point start{};
    std::uint64_t suppressed = 0;
    for (std::size_t i = 0; i < RateLimitedLog::max_categories; ++i) {
        BOOST_TEST_REQUIRE(limiter.admit("category" + std::to_string(i), start, suppressed));
    }
    // Past the bound, new categories share one budget.
    BOOST_TEST(limiter.admit("attacker-chosen-1", start, suppressed));
    BOOST_TEST(!limiter.admit("attacker-chosen-2", start, suppressed));
    BOOST_TEST(suppressed == 1u);
    // Known categories keep their own.
    BOOST_TEST(!limiter.admit("category0", start + 1s, suppressed));
    BOOST_TEST(suppressed == 1u);
}

BOOST_AUTO_TEST_CASE(rate_limited_line_carries_suppressed_count) {
    BOOST_TEST(RateLimitedLog::with_suppressed_count("redis: connection refused", 0) ==
               "redis: connection refused");
    BOOST_TEST(RateLimitedLog::with_suppressed_count("redis: connection refused", 41) ==
               "redis: connection refused suppressed=41");
}

BOOST_AUTO_TEST_CASE(rate_limited_warn_writes_first_line_and_suppresses_repeat) {
    const DefaultLogSettings restore;
    const StderrCapture capture;
    log_configure(LogSettings{.ident = "mw-test", .facility = LOG_USER, .also_stderr = true});
    RateLimitedLog limiter(3600s);
    limiter.warn("redis", "redis=down");
    limiter.warn("redis", "redis=down");
    const std::string pid = std::to_string(::getpid());
    BOOST_TEST(capture.captured() == "mw-test[" + pid + "]: warning: redis=down\n");
}

BOOST_AUTO_TEST_SUITE_END()
