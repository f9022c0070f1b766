// Unit tests for util/escape: which bytes are escaped, and the output bound with its
// truncation marker. Fails by Boost.Test assertion.
#include <boost/test/unit_test.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "util/escape.hh"

using mailwarden::util::escape_log_value;
using mailwarden::util::escape_log_value_quotable;
using namespace std::string_literals;

namespace {
struct EscapeCase {
    std::string input;
    std::string expected;
};

// True if text is whole UTF-8 sequences only (checked loosely: lead and continuation counts).
bool utf8_sequences_complete(std::string_view text) {
    std::size_t pending = 0;
    for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        if (pending > 0) {
            if ((byte & 0xC0) != 0x80) {
                return false;
            }
            --pending;
        } else if (byte >= 0xF0) {
            pending = 3;
        } else if (byte >= 0xE0) {
            pending = 2;
        } else if (byte >= 0xC0) {
            pending = 1;
        } else if (byte >= 0x80) {
            return false;
        }
    }
    return pending == 0;
}
} // namespace

BOOST_AUTO_TEST_SUITE(escape)

BOOST_AUTO_TEST_CASE(escapes_controls_backslash_and_invalid_utf8_keeps_valid_utf8) {
    const std::vector<EscapeCase> cases{
        {"", ""},
        {"mx.example.org[192.0.2.7]", "mx.example.org[192.0.2.7]"},
        {"<a@example.org>", "<a@example.org>"},
        {"say \"hi\" = ok", "say \"hi\" = ok"}, // quotes are the record layer's business
        {"a\\b", "a\\\\b"},
        {"line1\r\nline2", "line1\\r\\nline2"},
        {"tab\there", "tab\\there"},
        {"nul\0byte"s, "nul\\x00byte"},
        {"\x01\x1b[31m\x1f", "\\x01\\x1b[31m\\x1f"},
        {"del\x7f", "del\\x7f"},
        // Valid multibyte UTF-8 is kept: 2, 3 and 4 byte sequences, NBSP, U+FFFF, U+10FFFF.
        {"caf\xc3\xa9", "caf\xc3\xa9"},
        {"\xe2\x82\xac 5", "\xe2\x82\xac 5"},
        {"\xf0\x9f\x93\xa7", "\xf0\x9f\x93\xa7"},
        {"\xc2\xa0", "\xc2\xa0"},
        {"\xef\xbf\xbf", "\xef\xbf\xbf"},
        {"\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"},
        // C1 controls (U+0080..U+009F) are escaped byte by byte.
        {"\xc2\x80", "\\xc2\\x80"},
        {"a\xc2\x85z", "a\\xc2\\x85z"},
        {"\xc2\x9f", "\\xc2\\x9f"},
        // Invalid: lone continuation, bad lead bytes, truncated sequences.
        {"\x80", "\\x80"},
        {"\xbf", "\\xbf"},
        {"\xff\xfe", "\\xff\\xfe"},
        {"\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80"},
        {"\xc3", "\\xc3"},
        {"\xc3z", "\\xc3z"},
        {"\xe2\x82", "\\xe2\\x82"},
        {"\xf0\x9f\x93", "\\xf0\\x9f\\x93"},
        // Latin-1 text is not UTF-8.
        {"caf\xe9", "caf\\xe9"},
        // Overlong forms.
        {"\xc0\xaf", "\\xc0\\xaf"},
        {"\xc1\xbf", "\\xc1\\xbf"},
        {"\xe0\x80\xaf", "\\xe0\\x80\\xaf"},
        {"\xe0\x9f\xbf", "\\xe0\\x9f\\xbf"},
        {"\xf0\x80\x80\xaf", "\\xf0\\x80\\x80\\xaf"},
        {"\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf"},
        // Surrogates U+D800 and U+DFFF; U+D7FF just below is fine.
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},
        {"\xed\xbf\xbf", "\\xed\\xbf\\xbf"},
        {"\xed\x9f\xbf", "\xed\x9f\xbf"},
        // Above U+10FFFF.
        {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"},
        // Resynchronises after a bad byte: the valid sequence that follows is kept.
        {"\xe2\xc3\xa9", "\\xe2\xc3\xa9"},
    };
    for (const auto& [input, expected] : cases) {
        BOOST_TEST_CONTEXT("input of " << input.size() << " bytes, expected \"" << expected
                                       << "\"") {
            BOOST_TEST(escape_log_value(input) == expected);
        }
    }
}

BOOST_AUTO_TEST_CASE(output_never_holds_cr_lf_nul_or_ascii_controls) {
    std::string every_byte;
    for (int byte = 0; byte < 256; ++byte) {
        every_byte += static_cast<char>(byte);
    }
    const std::string escaped = escape_log_value(every_byte, 4096);
    for (const char c : escaped) {
        const auto byte = static_cast<unsigned char>(c);
        BOOST_TEST((byte >= 0x20 && byte != 0x7f));
        BOOST_TEST(byte < 0x80); // no byte is valid UTF-8 on its own
    }
}

BOOST_AUTO_TEST_CASE(quotable_form_escapes_double_quote) {
    const std::vector<EscapeCase> cases{
        {"say \"hi\"", "say \\\"hi\\\""},
        {"\\\"", "\\\\\\\""},
        {"plain", "plain"},
    };
    for (const auto& [input, expected] : cases) {
        BOOST_TEST(escape_log_value_quotable(input) == expected);
    }
}

BOOST_AUTO_TEST_CASE(output_at_most_max_bytes_with_dots_marking_truncation) {
    const std::vector<std::pair<EscapeCase, std::size_t>> cases{
        {{"abcdef", "abcdef"}, 6},  // exact fit is not truncated
        {{"abcdefg", "abc..."}, 6}, // one byte over
        {{"abcdefgh", "abcdefgh"}, 8},
        {{"abcdefghi", "abcde..."}, 8},
        {{"\n\n\n\n", "\\n..."}, 6},  // "\n" units are not split
        {{"\x01\x02\x03", "..."}, 6}, // "\x01" would leave no room for the marker
        {{"\x01\x02", "\\x01\\x02"}, 8},
        {{"abc", "abc"}, 3},
        {{"abcd", "..."}, 3},
        {{"abcd", ".."}, 2},
        {{"abcd", ""}, 0},
        {{"", ""}, 0},
    };
    for (const auto& [escape_case, max_bytes] : cases) {
        BOOST_TEST_CONTEXT("\"" << escape_case.input << "\" max " << max_bytes) {
            const std::string escaped = escape_log_value(escape_case.input, max_bytes);
            BOOST_TEST(escaped == escape_case.expected);
            BOOST_TEST(escaped.size() <= max_bytes);
        }
    }
}

BOOST_AUTO_TEST_CASE(truncation_never_splits_a_utf8_sequence) {
    // 100 euro signs (3 bytes each), 4-byte emoji and 2-byte letters, cut at every bound.
    std::string text;
    for (int i = 0; i < 40; ++i) {
        text += "\xe2\x82\xac\xf0\x9f\x93\xa7\xc3\xa9";
    }
    for (std::size_t max_bytes = 0; max_bytes <= text.size() + 1; ++max_bytes) {
        BOOST_TEST_CONTEXT("max " << max_bytes) {
            const std::string escaped = escape_log_value(text, max_bytes);
            BOOST_TEST(escaped.size() <= max_bytes);
            BOOST_TEST(utf8_sequences_complete(escaped));
            if (max_bytes >= text.size()) {
                BOOST_TEST(escaped == text);
            } else {
                // Below 3 bytes the marker itself is cut: only dots remain.
                BOOST_TEST(escaped.ends_with(std::string_view("...").substr(0, max_bytes)));
                // Drops at most one whole sequence (4 bytes) beyond the marker's room.
                BOOST_TEST(escaped.size() + 4 > max_bytes);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(default_bound_is_256_bytes_even_for_megabyte_input) {
    const std::string huge(1 << 20, 'A');
    const std::string escaped = escape_log_value(huge);
    BOOST_TEST(escaped.size() == 256u);
    BOOST_TEST(escaped == std::string(253, 'A') + "...");
    const std::string all_controls(1 << 20, '\x01');
    BOOST_TEST(escape_log_value(all_controls).size() <= 256u);
}

BOOST_AUTO_TEST_SUITE_END()
