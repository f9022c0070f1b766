// Unit tests for auth/authres: build → parse round trips, the RFC 8601 Appendix B examples,
// attacker values that must stay inside one property, garbage that must parse to nullopt,
// folding, the forgery triage, and the parse bounds by name. Fails by Boost.Test assertion.
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "auth/authres.hh"

using mailwarden::auth::AuthenticationResults;
using mailwarden::auth::AuthResult;
using mailwarden::auth::authserv_id_of;
using mailwarden::auth::build_authentication_results;
using mailwarden::auth::fold_header_value;
using mailwarden::auth::parse_authentication_results;
using mailwarden::auth::triage_authentication_results;
using namespace std::string_literals;

namespace {
using Properties = std::vector<std::pair<std::string, std::string>>;

std::string describe(const std::optional<AuthenticationResults>& parsed) {
    return parsed ? build_authentication_results(*parsed) : "nullopt";
}

// "Authentication-Results: " as it precedes the value on the first line.
constexpr std::size_t name_length = 24;

struct BuildCase {
    AuthenticationResults header;
    std::string expected; // the built value
};
} // namespace

BOOST_AUTO_TEST_SUITE(authres)

BOOST_AUTO_TEST_CASE(build_writes_tokens_bare_and_quotes_the_rest_and_round_trips) {
    const std::vector<BuildCase> cases{
        {{"mx.example.net", {}, {}}, "mx.example.net; none"},
        {{"mx.example.net", 1, {}}, "mx.example.net 1; none"},
        {{"mx.example.net", {}, {{"spf", {}, "pass", "", {{"smtp.mailfrom", "example.org"}}}}},
         "mx.example.net; spf=pass smtp.mailfrom=example.org"},
        {{"mx.example.net",
          {},
          {{"spf", {}, "fail", "", {{"smtp.mailfrom", "user@example.org"}}},
           {"dkim", {}, "pass", "", {{"header.d", "example.org"}, {"header.s", "s1"}}},
           {"dmarc", {}, "pass", "", {{"header.from", "example.org"}}}}},
         "mx.example.net; spf=fail smtp.mailfrom=user@example.org; dkim=pass header.d=example.org "
         "header.s=s1; dmarc=pass header.from=example.org"},
        {{"mx.example.net", {}, {{"dkim", {}, "fail", "signature \"did not\" verify\\", {}}}},
         "mx.example.net; dkim=fail reason=\"signature \\\"did not\\\" verify\\\\\""},
        {{"mx.example.net", {}, {{"dkim", {}, "neutral", "too-short", {}}}},
         "mx.example.net; dkim=neutral reason=too-short"},
        {{"mx.example.net", {}, {{"dkim", {}, "pass", "", {{"header.i", "@example.org"}}}}},
         "mx.example.net; dkim=pass header.i=@example.org"},
        {{"mx.example.net", {}, {{"dkim", {}, "pass", "", {{"header.b", "aB/+c9=="}}}}},
         "mx.example.net; dkim=pass header.b=\"aB/+c9==\""},
        {{"mx.example.net", {}, {{"spf", {}, "pass", "", {{"smtp.mailfrom", ""}}}}},
         "mx.example.net; spf=pass smtp.mailfrom=\"\""},
        {{"mx.example.net", {}, {{"dkim", 1, "pass", "", {}}}}, "mx.example.net; dkim/1=pass"},
        {{"mx example", {}, {}}, "\"mx example\"; none"},
        // Attacker local parts: never a bare ';', '(' or space, always one property.
        {{"mx.example.net",
          {},
          {{"spf", {}, "pass", "", {{"smtp.mailfrom", "evil;dkim=pass@example.org"}}}}},
         "mx.example.net; spf=pass smtp.mailfrom=\"evil;dkim=pass@example.org\""},
        {{"mx.example.net",
          {},
          {{"spf", {}, "pass", "", {{"smtp.mailfrom", "a b(c)\"d\"@example.org"}}}}},
         "mx.example.net; spf=pass smtp.mailfrom=\"a b(c)\\\"d\\\"@example.org\""},
        {{"mx.example.net",
          {},
          {{"spf", {}, "pass", "", {{"smtp.mailfrom", "j\xc3\xb6rg@example.org"}}}}},
         "mx.example.net; spf=pass smtp.mailfrom=\"j\xc3\xb6rg@example.org\""},
        {{"mx.example.net", {}, {{"spf", {}, "pass", "", {{"smtp.mailfrom", "a@b@example.org"}}}}},
         "mx.example.net; spf=pass smtp.mailfrom=\"a@b@example.org\""},
    };
    for (const BuildCase& c : cases) {
        const std::string built = build_authentication_results(c.header);
        BOOST_TEST(built == c.expected);
        const auto parsed = parse_authentication_results(built);
        BOOST_TEST_CONTEXT(built) {
            BOOST_TEST_REQUIRE(parsed.has_value());
            BOOST_TEST((*parsed == c.header));
        }
    }
}

BOOST_AUTO_TEST_CASE(control_bytes_in_values_are_dropped_so_they_cannot_inject) {
    const AuthenticationResults header{
        "mx.example.net\r\n",
        {},
        {{"spf",
          {},
          "pass",
          "a\nb",
          {{"smtp.mailfrom", "x\r\nAuthentication-Results: mx.example.net; dkim=pass\0@a.org"s}}}}};
    const std::string built = build_authentication_results(header);
    BOOST_TEST(built.find_first_of("\r\n\0"s) == std::string::npos);
    const auto parsed = parse_authentication_results(built);
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->authserv_id == "mx.example.net");
    BOOST_TEST_REQUIRE(parsed->results.size() == 1U);
    BOOST_TEST(parsed->results[0].reason == "ab");
    BOOST_TEST(parsed->results[0].properties.size() == 1U);
}

BOOST_AUTO_TEST_CASE(build_refuses_names_that_are_not_keywords) {
    const auto build_with = [](AuthResult result) {
        build_authentication_results({"mx.example.net", {}, {std::move(result)}});
    };
    BOOST_CHECK_THROW(build_with({"sp f", {}, "pass", "", {}}), std::invalid_argument);
    BOOST_CHECK_THROW(build_with({"spf", {}, "pass;", "", {}}), std::invalid_argument);
    BOOST_CHECK_THROW(build_with({"spf", {}, "", "", {}}), std::invalid_argument);
    BOOST_CHECK_THROW(build_with({"spf", {}, "pass", "", {{"mailfrom", "a"}}}),
                      std::invalid_argument);
    BOOST_CHECK_THROW(build_with({"spf", {}, "pass", "", {{"smtp.mail;from", "a"}}}),
                      std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(parses_the_rfc8601_appendix_b_examples) {
    // B.2: service provided, no authentication done.
    auto parsed = parse_authentication_results("example.org 1; none");
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST((*parsed == AuthenticationResults{"example.org", 1, {}}));

    // B.3: one result, folded.
    parsed = parse_authentication_results("example.com;\r\n          spf=pass "
                                          "smtp.mailfrom=example.net");
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(
        (*parsed ==
         AuthenticationResults{
             "example.com", {}, {{"spf", {}, "pass", "", {{"smtp.mailfrom", "example.net"}}}}}));

    // B.4: several results with a comment.
    parsed = parse_authentication_results(
        "example.com;\r\n          auth=pass (cram-md5) smtp.auth=sender@example.net;\r\n"
        "          spf=pass smtp.mailfrom=example.net");
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST((*parsed == AuthenticationResults{
                               "example.com",
                               {},
                               {{"auth", {}, "pass", "", {{"smtp.auth", "sender@example.net"}}},
                                {"spf", {}, "pass", "", {{"smtp.mailfrom", "example.net"}}}}}));
    parsed = parse_authentication_results("example.com; iprev=pass\n\tpolicy.iprev=192.0.2.200");
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->results.at(0).properties.at(0).second == "192.0.2.200");

    // B.6: reasons and header.i=@domain.
    parsed = parse_authentication_results(
        "example.com;\r\n          dkim=pass reason=\"good signature\"\r\n"
        "            header.i=@mail-router.example.net;\r\n"
        "          dkim=fail reason=\"bad signature\"\r\n"
        "            header.i=@newyork.example.com");
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(
        (*parsed ==
         AuthenticationResults{
             "example.com",
             {},
             {{"dkim", {}, "pass", "good signature", {{"header.i", "@mail-router.example.net"}}},
              {"dkim", {}, "fail", "bad signature", {{"header.i", "@newyork.example.com"}}}}}));

    // B.7: comments everywhere CFWS may go, and a method version.
    parsed = parse_authentication_results(
        "foo.example.net (foobar) 1 (baz);\r\n"
        "          dkim (Because I like it) / 1 (One yay) = (wait for it) fail\r\n"
        "            policy (A dot can go here) . (like that) expired\r\n"
        "            (this surprised me) = (as I wasn't expecting it) 1362471462");
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(
        (*parsed ==
         AuthenticationResults{
             "foo.example.net", 1, {{"dkim", 1, "fail", "", {{"policy.expired", "1362471462"}}}}}));
}

BOOST_AUTO_TEST_CASE(parse_lower_cases_keywords_and_keeps_values) {
    const auto parsed =
        parse_authentication_results("MX.Example.NET; SPF=Pass smtp.MailFrom=User@Example.ORG");
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST(parsed->authserv_id == "MX.Example.NET");
    BOOST_TEST(parsed->results.at(0).method == "spf");
    BOOST_TEST(parsed->results.at(0).result == "pass");
    BOOST_TEST(parsed->results.at(0).properties.at(0).first == "smtp.mailfrom");
    BOOST_TEST(parsed->results.at(0).properties.at(0).second == "User@Example.ORG");
}

BOOST_AUTO_TEST_CASE(garbage_parses_to_nullopt) {
    const std::vector<std::string> garbage{
        "",
        "   ",
        ";",
        "; spf=pass",
        "example.org",
        "example.org;",
        "example.org; ",
        "example.org; spf",
        "example.org; spf=",
        "example.org; spf pass",
        "example.org; =pass",
        "example.org; spf=pass;",
        "example.org; spf=pass smtp",
        "example.org; spf=pass smtp.",
        "example.org; spf=pass smtp.mailfrom",
        "example.org; spf=pass smtp.mailfrom=",
        "example.org; spf=pass smtp.mailfrom=a@b.org header.d",
        "example.org; spf=pass (unclosed comment",
        "example.org; spf=pass (a (b) c",
        "example.org; spf=pass)",
        "example.org; spf=pass reason=",
        "example.org; spf=pass reason=\"unclosed",
        "example.org; spf=pass header.d=a reason=late",
        "example.org; spf=pass reason=a reason=b",
        "example.org; dmarc=pass action=none header.from=example.org", // Microsoft style
        "example.org; none; spf=pass",
        "example.org; spf=pass; none",
        "example.org; none none",
        "example.org; none (unclosed",
        "example.org 1 2; none",
        "example.org 1234567890; none",
        "example.org; dkim/=pass",
        "example.org; dkim/x=pass",
        "example.org; -spf=pass",
        "example.org; spf-=pass",
        "example.org; spf=pass!",
        "example.org; sp_f=pass",
        "example.org; spf=pass smtp.mailfrom=\"a\0b\""s,
        "example.org; spf=pass\0"s,
        "example.org; spf=pass\r\nX-Injected: 1",
        "example.org; spf=pass\n",
        "example.org; spf=pass\rsmtp.mailfrom=a",
        "\"unclosed; spf=pass",
        "(unclosed example.org; spf=pass",
        "example.org; spf=pass smtp.mailfrom=a\\b",
        "\xff\xfe; none",
    };
    for (const std::string& value : garbage) {
        BOOST_TEST_CONTEXT(value) {
            BOOST_TEST(describe(parse_authentication_results(value)) == "nullopt");
        }
    }
}

BOOST_AUTO_TEST_CASE(authserv_id_of_reads_only_the_leading_value) {
    BOOST_TEST(authserv_id_of("mx.example.net; spf=pass").value_or("-") == "mx.example.net");
    BOOST_TEST(authserv_id_of(" (c) \"mx.example.net\" ; x").value_or("-") == "mx.example.net");
    BOOST_TEST(authserv_id_of("\r\n\tmx.example.net").value_or("-") == "mx.example.net");
    BOOST_TEST(authserv_id_of("MX.Example.NET; garbage (((").value_or("-") == "MX.Example.NET");
    BOOST_TEST(authserv_id_of("mx.example.net 1; none").value_or("-") == "mx.example.net");
    BOOST_TEST(!authserv_id_of("").has_value());
    BOOST_TEST(!authserv_id_of("; spf=pass").has_value());
    BOOST_TEST(!authserv_id_of("(unclosed mx.example.net").has_value());
}

BOOST_AUTO_TEST_CASE(triage_removes_ours_highest_first_and_lists_trusted) {
    const std::vector<std::string_view> values{
        "mx.ours.net; spf=pass smtp.mailfrom=bank.example", // 1: forged ours
        "trusted.example; dkim=pass header.d=a.example",    // 2: trusted
        "other.example; none",                              // 3: neither
        "MX.OURS.NET.; garbage (((",                        // 4: ours, unparseable rest
        "\"mx.ours.net\"; none",                            // 5: ours, quoted
        "; no id",                                          // 6: no id at all
        "(c) Trusted.Example; spf=fail",                    // 7: trusted
        "mx.ours.net.evil.example; dmarc=pass",             // 8: only a prefix of ours
    };
    const std::vector<std::string> trusted{"trusted.example", "mx.ours.net"};
    const auto triage = triage_authentication_results(values, "mx.ours.net", trusted);
    BOOST_TEST(triage.remove == (std::vector<std::size_t>{5, 4, 1}));
    BOOST_TEST(triage.trusted == (std::vector<std::size_t>{2, 7}));

    const auto no_id = triage_authentication_results(values, "", {});
    BOOST_TEST(no_id.remove.empty());
    BOOST_TEST(no_id.trusted.empty());
}

BOOST_AUTO_TEST_CASE(fold_keeps_lines_short_and_quoted_strings_whole) {
    AuthenticationResults header{"mx.example.net", {}, {}};
    for (const char* domain : {"one.example.org", "two.example.org", "three.example.org"}) {
        header.results.push_back({"dkim",
                                  {},
                                  "fail",
                                  "signature did not verify",
                                  {{"header.d", domain}, {"header.s", "selector2024"}}});
    }
    const std::string value = build_authentication_results(header);
    const std::string folded = fold_header_value(value, name_length, 78, "\r\n");
    std::size_t start = 0;
    std::size_t lines = 0;
    std::size_t first_width = name_length;
    while (start <= folded.size()) {
        const std::size_t end = std::min(folded.find("\r\n", start), folded.size());
        BOOST_TEST(first_width + end - start <= 78U);
        const std::string line = folded.substr(start, end - start);
        BOOST_TEST(std::count(line.begin(), line.end(), '"') % 2 == 0); // never split quoted
        first_width = 0;
        ++lines;
        start = end + 2;
        if (end < folded.size()) {
            BOOST_TEST(folded[end + 2] == '\t');
        }
    }
    BOOST_TEST(lines > 3U);
    const auto parsed = parse_authentication_results(folded);
    BOOST_TEST_REQUIRE(parsed.has_value());
    BOOST_TEST((*parsed == header));
    BOOST_TEST(fold_header_value("short; none", name_length) == "short; none");
    const std::string long_word(100, 'x');
    BOOST_TEST(fold_header_value("a " + long_word, name_length) == "a\n\t" + long_word);
}

BOOST_AUTO_TEST_CASE(max_authres_results_bounds_results_per_header) {
    using mailwarden::auth::max_authres_results;
    std::string value = "mx.example.net";
    for (std::size_t i = 0; i < max_authres_results; ++i) {
        value += "; spf=pass";
    }
    BOOST_TEST(parse_authentication_results(value).has_value());
    BOOST_TEST(!parse_authentication_results(value + "; spf=pass").has_value());
}

BOOST_AUTO_TEST_CASE(max_authres_properties_bounds_properties_per_result) {
    using mailwarden::auth::max_authres_properties;
    std::string value = "mx.example.net; dkim=pass";
    for (std::size_t i = 0; i < max_authres_properties; ++i) {
        value += " header.d=example.org";
    }
    BOOST_TEST(parse_authentication_results(value).has_value());
    BOOST_TEST(!parse_authentication_results(value + " header.d=example.org").has_value());
}

BOOST_AUTO_TEST_CASE(max_authres_bytes_bounds_the_unfolded_value) {
    using mailwarden::auth::max_authres_bytes;
    const std::string head = "mx.example.net; spf=pass smtp.mailfrom=\"";
    const std::string fits = head + std::string(max_authres_bytes - head.size() - 1, 'a') + "\"";
    BOOST_TEST(fits.size() == max_authres_bytes);
    BOOST_TEST(parse_authentication_results(fits).has_value());
    BOOST_TEST(!parse_authentication_results(fits + " ").has_value());
    BOOST_TEST(!parse_authentication_results(std::string(1000000, '(')).has_value());
}

BOOST_AUTO_TEST_CASE(max_authres_comment_depth_bounds_nesting) {
    using mailwarden::auth::max_authres_comment_depth;
    const auto nested = [](std::size_t depth) {
        return "mx.example.net " + std::string(depth, '(') + std::string(depth, ')') + "; none";
    };
    BOOST_TEST(parse_authentication_results(nested(max_authres_comment_depth)).has_value());
    BOOST_TEST(!parse_authentication_results(nested(max_authres_comment_depth + 1)).has_value());
}

BOOST_AUTO_TEST_CASE(random_hostile_values_never_crash_and_reparse_to_the_same) {
    // Fixed-seed generator: well-formed headers (methods, properties, hostile values), then
    // half of them mutated by inserting grammar-sized pieces. Runs under ASan/UBSan too.
    const std::vector<std::string> pieces{"mx.example.net",
                                          ";",
                                          " ",
                                          "spf",
                                          "=",
                                          "pass",
                                          "(",
                                          ")",
                                          "\"",
                                          "\\",
                                          "smtp",
                                          ".",
                                          "mailfrom",
                                          "a@b.org",
                                          "reason",
                                          "1",
                                          "/",
                                          "\t",
                                          "\r\n ",
                                          "\0"s,
                                          "\xff",
                                          "none",
                                          "x y"};
    std::uint32_t state = 12345;
    const auto next = [&state] { return state = state * 1664525U + 1013904223U; };
    const auto piece = [&] { return pieces[next() % pieces.size()]; };
    std::size_t parsed_count = 0;
    for (int round = 0; round < 20000; ++round) {
        AuthenticationResults header{"mx.example.net", {}, {}};
        for (std::uint32_t r = next() % 4; r > 0; --r) {
            AuthResult result{"spf", {}, "pass", next() % 3 ? "" : piece() + piece(), {}};
            for (std::uint32_t p = next() % 3; p > 0; --p) {
                result.properties.emplace_back("smtp.mailfrom", piece() + piece() + piece());
            }
            header.results.push_back(std::move(result));
        }
        std::string value = build_authentication_results(header);
        BOOST_TEST(value.find_first_of("\r\n\0"s) == std::string::npos);
        BOOST_TEST(parse_authentication_results(value).has_value()); // built: always parses
        for (std::uint32_t m = round % 2 ? next() % 4 : 0; m > 0; --m) {
            value.insert(next() % (value.size() + 1), piece());
        }
        const auto parsed = parse_authentication_results(value);
        (void)authserv_id_of(value);
        if (parsed) {
            ++parsed_count;
            const auto again = parse_authentication_results(build_authentication_results(*parsed));
            BOOST_TEST_CONTEXT(value) {
                BOOST_TEST((again && *again == *parsed));
            }
        }
    }
    BOOST_TEST(parsed_count > 10000U);
}

BOOST_AUTO_TEST_SUITE_END()
