// Unit tests for lib/util/cidr: IPv4/IPv6 CIDR parsing, prefix bounds, and contains().
#include "util/cidr.hh"

#include <arpa/inet.h>
#include <boost/test/unit_test.hpp>
#include <netinet/in.h>

using namespace mailwarden::util;

BOOST_AUTO_TEST_SUITE(cidr)

BOOST_AUTO_TEST_CASE(valid_networks_parse_to_canonical_text) {
    const std::vector<std::pair<std::string_view, std::string_view>> cases{
        {"192.0.2.0/24", "192.0.2.0/24"},
        {"10.0.0.0/8", "10.0.0.0/8"},
        {"192.0.2.7", "192.0.2.7/32"},
        {"0.0.0.0/0", "0.0.0.0/0"},
        {"2001:db8::/32", "2001:db8::/32"},
        {"::1", "::1/128"},
        {"::/0", "::/0"},
        {"2001:DB8:0:0::/64", "2001:db8::/64"},
        {"::ffff:192.0.2.7", "192.0.2.7/32"},
    };
    for (const auto& [input, expected] : cases) {
        BOOST_TEST_CONTEXT(input) {
            const auto parsed = parse_cidr(input);
            BOOST_REQUIRE(parsed.has_value());
            BOOST_TEST(parsed->to_string() == expected);
        }
    }
}

BOOST_AUTO_TEST_CASE(prefix_length_bounded_by_address_family_and_host_bits_rejected) {
    const std::vector<std::pair<std::string_view, std::string_view>> cases{
        {"192.0.2.0/33", "out of range 0..32"}, {"2001:db8::/129", "out of range 0..128"},
        {"192.0.2.0/", "out of range"},         {"192.0.2.0/-1", "out of range"},
        {"192.0.2.0/2x", "out of range"},       {"192.0.2.1/24", "host bits set"},
        {"2001:db8::1/64", "host bits set"},    {"192.0.2/24", "not an IP address"},
        {"example.org", "not an IP address"},   {"", "not an IP address"},
        {"1.2.3.4.5", "not an IP address"},     {"256.0.0.0/8", "not an IP address"},
    };
    for (const auto& [input, expected] : cases) {
        BOOST_TEST_CONTEXT(input) {
            std::string error;
            BOOST_TEST(!parse_cidr(input, &error).has_value());
            BOOST_TEST(error.find(expected) != std::string::npos, error);
        }
    }
}

BOOST_AUTO_TEST_CASE(contains_matches_by_prefix_and_family) {
    CidrSet set;
    BOOST_REQUIRE(set.add("127.0.0.0/8"));
    BOOST_REQUIRE(set.add("::1/128"));
    BOOST_REQUIRE(set.add("2001:db8:1::/48"));
    BOOST_REQUIRE(set.add("192.0.2.128/25"));
    const std::vector<std::pair<std::string_view, bool>> cases{
        {"127.0.0.1", true},      {"127.255.255.255", true},
        {"128.0.0.1", false},     {"::1", true},
        {"::2", false},           {"2001:db8:1:ffff::9", true},
        {"2001:db8:2::1", false}, {"192.0.2.128", true},
        {"192.0.2.127", false},   {"::ffff:127.0.0.1", true},
        {"not-an-ip", false},     {"", false},
    };
    for (const auto& [address, expected] : cases)
        BOOST_TEST_CONTEXT(address) {
            BOOST_TEST(set.contains(address) == expected);
        }
    BOOST_TEST(set.to_string() == "127.0.0.0/8 ::1/128 2001:db8:1::/48 192.0.2.128/25");
}

BOOST_AUTO_TEST_CASE(contains_accepts_sockaddr_including_v4_mapped) {
    CidrSet set;
    BOOST_REQUIRE(set.add("192.0.2.0/24"));
    BOOST_REQUIRE(set.add("2001:db8::/32"));
    sockaddr_in v4{};
    v4.sin_family = AF_INET;
    inet_pton(AF_INET, "192.0.2.9", &v4.sin_addr);
    BOOST_TEST(set.contains(reinterpret_cast<const sockaddr*>(&v4)));
    sockaddr_in6 v6{};
    v6.sin6_family = AF_INET6;
    inet_pton(AF_INET6, "::ffff:192.0.2.9", &v6.sin6_addr);
    BOOST_TEST(set.contains(reinterpret_cast<const sockaddr*>(&v6)));
    inet_pton(AF_INET6, "2001:db8:5::1", &v6.sin6_addr);
    BOOST_TEST(set.contains(reinterpret_cast<const sockaddr*>(&v6)));
    inet_pton(AF_INET6, "2001:db9::1", &v6.sin6_addr);
    BOOST_TEST(!set.contains(reinterpret_cast<const sockaddr*>(&v6)));
    BOOST_TEST(!set.contains(static_cast<const sockaddr*>(nullptr)));
}

BOOST_AUTO_TEST_CASE(empty_set_contains_nothing) {
    const CidrSet set;
    BOOST_TEST(set.empty());
    BOOST_TEST(!set.contains("127.0.0.1"));
}

BOOST_AUTO_TEST_SUITE_END()
