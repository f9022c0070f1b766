#include "util/socket_spec.hh"

#include <boost/test/unit_test.hpp>

using mailwarden::util::parse_socket_spec;
using Kind = mailwarden::util::SocketSpec::Kind;

BOOST_AUTO_TEST_SUITE(socket_spec)

BOOST_AUTO_TEST_CASE(valid_specifications_parse) {
    struct Case {
        std::string text;
        Kind kind;
        std::string address;
        unsigned port;
        std::string path;
    };
    const std::vector<Case> cases = {
        {"inet:8891@127.0.0.1", Kind::inet, "127.0.0.1", 8891, ""},
        {"inet:10040@0.0.0.0", Kind::inet, "0.0.0.0", 10040, ""},
        {"inet6:8891@::1", Kind::inet6, "::1", 8891, ""},
        {"unix:/run/mailwarden/milter.sock", Kind::unix_path, "", 0, "/run/mailwarden/milter.sock"},
        {"local:/var/spool/postfix/mw.sock", Kind::unix_path, "", 0, "/var/spool/postfix/mw.sock"},
    };
    for (const auto& c : cases) {
        const auto spec = parse_socket_spec(c.text);
        BOOST_TEST_REQUIRE(spec.has_value(), c.text);
        BOOST_TEST((spec->kind == c.kind), c.text);
        BOOST_TEST(spec->address == c.address);
        BOOST_TEST(spec->port == c.port);
        BOOST_TEST(spec->path == c.path);
    }
}

BOOST_AUTO_TEST_CASE(invalid_specifications_are_rejected_with_a_reason) {
    const std::vector<std::string> bad = {
        "",
        "8891",
        "inet:10040",
        "tcp:8891@127.0.0.1",
        "inet:0@127.0.0.1",
        "inet:65536@127.0.0.1",
        "inet:88x1@127.0.0.1",
        "inet:8891@localhost",
        "inet:8891@::1",
        "inet6:8891@127.0.0.1",
        "unix:relative/path",
        "unix:/" + std::string(200, 'a'),
    };
    for (const auto& text : bad) {
        std::string error;
        BOOST_TEST(!parse_socket_spec(text, &error).has_value(), text);
        BOOST_TEST(!error.empty(), text);
    }
}

BOOST_AUTO_TEST_CASE(server_addresses_take_an_optional_port) {
    using mailwarden::util::parse_server_address;
    const auto plain = parse_server_address("192.0.2.53");
    BOOST_TEST_REQUIRE(plain.has_value());
    BOOST_TEST(plain->address == "192.0.2.53");
    BOOST_TEST(plain->port == 0U);
    const auto with_port = parse_server_address("::1@5353");
    BOOST_TEST_REQUIRE(with_port.has_value());
    BOOST_TEST(with_port->address == "::1");
    BOOST_TEST(with_port->port == 5353U);
    for (const std::string bad : {"", "resolver.example", "192.0.2.53@", "192.0.2.53@0",
                                  "192.0.2.53@65536", "192.0.2.53@53x", "@53"}) {
        std::string error;
        BOOST_TEST(!parse_server_address(bad, &error).has_value(), bad);
        BOOST_TEST(!error.empty(), bad);
    }
}

BOOST_AUTO_TEST_CASE(endpoints_are_host_port_bracketed_ipv6_or_a_path_with_a_default_port) {
    using mailwarden::util::parse_endpoint;
    struct Case {
        std::string text, host;
        unsigned port;
        std::string path, shown;
    };
    const std::vector<Case> good{
        {"127.0.0.1:6380", "127.0.0.1", 6380, "", "127.0.0.1:6380"},
        {"redis.example", "redis.example", 6379, "", "redis.example:6379"},
        {"[::1]:6390", "::1", 6390, "", "[::1]:6390"},
        {"[2001:db8::7]", "2001:db8::7", 6379, "", "[2001:db8::7]:6379"},
        {"::1", "::1", 6379, "", "[::1]:6379"},
        {"/run/redis/redis.sock", "", 0, "/run/redis/redis.sock", "/run/redis/redis.sock"},
    };
    for (const Case& expected : good) {
        const auto endpoint = parse_endpoint(expected.text, 6379);
        BOOST_TEST_REQUIRE(endpoint.has_value(), expected.text);
        BOOST_TEST(endpoint->host == expected.host);
        BOOST_TEST(endpoint->port == expected.port);
        BOOST_TEST(endpoint->path == expected.path);
        BOOST_TEST(endpoint->text() == expected.shown);
    }
    for (const std::string& bad :
         std::vector<std::string>{"", "host:", "host:0", "host:65536", "a b:1", "[::1", "[::1]x",
                                  "[192.0.2.1]:1", "1:2:3:x", "/" + std::string(200, 'a')}) {
        std::string error;
        BOOST_TEST(!parse_endpoint(bad, 6379, &error).has_value(), bad);
        BOOST_TEST(!error.empty(), bad);
    }
}

BOOST_AUTO_TEST_SUITE_END()
