// Unit tests for lib/util/parse: booleans, integers, durations, sizes, and their overflow bounds.
#include "util/parse.hh"

#include <boost/test/unit_test.hpp>

using namespace mailwarden::util;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(parse)

BOOST_AUTO_TEST_CASE(durations_accept_units_ms_s_m_h_d_w) {
    const std::vector<std::pair<std::string_view, std::chrono::milliseconds>> cases{
        {"30s", 30s}, {"5m", 5min}, {"1h", 1h},  {"500ms", 500ms},
        {"2d", 48h},  {"1w", 168h}, {"45", 45s}, {"0s", 0ms},
    };
    for (const auto& [input, expected] : cases) {
        BOOST_TEST_CONTEXT(input) {
            const auto parsed = parse_duration(input);
            BOOST_REQUIRE(parsed.has_value());
            BOOST_TEST(parsed->count() == expected.count());
        }
    }
}

BOOST_AUTO_TEST_CASE(durations_reject_garbage_negative_and_overflow) {
    for (std::string_view input : {"", "s", "-5s", "5 s", "5x", "5S", "1.5s", " 5s",
                                   "9223372036854775807s", "99999999999999999999", "5ss"}) {
        BOOST_TEST_CONTEXT(input) {
            BOOST_TEST(!parse_duration(input).has_value());
        }
    }
}

BOOST_AUTO_TEST_CASE(sizes_accept_binary_units_k_M_G_T) {
    const std::vector<std::pair<std::string_view, std::uint64_t>> cases{
        {"10M", 10ULL << 20},
        {"1G", 1ULL << 30},
        {"512k", 512ULL << 10},
        {"512K", 512ULL << 10},
        {"1T", 1ULL << 40},
        {"100", 100},
        {"10MB", 10ULL << 20},
        {"10MiB", 10ULL << 20},
        {"7B", 7},
        {"0", 0},
    };
    for (const auto& [input, expected] : cases) {
        BOOST_TEST_CONTEXT(input) {
            const auto parsed = parse_size(input);
            BOOST_REQUIRE(parsed.has_value());
            BOOST_TEST(*parsed == expected);
        }
    }
}

BOOST_AUTO_TEST_CASE(sizes_reject_garbage_and_uint64_overflow) {
    for (std::string_view input :
         {"", "M", "-1M", "10X", "1.5G", "18446744073709551616", "17179869184G", "16777216T"}) {
        BOOST_TEST_CONTEXT(input) {
            BOOST_TEST(!parse_size(input).has_value());
        }
    }
    BOOST_TEST(parse_size("16777215T").has_value()); // largest whole-T value below 2^64
}

BOOST_AUTO_TEST_CASE(booleans_yes_no_true_false_on_off_1_0) {
    const std::vector<std::pair<std::string_view, bool>> cases{
        {"yes", true}, {"YES", true}, {"true", true},   {"on", true},   {"1", true},
        {"no", false}, {"No", false}, {"false", false}, {"off", false}, {"0", false},
    };
    for (const auto& [input, expected] : cases) {
        BOOST_TEST_CONTEXT(input) {
            BOOST_TEST((parse_bool(input) == std::optional<bool>(expected)));
        }
    }
    for (std::string_view input : {"", "y", "2", "yes please"})
        BOOST_TEST(!parse_bool(input).has_value());
}

BOOST_AUTO_TEST_CASE(integers_reject_long_long_overflow) {
    BOOST_TEST((parse_int("42") == std::optional<long long>(42)));
    BOOST_TEST((parse_int("-7") == std::optional<long long>(-7)));
    BOOST_TEST((parse_int("+7") == std::optional<long long>(7)));
    BOOST_TEST((parse_int("9223372036854775807") == std::optional<long long>(LLONG_MAX)));
    for (std::string_view input : {"", "9223372036854775808", "12a", "1 2", "0x10", "+-1"})
        BOOST_TEST_CONTEXT(input) {
            BOOST_TEST(!parse_int(input).has_value());
        }
}

BOOST_AUTO_TEST_CASE(format_round_trips_through_parse) {
    for (auto duration : {0ms, 1500ms, 30000ms, 300000ms, 3600000ms, 86400000ms, 61000ms}) {
        BOOST_TEST_CONTEXT(duration.count()) {
            BOOST_TEST(parse_duration(format_duration(duration))->count() == duration.count());
        }
    }
    BOOST_TEST(format_duration(300s) == "5m");
    BOOST_TEST(format_duration(1500ms) == "1500ms");
    for (std::uint64_t bytes : {0ULL, 1ULL, 1024ULL, 10ULL << 20, (1ULL << 30) + 1, 3ULL << 40})
        BOOST_TEST_CONTEXT(bytes) {
            BOOST_TEST(*parse_size(format_size(bytes)) == bytes);
        }
    BOOST_TEST(format_size(10ULL << 20) == "10M");
}

BOOST_AUTO_TEST_CASE(split_words_on_spaces_tabs_and_commas) {
    const auto words = split_words(" a, b\tc,,d ");
    BOOST_TEST(words == (std::vector<std::string_view>{"a", "b", "c", "d"}),
               boost::test_tools::per_element());
    BOOST_TEST(trim("  x y \r\n") == "x y");
}

BOOST_AUTO_TEST_SUITE_END()
