// Unit tests for auth/header_from: a table of hostile and benign From headers (the shapes
// that bypassed other filters) with the problem and author domain each must yield, plus the
// bounds by name. Fails by Boost.Test assertion.
#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "auth/header_from.hh"

using mailwarden::auth::from_problem_name;
namespace mailwarden::auth {
// For Boost.Test messages; found by ADL.
std::ostream& operator<<(std::ostream& out, FromProblem problem) {
    return out << from_problem_name(problem);
}
} // namespace mailwarden::auth

using mailwarden::auth::FromProblem;
using mailwarden::auth::HeaderFrom;
using mailwarden::auth::parse_header_from;
using mailwarden::auth::parse_header_from_value;
using namespace std::string_literals;

namespace {
struct FromCase {
    std::vector<std::string> values; // one entry per From header
    FromProblem problem;
    std::string domain; // expected domain ("" when none is expected)
};

HeaderFrom parse(const std::vector<std::string>& values) {
    const std::vector<std::string_view> views(values.begin(), values.end());
    return parse_header_from(views);
}

void check_cases(const std::vector<FromCase>& cases) {
    for (const FromCase& c : cases) {
        const HeaderFrom got = parse(c.values);
        const std::string label = c.values.empty() ? "(no From)" : c.values.front();
        BOOST_TEST_CONTEXT("From: " << label) {
            BOOST_TEST(from_problem_name(got.problem) == from_problem_name(c.problem));
            BOOST_TEST(got.domain == c.domain);
        }
    }
}
} // namespace

BOOST_AUTO_TEST_SUITE(header_from)

BOOST_AUTO_TEST_CASE(benign_headers_yield_their_domain) {
    check_cases({
        {{"a@example.org"}, FromProblem::none, "example.org"},
        {{"<a@example.org>"}, FromProblem::none, "example.org"},
        {{"Alice Example <alice@example.org>"}, FromProblem::none, "example.org"},
        {{"\"Example, Alice\" <alice@example.org>"}, FromProblem::none, "example.org"},
        {{"alice@Mail.EXAMPLE.Org"}, FromProblem::none, "mail.example.org"},
        {{"alice@example.org."}, FromProblem::none, "example.org"},
        {{"<alice@example.org.>"}, FromProblem::none, "example.org"},
        {{"  alice@example.org  "}, FromProblem::none, "example.org"},
        {{"Alice\r\n <alice@example.org>"}, FromProblem::none, "example.org"},
        {{"Alice\n\t<alice@example.org>"}, FromProblem::none, "example.org"},
        {{"\"john doe\"@example.org"}, FromProblem::none, "example.org"},
        {{"alice@xn--bcher-kva.example"}, FromProblem::none, "xn--bcher-kva.example"},
        {{"=?utf-8?q?Bank_of_Example?= <alice@example.org>"}, FromProblem::none, "example.org"},
        {{"Alice (the boss) <alice@example.org> (really)"}, FromProblem::none, "example.org"},
        {{"alice . smith @ example . org"}, FromProblem::none, "example.org"}, // obs CFWS
        {{"list: alice@example.org;"}, FromProblem::none, "example.org"},      // RFC 6854
        {{"Dr. Alice <alice@example.org>"}, FromProblem::none, "example.org"}, // obs-phrase
        {{"j\xc3\xb6rg@example.org"}, FromProblem::none, "example.org"},       // RFC 6532
        {{"J\xf6rg <jorg@example.org>"}, FromProblem::none, "example.org"},    // Latin-1 name
        {{"a@a-b.c0.example.org"}, FromProblem::none, "a-b.c0.example.org"},
    });
}

BOOST_AUTO_TEST_CASE(display_names_and_comments_never_supply_the_domain) {
    check_cases({
        {{"\"a@good.com\" <b@evil.com>"}, FromProblem::none, "evil.com"},
        {{"\"evil@bank.com <x>\" <real@example.org>"}, FromProblem::none, "example.org"},
        {{"\"<a@good.com>\" <b@evil.com>"}, FromProblem::none, "evil.com"},
        {{"\"a\\\"@good.com\" <b@evil.com>"}, FromProblem::none, "evil.com"},
        {{"a@good.com (comment <x@evil.com>)"}, FromProblem::none, "good.com"},
        {{"(a@good.com) b@evil.com"}, FromProblem::none, "evil.com"},
        {{"(outer (inner a@good.com) still) b@evil.com"}, FromProblem::none, "evil.com"},
        {{"(escaped \\) paren a@good.com) b@evil.com"}, FromProblem::none, "evil.com"},
        {{"=?utf-8?b?YUBnb29kLmNvbQ==?= <b@evil.com>"}, FromProblem::none, "evil.com"},
    });
}

BOOST_AUTO_TEST_CASE(several_mailboxes_or_headers_are_reported_not_chosen) {
    check_cases({
        {{"a@evil.com, b@good.com"}, FromProblem::multiple_addresses, "evil.com"},
        {{"a@example.org, b@example.org"}, FromProblem::multiple_addresses, "example.org"},
        {{"A <a@evil.com>, B <b@good.com>"}, FromProblem::multiple_addresses, "evil.com"},
        {{"g: a@evil.com, b@good.com;"}, FromProblem::multiple_addresses, "evil.com"},
        {{"a@good.com", "b@evil.com"}, FromProblem::multiple_headers, "good.com"},
        {{"a@good.com", "a@good.com"}, FromProblem::multiple_headers, "good.com"},
        {{"", "b@evil.com"}, FromProblem::multiple_headers, ""},
    });
}

BOOST_AUTO_TEST_CASE(missing_or_domainless_from_is_reported) {
    check_cases({
        {{}, FromProblem::missing, ""},
        {{""}, FromProblem::missing, ""},
        {{"   \t "}, FromProblem::missing, ""},
        {{"(nobody)"}, FromProblem::missing, ""},
        {{"alice"}, FromProblem::no_domain, ""},
        {{"<alice>"}, FromProblem::no_domain, ""},
        {{"Alice <>"}, FromProblem::no_domain, ""},
        {{"alice@"}, FromProblem::no_domain, ""},
        {{"<alice@>"}, FromProblem::no_domain, ""},
        {{"undisclosed-recipients:;"}, FromProblem::no_domain, ""},
        {{"alice, b@example.org"}, FromProblem::no_domain, ""},
    });
}

BOOST_AUTO_TEST_CASE(unbalanced_delimiters_are_reported) {
    check_cases({
        {{"Alice <alice@example.org"}, FromProblem::unbalanced, ""},
        {{"alice@example.org>"}, FromProblem::unbalanced, ""},
        {{"\"Alice <alice@example.org>"}, FromProblem::unbalanced, ""},
        {{"alice@example.org (comment"}, FromProblem::unbalanced, ""},
        {{"alice@example.org (a (b)"}, FromProblem::unbalanced, ""},
        {{"alice@example.org)"}, FromProblem::unbalanced, ""},
        {{"alice@[192.0.2.1"}, FromProblem::unbalanced, ""},
        {{"\"ends in backslash\\"}, FromProblem::unbalanced, ""},
        {{"<a@good.com> <b@evil.com"}, FromProblem::unbalanced, ""},
    });
}

BOOST_AUTO_TEST_CASE(junk_around_addresses_is_invalid_syntax) {
    check_cases({
        {{"<a@good.com>@evil.com"}, FromProblem::invalid_syntax, ""},
        {{"a@good.com <b@evil.com>"}, FromProblem::invalid_syntax, ""},
        {{"a@good.com@evil.com"}, FromProblem::invalid_syntax, ""},
        {{"<a@good.com> trailing"}, FromProblem::invalid_syntax, ""},
        {{"<<a@good.com>>"}, FromProblem::invalid_syntax, ""},
        {{"<@relay.example:a@good.com>"}, FromProblem::invalid_syntax, ""},
        {{"a@good.com,"}, FromProblem::invalid_syntax, ""},
        {{", a@good.com"}, FromProblem::invalid_syntax, ""},
        {{"a@good.com,,b@good.com"}, FromProblem::invalid_syntax, ""},
        {{"@good.com"}, FromProblem::invalid_syntax, ""},
        {{".a@good.com"}, FromProblem::invalid_syntax, ""},
        {{"a.@good.com"}, FromProblem::invalid_syntax, ""},
        {{"a b@good.com"}, FromProblem::invalid_syntax, ""},
        {{"a\\@evil.com@good.com"}, FromProblem::invalid_syntax, ""},
        {{"g: a@good.com"}, FromProblem::invalid_syntax, ""}, // group without ';'
        {{"g: h: a@good.com;;"}, FromProblem::invalid_syntax, ""},
        {{"a@good.com; b@evil.com"}, FromProblem::invalid_syntax, ""},
        {{"a@good.com\r\nBcc: x@evil.com"}, FromProblem::invalid_syntax, ""},
        {{"a@good.com\n"}, FromProblem::invalid_syntax, ""},
        {{"a@good.com\rb"}, FromProblem::invalid_syntax, ""},
        {{"a\0b@good.com"s}, FromProblem::invalid_syntax, ""},
        {{"a@good.com\0.evil.com"s}, FromProblem::invalid_syntax, ""},
        {{"\"a\0\" <b@good.com>"s}, FromProblem::invalid_syntax, ""},
        {{"a\x1b@good.com"}, FromProblem::invalid_syntax, ""},
        {{"a\x7f@good.com"}, FromProblem::invalid_syntax, ""},
        {{"j\xf6rg@good.com"}, FromProblem::invalid_syntax, ""},        // Latin-1 local part
        {{"a\xc0\xaf@good.com"}, FromProblem::invalid_syntax, ""},      // overlong UTF-8
        {{"\"a\" \"b\" <@good.com>"}, FromProblem::invalid_syntax, ""}, // empty local part
    });
}

BOOST_AUTO_TEST_CASE(domains_must_be_hostnames) {
    check_cases({
        {{"a@[192.0.2.1]"}, FromProblem::invalid_domain, ""},
        {{"<a@[IPv6:2001:db8::1]>"}, FromProblem::invalid_domain, ""},
        {{"a@localhost"}, FromProblem::invalid_domain, ""},
        {{"a@192.0.2.1"}, FromProblem::invalid_domain, ""},
        {{"a@under_score.example"}, FromProblem::invalid_domain, ""},
        {{"a@-lead.example"}, FromProblem::invalid_domain, ""},
        {{"a@trail-.example"}, FromProblem::invalid_domain, ""},
        {{"a@example..org"}, FromProblem::invalid_domain, ""},
        {{"a@example.org.."}, FromProblem::invalid_syntax, ""},
        {{"a@exa!mple.org"}, FromProblem::invalid_domain, ""},
        // An '@' in an encoded word makes it an addr-spec whose domain ends in "com?=".
        {{"=?utf-8?q?a@good.com?= <b@evil.com>"}, FromProblem::invalid_domain, ""},
        {{"a@\"example.org\""}, FromProblem::invalid_syntax, ""},
    });
}

// RFC 6532 / RFC 8616 §5: the author domain in U-labels is the A-label domain; only what
// IDNA2008 refuses, or bytes that are not UTF-8, are invalid_domain.
BOOST_AUTO_TEST_CASE(u_labels_are_a_labels_and_only_malformed_names_are_invalid) {
    check_cases({
        {{"Info <info@b\xc3\xbc"
          "cher.test>"},
         FromProblem::none,
         "xn--bcher-kva.test"},
        {{"a@B\xc3\x9c"
          "CHER.test"},
         FromProblem::none,
         "xn--bcher-kva.test"},
        {{"j\xc3\xb6rg@mail.b\xc3\xbc"
          "cher.test."},
         FromProblem::none,
         "mail.xn--bcher-kva.test"},
        {{"a@\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88"},
         FromProblem::none,
         "xn--r8jz45g.xn--zckzah"}, // 例え.テスト
        {{"a@b\xfc"
          "cher.test"},
         FromProblem::invalid_domain,
         ""},                                                       // Latin-1, not UTF-8
        {{"a@\xe2\x98\x83.test"}, FromProblem::invalid_domain, ""}, // U+2603: DISALLOWED
        {{"a@-b\xc3\xbc"
          "cher.test"},
         FromProblem::invalid_domain,
         ""}, // leading hyphen
        {{"a@" + std::string(62, 'a') + "\xc3\xbc.test"}, FromProblem::invalid_domain, ""},
        {{"a@b\xc3\xbc"
          "cher"},
         FromProblem::invalid_domain,
         ""}, // one label, as for ASCII
    });
    const HeaderFrom two = parse({"a@b\xc3\xbc"
                                  "cher.test, b@xn--bcher-kva.test"});
    BOOST_TEST(two.domains ==
               (std::vector<std::string>{"xn--bcher-kva.test", "xn--bcher-kva.test"}));
    BOOST_TEST(two.address == "a@xn--bcher-kva.test");
}

BOOST_AUTO_TEST_CASE(address_keeps_local_part_as_written_and_lists_all_domains) {
    const HeaderFrom one = parse({"Alice <Alice.Smith@Example.ORG>"});
    BOOST_TEST(one.address == "Alice.Smith@example.org");
    BOOST_TEST(one.domains == std::vector<std::string>{"example.org"});

    const HeaderFrom quoted = parse({"\"a\\\"b c\"@example.org"});
    BOOST_TEST(quoted.address == "\"a\\\"b c\"@example.org");

    const HeaderFrom many = parse({"a@one.example, b@TWO.example"});
    BOOST_TEST(many.domains == (std::vector<std::string>{"one.example", "two.example"}));

    const HeaderFrom headers = parse({"a@one.example", "b@one.example"});
    BOOST_TEST(headers.domains == (std::vector<std::string>{"one.example", "one.example"}));

    const HeaderFrom broken_second = parse({"a@one.example", "junk"});
    BOOST_TEST(broken_second.domains.empty());
}

BOOST_AUTO_TEST_CASE(max_header_from_bytes_bounds_the_unfolded_value) {
    using mailwarden::auth::max_header_from_bytes;
    const std::string tail = " <a@example.org>";
    const std::string fits = std::string(max_header_from_bytes - tail.size(), 'x') + tail;
    BOOST_TEST(parse_header_from_value(fits).problem == FromProblem::none);
    BOOST_TEST(parse_header_from_value("x" + fits).problem == FromProblem::invalid_syntax);
    // Folding does not count: 491 folded " x" words unfold to 982 bytes, 998 with the tail.
    std::string folded;
    for (std::size_t i = 0; i + tail.size() < max_header_from_bytes; i += 2) {
        folded += "\r\n x";
    }
    BOOST_TEST(folded.size() + tail.size() > max_header_from_bytes);
    BOOST_TEST(parse_header_from_value(folded + tail).problem == FromProblem::none);
    BOOST_TEST(parse_header_from_value(folded + " x" + tail).problem ==
               FromProblem::invalid_syntax);
    BOOST_TEST(parse_header_from_value(std::string(100000, '(')).problem ==
               FromProblem::invalid_syntax);
}

BOOST_AUTO_TEST_CASE(max_comment_depth_bounds_nesting) {
    using mailwarden::auth::max_comment_depth;
    const auto nested = [](std::size_t depth) {
        return std::string(depth, '(') + std::string(depth, ')') + " a@example.org";
    };
    BOOST_TEST(parse_header_from_value(nested(max_comment_depth)).problem == FromProblem::none);
    BOOST_TEST(parse_header_from_value(nested(max_comment_depth + 1)).problem ==
               FromProblem::invalid_syntax);
}

BOOST_AUTO_TEST_CASE(max_local_part_bytes_bounds_the_local_part) {
    using mailwarden::auth::max_local_part_bytes;
    const std::string fits(max_local_part_bytes, 'a');
    BOOST_TEST(parse_header_from_value(fits + "@example.org").problem == FromProblem::none);
    BOOST_TEST(parse_header_from_value("a" + fits + "@example.org").problem ==
               FromProblem::invalid_syntax);
}

BOOST_AUTO_TEST_CASE(max_domain_and_label_bytes_bound_the_domain) {
    using mailwarden::auth::max_domain_bytes;
    using mailwarden::auth::max_label_bytes;
    const std::string label(max_label_bytes, 'l');
    BOOST_TEST(parse_header_from_value("a@" + label + ".example").problem == FromProblem::none);
    BOOST_TEST(parse_header_from_value("a@l" + label + ".example").problem ==
               FromProblem::invalid_domain);
    // 4 labels of 63 plus 3 dots = 255; trim to exactly max_domain_bytes and one past it.
    const std::string long_domain = label + "." + label + "." + label + "." + label;
    const std::string at_bound = long_domain.substr(long_domain.size() - max_domain_bytes);
    const std::string past_bound = long_domain.substr(long_domain.size() - max_domain_bytes - 1);
    BOOST_TEST(parse_header_from_value("a@" + at_bound).problem == FromProblem::none);
    BOOST_TEST(parse_header_from_value("a@" + past_bound).problem == FromProblem::invalid_domain);
}

BOOST_AUTO_TEST_CASE(problem_names_are_stable) {
    BOOST_TEST(from_problem_name(FromProblem::multiple_addresses) == "multiple_addresses");
    BOOST_TEST(from_problem_name(FromProblem::none) == "none");
    BOOST_TEST(from_problem_name(FromProblem::invalid_domain) == "invalid_domain");
}

BOOST_AUTO_TEST_CASE(random_hostile_values_never_crash_and_reparse_to_the_same) {
    // Fixed-seed generator over the bytes that matter to the grammar; runs under ASan/UBSan.
    const std::vector<std::string> pieces{"a",
                                          "b.example",
                                          ".",
                                          "@",
                                          "<",
                                          ">",
                                          "(",
                                          ")",
                                          "\"",
                                          "\\",
                                          ",",
                                          ";",
                                          ":",
                                          "[1.2.3.4]",
                                          " ",
                                          "\t",
                                          "\r\n ",
                                          "\n",
                                          "=?utf-8?q?x?=",
                                          "\0"s,
                                          "\xff",
                                          "\xc3\xa9",
                                          "A.EXAMPLE."};
    std::uint32_t state = 54321;
    const auto next = [&state] { return state = state * 1664525U + 1013904223U; };
    std::size_t valid = 0;
    for (int round = 0; round < 20000; ++round) {
        std::string value = round % 2 ? "a@b.example" : "";
        const std::size_t length = next() % 12;
        for (std::size_t i = 0; i < length; ++i) {
            value += pieces[next() % pieces.size()];
        }
        const HeaderFrom got = parse_header_from_value(value);
        if (got.problem == FromProblem::none) {
            ++valid;
            const HeaderFrom again = parse_header_from_value("<" + got.address + ">");
            BOOST_TEST_CONTEXT(value) {
                BOOST_TEST(again.problem == FromProblem::none);
                BOOST_TEST(again.address == got.address);
                BOOST_TEST(again.domain == got.domain);
            }
        }
    }
    BOOST_TEST(valid > 0U);
}

BOOST_AUTO_TEST_SUITE_END()
