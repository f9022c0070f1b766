// DMARC evaluation (lib/auth/dmarc) on FakeResolver zones: discovery, parsing, alignment,
// policy and sp, pct ignored, DNS trouble, and the HELO hole that must stay closed. The RFC 9989
// tree walk itself, on the test DNS server, is in test-dmarc-treewalk.cc.
#include "auth/dmarc.hh"
#include "auth/dmarc_authors.hh"
#include "dns/fake_resolver.hh"

#include <boost/test/unit_test.hpp>

#include <thread>

using namespace mailwarden;
using auth::DmarcInput;
using auth::DmarcResult;

namespace {

const char* const zone_text = R"(
_dmarc.example.test        TXT "v=DMARC1; p=reject"
_dmarc.strict.test         TXT "v=DMARC1; p=reject; adkim=s; aspf=s"
_dmarc.parent.test         TXT "v=DMARC1; p=reject; sp=quarantine"
_dmarc.sampled.test        TXT "v=DMARC1; p=reject; pct=50"
_dmarc.nothing.test        TXT "v=DMARC1; p=quarantine; pct=0"
_dmarc.twice.test          TXT "v=DMARC1; p=reject"
_dmarc.twice.test          TXT "v=DMARC1; p=none"
_dmarc.mixed.test          TXT "some verification token"
_dmarc.mixed.test          TXT "v=DMARC1; p=quarantine"
_dmarc.broken.test         TXT "v=DMARC1; p=bogus"
_dmarc.broken-rua.test     TXT "v=DMARC1; p=bogus; rua=mailto:dmarc@broken-rua.test"
_dmarc.version.test        TXT "v=DMARC2; p=reject"
_dmarc.spaces.test         TXT " v = DMARC1 ; p = reject ; ADKIM=r"
_dmarc.slow.test           TIMEOUT
_dmarc.failing.test        SERVFAIL
_dmarc.own.parent.test     TXT "v=DMARC1; p=none"
)";

DmarcInput input(std::string from, std::string spf_result = "none", std::string spf_domain = "",
                 std::vector<DmarcInput::Dkim> dkim = {}) {
    return {std::move(from), std::move(spf_result), std::move(spf_domain), std::move(dkim)};
}

struct Fixture {
    dns::FakeResolver resolver = dns::FakeResolver::from_text(zone_text);
    auth::PublicSuffixList suffixes = auth::PublicSuffixList::from_text("test\nco.test\n");
    auth::DmarcEvaluator evaluator{resolver, suffixes};
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(dmarc, Fixture)

BOOST_AUTO_TEST_CASE(no_record_is_none_after_walking_up_the_tree) {
    const DmarcResult result =
        evaluator.evaluate(input("mail.unknown.test", "pass", "unknown.test"));
    BOOST_TEST(result.result == "none");
    BOOST_TEST(result.reason == "no record");
    BOOST_TEST(result.policy == "");
    BOOST_TEST(result.disposition == "none");
    BOOST_TEST(resolver.query_count("_dmarc.mail.unknown.test") == 1u);
    BOOST_TEST(resolver.query_count("_dmarc.unknown.test") == 1u);
    BOOST_TEST(resolver.query_count("_dmarc.test") == 1u);
    BOOST_TEST(result.dns_queries == 3u);
    BOOST_TEST(result.discovery_method == "treewalk");
}

BOOST_AUTO_TEST_CASE(aligned_spf_passes_relaxed) {
    const DmarcResult result =
        evaluator.evaluate(input("example.test", "pass", "bounces.example.test"));
    BOOST_TEST(result.result == "pass");
    BOOST_TEST(result.spf_aligned);
    BOOST_TEST(!result.dkim_aligned);
    BOOST_TEST(result.policy == "reject");
    BOOST_TEST(result.disposition == "none");
    BOOST_TEST(result.record_domain == "example.test");
}

BOOST_AUTO_TEST_CASE(aligned_dkim_passes_and_names_the_domain) {
    const DmarcResult result = evaluator.evaluate(
        input("example.test", "fail", "other.test",
              {{"fail", "example.test"}, {"pass", "other.test"}, {"pass", "Mail.Example.Test"}}));
    BOOST_TEST(result.result == "pass");
    BOOST_TEST(result.dkim_aligned);
    BOOST_TEST(result.aligned_dkim_domain == "mail.example.test");
}

BOOST_AUTO_TEST_CASE(strict_alignment_needs_the_same_name) {
    BOOST_TEST(evaluator.evaluate(input("strict.test", "pass", "mail.strict.test")).result ==
               "fail");
    BOOST_TEST(evaluator.evaluate(input("strict.test", "pass", "strict.test")).result == "pass");
    BOOST_TEST(
        evaluator.evaluate(input("strict.test", "none", "", {{"pass", "a.strict.test"}})).result ==
        "fail");
    BOOST_TEST(
        evaluator.evaluate(input("strict.test", "none", "", {{"pass", "STRICT.test"}})).result ==
        "pass");
}

BOOST_AUTO_TEST_CASE(only_a_pass_aligns) {
    for (const std::string word : {"fail", "softfail", "neutral", "temperror", "policy"}) {
        const DmarcResult result = evaluator.evaluate(
            input("example.test", word, "example.test", {{word, "example.test"}}));
        BOOST_TEST(result.result == "fail", word);
        BOOST_TEST(result.disposition == "reject", word);
    }
}

BOOST_AUTO_TEST_CASE(p_reject_failure_asks_for_reject) {
    const DmarcResult result = evaluator.evaluate(input("example.test", "pass", "other.test"));
    BOOST_TEST(result.result == "fail");
    BOOST_TEST(result.policy == "reject");
    BOOST_TEST(result.disposition == "reject");
    BOOST_TEST(result.reason == "not aligned");
}

BOOST_AUTO_TEST_CASE(subdomain_policy_applies_to_subdomains_only) {
    const DmarcResult sub = evaluator.evaluate(input("news.parent.test"));
    BOOST_TEST(sub.record_domain == "parent.test");
    BOOST_TEST(sub.policy == "quarantine");
    BOOST_TEST(sub.disposition == "quarantine");
    BOOST_TEST(evaluator.evaluate(input("parent.test")).policy == "reject");
    // A subdomain with its own record uses that record's p=.
    BOOST_TEST(evaluator.evaluate(input("own.parent.test")).policy == "none");
    // Without sp= a subdomain gets p=.
    BOOST_TEST(evaluator.evaluate(input("a.b.example.test")).policy == "reject");
}

// RFC 9989 removed pct (Appendix A.6): p=reject; pct=50 asks for reject for every message.
BOOST_AUTO_TEST_CASE(pct_is_ignored) {
    for (int round = 0; round < 20; ++round)
        BOOST_TEST(evaluator.evaluate(input("sampled.test")).disposition == "reject");
    BOOST_TEST(evaluator.evaluate(input("nothing.test")).disposition == "quarantine");
}

BOOST_AUTO_TEST_CASE(helo_pass_cannot_align) { // CVE-2019-20790
    // DmarcInput carries the MAIL FROM identity only; a caller holding a HELO pass for
    // example.test and a MAIL FROM pass for other.test can only hand over the latter.
    const DmarcResult result = evaluator.evaluate(input("example.test", "pass", "other.test"));
    BOOST_TEST(result.result == "fail");
    BOOST_TEST(!result.spf_aligned);
}

BOOST_AUTO_TEST_CASE(dns_trouble_is_temperror) {
    for (const std::string domain : {"slow.test", "failing.test", "a.slow.test"}) {
        const DmarcResult result = evaluator.evaluate(input(domain, "pass", domain));
        BOOST_TEST(result.result == "temperror", domain);
        BOOST_TEST(result.policy == "", domain);
    }
}

BOOST_AUTO_TEST_CASE(record_selection_follows_rfc9989_4_10) {
    // Several records at one name are discarded and the walk goes on (to _dmarc.test: none).
    const DmarcResult twice = evaluator.evaluate(input("twice.test"));
    BOOST_TEST(twice.result == "none");
    BOOST_TEST(twice.reason == "no record");
    BOOST_TEST(twice.notes.size() == 1u);
    BOOST_TEST(resolver.query_count("_dmarc.test") >= 1u);
    BOOST_TEST(evaluator.evaluate(input("mixed.test")).policy == "quarantine");
    // v=DMARC1 without a usable p= and without rua=: no DMARC processing, reported permerror.
    const DmarcResult broken = evaluator.evaluate(input("broken.test"));
    BOOST_TEST(broken.result == "permerror");
    BOOST_TEST(broken.reason == "invalid record");
    BOOST_TEST(broken.policy == "");
    const DmarcResult with_rua = evaluator.evaluate(input("broken-rua.test"));
    BOOST_TEST(with_rua.result == "fail");
    BOOST_TEST(with_rua.policy == "none");
    BOOST_TEST(with_rua.disposition == "none");
    BOOST_TEST(evaluator.evaluate(input("version.test")).reason == "no record");
    BOOST_TEST(evaluator.evaluate(input("spaces.test")).policy == "reject");
}

BOOST_AUTO_TEST_CASE(from_domain_without_records_above_it) {
    // No record anywhere on the walk: the start name is its own organizational domain.
    const DmarcResult result = evaluator.evaluate(input("co.test", "pass", "co.test"));
    BOOST_TEST(result.organizational_domain == "co.test");
    BOOST_TEST(result.result == "none");
    BOOST_TEST(evaluator.evaluate(input("")).result == "permerror");
    BOOST_TEST(evaluator.evaluate(input("bad..name")).result == "permerror");
}

BOOST_AUTO_TEST_CASE(concurrent_evaluations_agree) {
    std::vector<std::string> outcomes(8);
    std::vector<std::thread> threads;
    for (std::size_t index = 0; index < outcomes.size(); ++index)
        threads.emplace_back([&, index] {
            for (int round = 0; round < 200; ++round) {
                const auto pass = evaluator.evaluate(input("example.test", "pass", "example.test"));
                const auto fail = evaluator.evaluate(input("parent.test", "pass", "x.test"));
                outcomes[index] = pass.result + "/" + fail.result + "/" + fail.disposition;
            }
        });
    for (auto& thread : threads)
        thread.join();
    for (const auto& outcome : outcomes)
        BOOST_TEST(outcome == "pass/fail/reject");
}

// RFC 9989 §11.5 for several author domains: the result that speaks for the message.
BOOST_AUTO_TEST_CASE(strictest_of_several_author_results_in_the_documented_order) {
    const auto result = [](std::string word, std::string policy, std::string disposition,
                           bool aligned = false) {
        DmarcResult dmarc;
        dmarc.result = std::move(word);
        dmarc.policy = std::move(policy);
        dmarc.disposition = std::move(disposition);
        dmarc.spf_aligned = aligned;
        return dmarc;
    };
    // Strictest first: each one beats every later one, whichever comes first in the From.
    const std::vector<DmarcResult> order{result("fail", "reject", "reject"),
                                         result("temperror", "", "none"),
                                         result("fail", "quarantine", "quarantine"),
                                         result("fail", "none", "none"),
                                         result("temperror", "none", "none"),
                                         result("temperror", "", "none", true),
                                         result("permerror", "", "none"),
                                         result("none", "", "none"),
                                         result("pass", "reject", "none")};
    for (std::size_t stricter = 0; stricter < order.size(); ++stricter)
        for (std::size_t weaker = stricter + 1; weaker < order.size(); ++weaker) {
            if (stricter == 4 && weaker == 5)
                continue; // two temperrors that hide nothing: equal, the first wins
            BOOST_TEST_CONTEXT(stricter << " over " << weaker) {
                const std::vector<DmarcResult> both{order[weaker], order[stricter]};
                BOOST_TEST(auth::strictest_dmarc_result(both) == 1u);
                const std::vector<DmarcResult> first{order[stricter], order[weaker]};
                BOOST_TEST(auth::strictest_dmarc_result(first) == 0u);
            }
        }
    const std::vector<std::string> domains{"a.test", "B.test", "b.test", "a.test", "c.test"};
    const std::vector<std::string_view> distinct = auth::distinct_author_domains(domains);
    BOOST_TEST(distinct == (std::vector<std::string_view>{"a.test", "B.test", "c.test"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()
