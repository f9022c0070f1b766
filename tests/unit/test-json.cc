// util/json: string literals for any bytes, and the object writer.
#include "util/json.hh"
#include "util/utf8.hh"

#include <boost/test/unit_test.hpp>

#include <random>

using mailwarden::util::json_quote;
using mailwarden::util::JsonObject;

BOOST_AUTO_TEST_SUITE(json)

BOOST_AUTO_TEST_CASE(quote_escapes_what_json_requires) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"plain", "\"plain\""},
        {"a\"b\\c", "\"a\\\"b\\\\c\""},
        {"line\r\nnext\ttab", "\"line\\r\\nnext\\ttab\""},
        {std::string("nul\0bell\x07", 9), "\"nul\\u0000bell\\u0007\""},
        {"caf\xc3\xa9 \xe2\x82\xac", "\"caf\xc3\xa9 \xe2\x82\xac\""}, // valid UTF-8 kept
        {"bad\xff\xc3", "\"bad\\u00ff\\u00c3\""},                     // invalid bytes escaped
        {"\xed\xa0\x80", "\"\\u00ed\\u00a0\\u0080\""},                // surrogate
        {"\x7f", "\"\\u007f\""},
    };
    for (const auto& [input, expected] : cases)
        BOOST_TEST(json_quote(input) == expected);
}

BOOST_AUTO_TEST_CASE(quote_of_random_bytes_is_valid_utf8_without_controls) {
    std::mt19937 random(42);
    for (int round = 0; round < 2000; ++round) {
        std::string bytes(static_cast<std::size_t>(random() % 40), '\0');
        for (char& c : bytes)
            c = static_cast<char>(random());
        const std::string quoted = json_quote(bytes);
        BOOST_TEST(mailwarden::util::valid_utf8(quoted));
        for (char c : quoted)
            BOOST_TEST((static_cast<unsigned char>(c) >= 0x20 && c != 0x7f));
    }
}

BOOST_AUTO_TEST_CASE(object_writer_separates_and_nests) {
    const std::string inner = JsonObject().string("result", "pass").number("bits", 2048).finish();
    const std::string outer =
        JsonObject().raw("dkim", "[" + inner + "]").boolean("outbound", false).finish();
    BOOST_TEST(outer == R"({"dkim": [{"result": "pass", "bits": 2048}], "outbound": false})");
    BOOST_TEST(JsonObject().finish() == "{}");
}

BOOST_AUTO_TEST_SUITE_END()
