// DMARC Policy Record parsing (lib/auth/dmarc_record, RFC 9989 §4.7, §4.8, §4.10.1): the
// v=DMARC1 test, every tag's values and fallbacks, the p=none rule for records with rua but no
// usable p, broken records, URI lists. libopendmarc 1.4.2 still serves here as an independent
// reader of the RFC 7489 subset (p, sp, adkim, aspf): on records both grammars accept, the two
// must agree.
#include "auth/dmarc_record.hh"

#include <sys/types.h> // u_char, which dmarc.h uses without including it

#include <netinet/in.h>
#include <opendmarc/dmarc.h>

#include <boost/test/unit_test.hpp>

#include <memory>
#include <mutex>

using namespace mailwarden::auth;

namespace {

std::string word(const std::optional<DmarcPolicy>& policy) {
    return policy ? std::string(policy_name(*policy)) : "-";
}

DmarcRecord parsed(std::string_view text) {
    const auto record = parse_dmarc_record(text);
    BOOST_REQUIRE_MESSAGE(record, "not a DMARC record: " << text);
    return *record;
}

} // namespace

BOOST_AUTO_TEST_SUITE(dmarc_record)

BOOST_AUTO_TEST_CASE(only_v_dmarc1_first_makes_a_record) {
    const std::vector<std::pair<std::string, bool>> cases = {
        {"v=DMARC1; p=reject", true},
        {"v=DMARC1", true},
        {"v = DMARC1 ; p = none", true},
        {" v=DMARC1;p=none ", true},
        {"V=DMARC1; p=none", true},   // tag names are case-insensitive
        {"v=dmarc1; p=none", false},  // the value is case-sensitive (%s"DMARC1")
        {"v=DMARC2; p=none", false},  // another version
        {"p=none; v=DMARC1", false},  // v must come first
        {"v=DMARC10; p=none", false}, // not the same value
        {"v=spf1 -all", false},
        {"", false},
        {"some verification token", false},
    };
    for (const auto& [text, expected] : cases) {
        BOOST_TEST(is_dmarc_record(text) == expected, text);
        BOOST_TEST(parse_dmarc_record(text).has_value() == expected, text);
    }
}

BOOST_AUTO_TEST_CASE(policy_tags_and_their_values) {
    struct Case {
        std::string text, p, sp, np;
    };
    const std::vector<Case> cases = {
        {"v=DMARC1; p=reject", "reject", "-", "-"},
        {"v=DMARC1; p=Quarantine", "quarantine", "-", "-"},
        {"v=DMARC1; p=none; sp=reject; np=quarantine", "none", "reject", "quarantine"},
        {"v=DMARC1; np=reject; p=quarantine", "quarantine", "-", "reject"},
    };
    for (const auto& c : cases) {
        const DmarcRecord record = parsed(c.text);
        BOOST_TEST(!record.broken, c.text);
        BOOST_TEST(std::string(policy_name(record.p)) == c.p, c.text);
        BOOST_TEST(word(record.sp) == c.sp, c.text);
        BOOST_TEST(word(record.np) == c.np, c.text);
    }
}

// §4.10.1: no valid p (or an invalid sp/np) → p=none when rua holds a valid URI, else broken.
BOOST_AUTO_TEST_CASE(a_valid_rua_without_a_valid_p_is_p_none) {
    struct Case {
        std::string text;
        bool broken;
    };
    const std::vector<Case> cases = {
        {"v=DMARC1; rua=mailto:d@example.com", false},
        {"v=DMARC1; p=bogus; rua=mailto:d@example.com", false},
        {"v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.com", false},
        {"v=DMARC1; p=reject; np=bogus; rua=https://reports.example/dmarc", false},
        {"v=DMARC1", true},
        {"v=DMARC1; p=bogus", true},
        {"v=DMARC1; p=reject; sp=bogus", true},
        {"v=DMARC1; p=bogus; rua=not a uri", true},
        {"v=DMARC1; p=bogus; ruf=mailto:d@example.com", true}, // ruf does not count
    };
    for (const auto& c : cases) {
        const DmarcRecord record = parsed(c.text);
        BOOST_TEST(record.broken == c.broken, c.text);
        BOOST_TEST(std::string(policy_name(record.p)) == "none", c.text);
        BOOST_TEST(!record.sp.has_value(), c.text); // the record counts as p=none alone
        BOOST_TEST(!record.np.has_value(), c.text);
        BOOST_TEST(!record.errors.empty(), c.text);
    }
}

BOOST_AUTO_TEST_CASE(other_tags_fall_back_to_their_defaults) {
    const DmarcRecord defaults = parsed("v=DMARC1; p=none");
    BOOST_TEST(!defaults.strict_dkim);
    BOOST_TEST(!defaults.strict_spf);
    BOOST_TEST(!defaults.testing);
    BOOST_TEST((defaults.psd == DmarcPsd::unspecified));
    BOOST_TEST(defaults.fo == "0");

    const DmarcRecord set = parsed("v=DMARC1; p=none; adkim=s; aspf=S; t=y; psd=n; fo=1:d:s");
    BOOST_TEST(set.strict_dkim);
    BOOST_TEST(set.strict_spf);
    BOOST_TEST(set.testing);
    BOOST_TEST((set.psd == DmarcPsd::no));
    BOOST_TEST(set.fo == "1:d:s");
    BOOST_TEST((parsed("v=DMARC1; p=none; psd=y").psd == DmarcPsd::yes));

    const DmarcRecord invalid =
        parsed("v=DMARC1; p=reject; adkim=x; aspf=; t=maybe; psd=q; fo=0:1");
    BOOST_TEST(!invalid.broken);
    BOOST_TEST(!invalid.strict_dkim);
    BOOST_TEST(!invalid.strict_spf);
    BOOST_TEST(!invalid.testing);
    BOOST_TEST((invalid.psd == DmarcPsd::unspecified));
    BOOST_TEST(invalid.fo == "0");
    BOOST_TEST(invalid.errors.size() >= 4u);
}

BOOST_AUTO_TEST_CASE(removed_and_unknown_tags_are_ignored) {
    const DmarcRecord record =
        parsed("v=DMARC1; p=reject; pct=0; rf=iodef; ri=3600; future=1; p=none");
    BOOST_TEST(std::string(policy_name(record.p)) == "reject"); // the first p= counts
    BOOST_TEST(record.errors.size() == 1u);                     // the repeated p
}

BOOST_AUTO_TEST_CASE(t_lowers_the_policy_one_step) {
    BOOST_TEST((weaker_policy(DmarcPolicy::reject) == DmarcPolicy::quarantine));
    BOOST_TEST((weaker_policy(DmarcPolicy::quarantine) == DmarcPolicy::none));
    BOOST_TEST((weaker_policy(DmarcPolicy::none) == DmarcPolicy::none));
}

BOOST_AUTO_TEST_CASE(report_uri_lists) {
    const DmarcRecord record =
        parsed("v=DMARC1; p=none; rua=mailto:Agg@Example.COM!10m , https://x.example/r,"
               " mailto:second%2Btag@sub.example.org?subject=x, mailto:broken, mailto:a@b");
    const std::vector<std::string> expected = {"Agg@example.com", "second+tag@sub.example.org"};
    BOOST_TEST(record.rua == expected, boost::test_tools::per_element());
    BOOST_TEST(record.has_rua);
    BOOST_TEST(record.ruf.empty());

    BOOST_TEST(mailto_address("MAILTO:d@example.com").value_or("") == "d@example.com");
    BOOST_TEST(!mailto_address("mailto:d@exa mple.com"));
    BOOST_TEST(!mailto_address("mailto:d%0A@example.com"));
    BOOST_TEST(!mailto_address("mailto:d%@example.com"));
    BOOST_TEST(!mailto_address("mailto:<d@example.com>"));
    BOOST_TEST(!mailto_address("http://example.com"));

    std::string many = "v=DMARC1; p=none; ruf=";
    for (int i = 0; i < 20; ++i)
        many += "mailto:r" + std::to_string(i) + "@example.com,";
    BOOST_TEST(parsed(many).ruf.size() == max_report_uris);
}

BOOST_AUTO_TEST_CASE(hostile_text_never_breaks_the_parser) {
    const std::vector<std::string> texts = {
        "v=DMARC1;;;;",
        "v=DMARC1; =; ==; p",
        "v=DMARC1; p=\x01reject",
        "v=DMARC1; rua=,,,,",
        "v=DMARC1; rua=mailto:%",
        "v=DMARC1; rua=mailto:%4",
        "v=DMARC1; fo=::",
        "v=DMARC1; fo=",
        std::string("v=DMARC1; p=none\0; sp=reject", 28),
        "v=DMARC1; " + std::string(60000, 'a'),
    };
    for (const auto& text : texts)
        BOOST_TEST(parse_dmarc_record(text).has_value());
}

// libopendmarc (RFC 7489) and our parser agree on the tags both know, for records both accept.
BOOST_AUTO_TEST_CASE(agrees_with_libopendmarc_on_rfc7489_records) {
    static std::once_flag once;
    std::call_once(once, [] {
        static OPENDMARC_LIB_T settings{};
        settings.tld_type = OPENDMARC_TLD_TYPE_NONE;
        BOOST_REQUIRE(opendmarc_policy_library_init(&settings) == DMARC_PARSE_OKAY);
    });
    const std::vector<std::string> records = {
        "v=DMARC1; p=reject",
        "v=DMARC1; p=quarantine; sp=none",
        "v=DMARC1; p=none; sp=reject; adkim=s",
        "v=DMARC1; p=reject; aspf=s; adkim=r; rua=mailto:a@example.com",
        "v=DMARC1;p=none;sp=quarantine;aspf=r",
        "v=DMARC1; p=REJECT; SP=None",
        "v = DMARC1 ; p = quarantine",
    };
    struct Free {
        void operator()(DMARC_POLICY_T* policy) const { opendmarc_policy_connect_shutdown(policy); }
    };
    for (const std::string& text : records) {
        std::unique_ptr<DMARC_POLICY_T, Free> context(opendmarc_policy_connect_init(
            reinterpret_cast<u_char*>(const_cast<char*>("192.0.2.1")), DMARC_POLICY_IP_TYPE_IPV4));
        BOOST_REQUIRE(context);
        std::string record = text, domain = "example.com", organization = "example.com";
        BOOST_REQUIRE_MESSAGE(
            opendmarc_policy_store_dmarc(context.get(), reinterpret_cast<u_char*>(record.data()),
                                         reinterpret_cast<u_char*>(domain.data()),
                                         reinterpret_cast<u_char*>(organization.data())) ==
                DMARC_PARSE_OKAY,
            text);
        int p = 0, sp = 0, adkim = 0, aspf = 0;
        opendmarc_policy_fetch_p(context.get(), &p);
        opendmarc_policy_fetch_sp(context.get(), &sp);
        opendmarc_policy_fetch_adkim(context.get(), &adkim);
        opendmarc_policy_fetch_aspf(context.get(), &aspf);
        const auto theirs = [](int code) -> std::string {
            return code == DMARC_RECORD_P_REJECT       ? "reject"
                   : code == DMARC_RECORD_P_QUARANTINE ? "quarantine"
                   : code == DMARC_RECORD_P_NONE       ? "none"
                                                       : "-";
        };
        const DmarcRecord ours = parsed(text);
        BOOST_TEST(std::string(policy_name(ours.p)) == theirs(p), text);
        // Without sp, libopendmarc reports no value (or p's), as RFC 7489 lets p apply.
        if (ours.sp)
            BOOST_TEST(std::string(policy_name(*ours.sp)) == theirs(sp), text);
        else
            BOOST_TEST((theirs(sp) == "-" || theirs(sp) == theirs(p)), text);
        BOOST_TEST(ours.strict_dkim == (adkim == DMARC_RECORD_A_STRICT), text);
        BOOST_TEST(ours.strict_spf == (aspf == DMARC_RECORD_A_STRICT), text);
    }
}

BOOST_AUTO_TEST_SUITE_END()
