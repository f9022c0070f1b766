// Unit tests for auth/public_suffix (U-labels through auth/idna, tested there): a table of
// names against a small inline list (wildcards, exceptions, nested rules, case, trailing
// dot, IDN, invalid names), the bounds by name, and the publicsuffix.org test vectors
// (../shared/conformance/dmarc/psl/tests.txt) against Debian's list. Fails by Boost.Test
// assertion; the conformance case is skipped with a message when its files are absent.
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "auth/idna.hh"
#include "auth/public_suffix.hh"
#include "idna_test_names.hh"

using mailwarden::auth::domain_to_ascii;
using mailwarden::auth::max_psl_input_bytes;
using mailwarden::auth::max_psl_label_bytes;
using mailwarden::auth::max_psl_name_bytes;
using mailwarden::auth::PslSections;
using mailwarden::auth::PublicSuffixList;

namespace {

constexpr std::string_view debian_psl_path = "/usr/share/publicsuffix/public_suffix_list.dat";

constexpr std::string_view small_list = R"(// comment: not a rule
// ===BEGIN ICANN DOMAINS===
com
uk.com
*.ck
!www.ck
jp
ac.jp
kyoto.jp
ide.kyoto.jp
*.kobe.jp
!city.kobe.jp
CN
公司.cn
xn--fiqs8s
   indented.example   trailing words are ignored
// ===END ICANN DOMAINS===
// ===BEGIN PRIVATE DOMAINS===
github.io
*.compute.example.com
// ===END PRIVATE DOMAINS===
bad..rule
a.*.b
!single
.leading
)";

const PublicSuffixList& small() {
    static const PublicSuffixList list = PublicSuffixList::from_text(small_list);
    return list;
}

struct RegistrableCase {
    std::string_view domain;
    std::optional<std::string_view> registrable;
};

std::string show(const std::optional<std::string>& value) {
    return value ? *value : "(null)";
}

} // namespace

BOOST_AUTO_TEST_SUITE(public_suffix)

BOOST_AUTO_TEST_CASE(small_list_table) {
    const std::vector<RegistrableCase> cases = {
        {"com", std::nullopt},
        {"example.com", "example.com"},
        {"a.b.example.com", "example.com"},
        {"WwW.Example.COM", "example.com"},
        {"www.example.com.", "example.com"},
        {"uk.com", std::nullopt},
        {"a.b.uk.com", "b.uk.com"},
        {"ck", std::nullopt},
        {"test.ck", std::nullopt},
        {"a.b.test.ck", "b.test.ck"},
        {"www.ck", "www.ck"},
        {"www.www.ck", "www.ck"},
        {"ide.kyoto.jp", std::nullopt},
        {"a.b.ide.kyoto.jp", "b.ide.kyoto.jp"},
        {"x.kyoto.jp", "x.kyoto.jp"},
        {"c.kobe.jp", std::nullopt},
        {"a.b.c.kobe.jp", "b.c.kobe.jp"},
        {"www.city.kobe.jp", "city.kobe.jp"},
        {"unlisted", std::nullopt},
        {"a.b.unlisted", "b.unlisted"},
        {"a.indented.example", "a.indented.example"},
        {"x.github.io", "x.github.io"},
        {"github.io", std::nullopt},
        {"a.b.c.compute.example.com", "b.c.compute.example.com"},
        {"compute.example.com", "example.com"},
        // IDN: U-labels and A-labels match the same rules; results keep the caller's form.
        {"www.食狮.公司.cn", "食狮.公司.cn"},
        {"www.xn--85x722f.xn--55qx5d.cn", "xn--85x722f.xn--55qx5d.cn"},
        {"www.食狮.xn--55qx5d.cn", "食狮.xn--55qx5d.cn"},
        {"公司.cn", std::nullopt},
        {"WWW.食狮.中国", "食狮.中国"},
        {"中国", std::nullopt},
        // Invalid names.
        {"", std::nullopt},
        {".", std::nullopt},
        {".com", std::nullopt},
        {".example.com", std::nullopt},
        {"a..example.com", std::nullopt},
        {"example.com..", std::nullopt},
        {"exa mple.com", std::nullopt},
        {"a.example.com\n", std::nullopt},
        {"a.\xC0\xAF.com", std::nullopt},
    };
    for (const RegistrableCase& c : cases) {
        const auto got = small().registrable_domain(c.domain);
        const auto expected = c.registrable ? std::optional<std::string>(*c.registrable)
                                            : std::optional<std::string>();
        BOOST_TEST(show(got) == show(expected), "'" << c.domain << "'");
    }
}

BOOST_AUTO_TEST_CASE(public_and_organizational_domains) {
    const PublicSuffixList& list = small();
    BOOST_TEST(list.public_suffix("a.b.test.CK.") == "test.ck");
    BOOST_TEST(list.public_suffix("www.ck") == "ck");
    BOOST_TEST(list.public_suffix("a.unlisted") == "unlisted");
    BOOST_TEST(list.public_suffix("a..b") == "");
    BOOST_TEST(list.organizational_domain("mail.Example.com") == "example.com");
    BOOST_TEST(list.organizational_domain("uk.com") == "uk.com");
    BOOST_TEST(list.organizational_domain("test.ck") == "test.ck");
    BOOST_TEST(list.organizational_domain(".com") == "");
}

BOOST_AUTO_TEST_CASE(bad_lines_are_skipped_and_counted) {
    BOOST_TEST(small().skipped_lines() == 4u);
    BOOST_TEST(small().rule_count() == 16u);
}

BOOST_AUTO_TEST_CASE(icann_only_drops_private_rules) {
    const auto list = PublicSuffixList::from_text(small_list, PslSections::icann_only);
    BOOST_TEST(show(list.registrable_domain("x.github.io")) == "github.io");
    BOOST_TEST(show(list.registrable_domain("a.b.compute.example.com")) == "example.com");
    BOOST_TEST(show(list.registrable_domain("a.b.c.kobe.jp")) == "b.c.kobe.jp");
}

BOOST_AUTO_TEST_CASE(max_psl_name_bytes_253) {
    std::string name;
    while (name.size() + 2 <= max_psl_name_bytes - 4)
        name += "a.";
    name += "example.com"; // pad to exactly the cap below
    name = name.substr(name.size() - max_psl_name_bytes);
    if (name.front() == '.')
        name.front() = 'b';
    BOOST_REQUIRE(name.size() == max_psl_name_bytes);
    BOOST_TEST(show(small().registrable_domain(name)) == "example.com");
    BOOST_TEST(show(small().registrable_domain(name + ".")) == "example.com");
    BOOST_TEST(!small().registrable_domain("c" + name).has_value());
}

BOOST_AUTO_TEST_CASE(max_psl_label_bytes_63) {
    const std::string longest(max_psl_label_bytes, 'x');
    BOOST_TEST(show(small().registrable_domain(longest + ".com")) == longest + ".com");
    BOOST_TEST(!small().registrable_domain(longest + "x.com").has_value());
    // The bound applies to the A-label: these 21 CJK characters are 63 bytes of UTF-8 but
    // 70 bytes as xn--.
    const std::string cjk = mailwarden::test::cjk_label_63_bytes_70_as_a_label();
    BOOST_REQUIRE(cjk.size() == max_psl_label_bytes);
    BOOST_TEST(!small().registrable_domain(cjk + ".com").has_value());
    BOOST_TEST(!domain_to_ascii(cjk).has_value());
}

BOOST_AUTO_TEST_CASE(max_psl_input_bytes_1024) {
    const std::string huge(max_psl_input_bytes + 1, 'a');
    BOOST_TEST(!small().registrable_domain(huge).has_value());
    BOOST_TEST(small().public_suffix(huge + ".com") == "");
}

BOOST_AUTO_TEST_CASE(load_errors) {
    std::string error;
    BOOST_TEST(!PublicSuffixList::load("/nonexistent/psl.dat", &error).has_value());
    BOOST_TEST(error.find("/nonexistent/psl.dat") != std::string::npos, error);
    const auto empty = std::filesystem::temp_directory_path() / "mw-test-psl-empty.dat";
    std::ofstream(empty) << "// nothing here\n\n";
    error.clear();
    BOOST_TEST(!PublicSuffixList::load(empty.string(), &error).has_value());
    BOOST_TEST(error.find("no usable rule") != std::string::npos, error);
    std::filesystem::remove(empty);
}

BOOST_AUTO_TEST_CASE(publicsuffix_org_test_vectors) {
    const char* srcdir = std::getenv("MW_SRCDIR");
    const std::filesystem::path vectors = std::filesystem::path(srcdir && *srcdir ? srcdir : ".") /
                                          "../shared/conformance/dmarc/psl/tests.txt";
    std::ifstream input(vectors);
    if (!input) {
        BOOST_TEST_MESSAGE("skipped: ../shared/conformance not found");
        return;
    }
    if (!std::filesystem::exists(debian_psl_path)) {
        BOOST_TEST_MESSAGE("skipped: " << debian_psl_path << " not found (package publicsuffix)");
        return;
    }
    std::string error;
    const auto started = std::chrono::steady_clock::now();
    const auto list = PublicSuffixList::load(std::string(debian_psl_path), &error);
    const auto load_time = std::chrono::steady_clock::now() - started;
    BOOST_REQUIRE_MESSAGE(list, error);
    const double load_ms = std::chrono::duration<double, std::milli>(load_time).count();
    BOOST_TEST_MESSAGE("loaded " << list->rule_count() << " rules (" << list->skipped_lines()
                                 << " skipped) in " << load_ms << " ms");
    BOOST_TEST(list->skipped_lines() == 0u);
    int total = 0;
    int passed = 0;
    for (std::string line; std::getline(input, line);) {
        if (line.empty() || line.starts_with("//"))
            continue;
        std::istringstream fields(line);
        std::string domain, expected;
        fields >> domain >> expected;
        if (domain == "null")
            domain.clear();
        const std::string got = show(list->registrable_domain(domain));
        const std::string want = expected == "null" ? "(null)" : expected;
        ++total;
        passed += got == want;
        BOOST_TEST(got == want, "'" << domain << "'");
    }
    BOOST_TEST_MESSAGE("publicsuffix.org vectors: " << passed << "/" << total << " passed");
    BOOST_TEST(total > 0);
}

BOOST_AUTO_TEST_SUITE_END()
