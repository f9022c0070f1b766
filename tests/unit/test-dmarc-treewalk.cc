// RFC 9989 DMARC discovery by DNS Tree Walk (lib/auth/dmarc_discovery, lib/auth/dmarc) against
// the test DNS server through libunbound, as the daemons resolve: the worked examples of
// Appendix B and §4.10, the query list and its bound of 8, several records at one name, psd=y,
// psd=n and the fewest-labels rule, np/sp/p, t=y, the ignored pct/rf/ri tags, rua without p,
// and the psl method kept for comparison. Each case serves its own zone.
#include "auth/dmarc.hh"
#include "auth/dmarc_discovery.hh"
#include "dns/resolver.hh"
#include "dns_test_server.hh"

#include <boost/test/unit_test.hpp>

using namespace mailwarden;
using auth::DmarcInput;
using auth::DmarcResult;

namespace {

struct Zone {
    explicit Zone(const std::string& text,
                  auth::DmarcDiscovery method = auth::DmarcDiscovery::treewalk)
        : server(test::DnsTestServer::with_zone(text)), resolver([&] {
              dns::UnboundOptions options;
              options.servers = {server->address()};
              options.timeout = std::chrono::milliseconds(3000);
              options.forward_documentation_zones = true;
              return dns::make_unbound_resolver(options);
          }()),
          evaluator(*resolver, suffixes, {.discovery = method}) {}

    DmarcResult evaluate(const std::string& from, const std::string& spf_domain,
                         const std::vector<std::string>& dkim_domains = {}) {
        DmarcInput input{from, spf_domain.empty() ? "none" : "pass", spf_domain, {}};
        for (const auto& domain : dkim_domains)
            input.dkim.push_back({"pass", domain});
        return evaluator.evaluate(input);
    }

    // The Organizational Domain of `domain` by a walk of its own.
    std::string organization(const std::string& domain) {
        auth::DmarcLookups lookups(*resolver);
        return auth::organizational_domain(auth::tree_walk(lookups, domain), domain);
    }

    std::unique_ptr<test::DnsTestServer> server;
    std::unique_ptr<dns::Resolver> resolver;
    // Only the psl method reads it: a list that knows "example" and "com" but not bank.example.
    auth::PublicSuffixList suffixes = auth::PublicSuffixList::from_text("com\nexample\n");
    auth::DmarcEvaluator evaluator;
};

} // namespace

BOOST_AUTO_TEST_SUITE(dmarc_treewalk)

// §4.10: the eight queries for a.b.c.d.e.f.g.h.i.j.mail.example.com, and a bound of 8 always.
BOOST_AUTO_TEST_CASE(walk_targets_jump_to_seven_labels_and_stop_at_eight_queries) {
    const std::vector<std::string> expected = {"a.b.c.d.e.f.g.h.i.j.mail.example.com",
                                               "g.h.i.j.mail.example.com",
                                               "h.i.j.mail.example.com",
                                               "i.j.mail.example.com",
                                               "j.mail.example.com",
                                               "mail.example.com",
                                               "example.com",
                                               "com"};
    BOOST_TEST(auth::tree_walk_targets("a.b.c.d.e.f.g.h.i.j.mail.example.com") == expected,
               boost::test_tools::per_element());
    const std::vector<std::string> short_walk = {"a.mail.example.com", "mail.example.com",
                                                 "example.com", "com"};
    BOOST_TEST(auth::tree_walk_targets("a.mail.example.com") == short_walk,
               boost::test_tools::per_element());
    // Exactly 8 labels: the next target is the parent (7 labels), 8 queries in all.
    BOOST_TEST(auth::tree_walk_targets("a.b.c.d.e.f.g.example").size() == 8u);
    BOOST_TEST(auth::tree_walk_targets("b.c.d.e.f.g.example")[1] == "c.d.e.f.g.example");
    std::string deep = "example";
    for (int i = 0; i < 120; ++i)
        deep = "l" + std::to_string(i) + "." + deep;
    BOOST_TEST(auth::tree_walk_targets(deep).size() == auth::max_tree_walk_queries);
    BOOST_TEST(auth::tree_walk_targets("com").size() == 1u);
}

// Appendix B.4.1.
BOOST_AUTO_TEST_CASE(appendix_b_4_1_simple_organizational_and_policy_example) {
    Zone zone("_dmarc.example.com TXT \"v=DMARC1; p=reject\"\n"
              "_dmarc.signing.example.com TXT \"v=DMARC1; p=none\"\n");
    BOOST_TEST(zone.organization("example.com") == "example.com");
    BOOST_TEST(zone.organization("signing.example.com") == "example.com");
    const DmarcResult result = zone.evaluate("example.com", "example.com", {"signing.example.com"});
    BOOST_TEST(result.result == "pass");
    BOOST_TEST(result.spf_aligned);
    BOOST_TEST(result.dkim_aligned);
    BOOST_TEST(result.record_domain == "example.com");
    BOOST_TEST(result.organizational_domain == "example.com");
    BOOST_TEST(result.policy == "reject");
}

// Appendix B.4.2: the deep walk, 8 queries, policy domain example.com.
BOOST_AUTO_TEST_CASE(appendix_b_4_2_deep_tree_walk_example) {
    Zone zone("_dmarc.example.com TXT \"v=DMARC1; p=quarantine\"\n"
              "_dmarc.signing.example.com TXT \"v=DMARC1; p=none\"\n");
    const std::string author = "a.b.c.d.e.f.g.h.i.j.k.example.com";
    const std::vector<std::string> expected = {author,
                                               "g.h.i.j.k.example.com",
                                               "h.i.j.k.example.com",
                                               "i.j.k.example.com",
                                               "j.k.example.com",
                                               "k.example.com",
                                               "example.com",
                                               "com"};
    BOOST_TEST(auth::tree_walk_targets(author) == expected, boost::test_tools::per_element());
    BOOST_TEST(zone.organization(author) == "example.com");
    const DmarcResult result = zone.evaluate(author, "example.com", {"signing.example.com"});
    BOOST_TEST(result.result == "pass");
    BOOST_TEST(result.spf_aligned);
    BOOST_TEST(result.dkim_aligned);
    BOOST_TEST(result.record_domain == "example.com");
    BOOST_TEST(result.policy == "quarantine"); // no sp: p applies to the subdomain
    BOOST_TEST(result.policy_tag == "p");
    // The author walk (8) plus the DKIM walk's one new name (signing.example.com).
    BOOST_TEST(result.dns_queries == 9u);
    const DmarcResult failing = zone.evaluate(author, "other.example");
    BOOST_TEST(failing.result == "fail");
    BOOST_TEST(failing.disposition == "quarantine");
}

// Appendix B.4.3: a PSD record with psd=y.
BOOST_AUTO_TEST_CASE(appendix_b_4_3_example_with_a_psd_dmarc_policy_record) {
    Zone zone("_dmarc.bank.example TXT \"v=DMARC1; p=reject; psd=y\"\n"
              "_dmarc.giant.bank.example TXT \"v=DMARC1; p=quarantine\"\n");
    BOOST_TEST(zone.organization("giant.bank.example") == "giant.bank.example");
    BOOST_TEST(zone.organization("mail.giant.bank.example") == "giant.bank.example");
    BOOST_TEST(zone.organization("mail.mega.bank.example") == "mega.bank.example");
    const DmarcResult result =
        zone.evaluate("giant.bank.example", "mail.giant.bank.example", {"mail.mega.bank.example"});
    BOOST_TEST(result.result == "pass");
    BOOST_TEST(result.spf_aligned);
    BOOST_TEST(!result.dkim_aligned);
    BOOST_TEST(result.record_domain == "giant.bank.example");
    BOOST_TEST(result.organizational_domain == "giant.bank.example");
    BOOST_TEST(!result.psd_record);
    const DmarcResult failing = zone.evaluate("giant.bank.example", "", {"mail.mega.bank.example"});
    BOOST_TEST(failing.result == "fail");
    BOOST_TEST(failing.policy == "quarantine");
}

// Appendix B.1: SPF and DKIM identifier alignment, strict, relaxed and none.
BOOST_AUTO_TEST_CASE(appendix_b_1_identifier_alignment_examples) {
    Zone zone("_dmarc.example.com TXT \"v=DMARC1; p=reject\"\n"
              "_dmarc.strict.example TXT \"v=DMARC1; p=reject; aspf=s; adkim=s\"\n");
    // B.1.1: SPF strict, relaxed, none.
    BOOST_TEST(zone.evaluate("example.com", "example.com").spf_aligned);
    BOOST_TEST(zone.evaluate("example.com", "child.example.com").spf_aligned);
    BOOST_TEST(!zone.evaluate("child.example.com", "example.net").spf_aligned);
    // B.1.2: DKIM strict, relaxed, none.
    BOOST_TEST(zone.evaluate("example.com", "", {"example.com"}).dkim_aligned);
    BOOST_TEST(zone.evaluate("child.example.com", "", {"example.com"}).dkim_aligned);
    BOOST_TEST(!zone.evaluate("child.example.com", "", {"example.net"}).dkim_aligned);
    // Strict modes need identical names.
    BOOST_TEST(zone.evaluate("strict.example", "strict.example").result == "pass");
    BOOST_TEST(zone.evaluate("strict.example", "a.strict.example").result == "fail");
    BOOST_TEST(zone.evaluate("strict.example", "", {"a.strict.example"}).result == "fail");
    // An unrelated name costs no walk: only the author's walk was asked.
    const DmarcResult unrelated = zone.evaluate("example.com", "example.net");
    BOOST_TEST(unrelated.result == "fail");
    BOOST_TEST(unrelated.dns_queries == 1u);
}

// §4.10.2's three examples for a.mail.example.com.
BOOST_AUTO_TEST_CASE(organizational_domain_psd_n_psd_y_and_fewest_labels) {
    Zone fewest("_dmarc.mail.example.com TXT \"v=DMARC1; p=none\"\n"
                "_dmarc.example.com TXT \"v=DMARC1; p=reject\"\n");
    BOOST_TEST(fewest.organization("a.mail.example.com") == "example.com");
    // Discovery then takes the Organizational Domain's record, not the nearer one.
    const DmarcResult result = fewest.evaluate("a.mail.example.com", "");
    BOOST_TEST(result.record_domain == "example.com");
    BOOST_TEST(result.policy == "reject");

    Zone psd_n("_dmarc.mail.example.com TXT \"v=DMARC1; p=none; psd=n\"\n"
               "_dmarc.example.com TXT \"v=DMARC1; p=reject\"\n");
    BOOST_TEST(psd_n.organization("a.mail.example.com") == "mail.example.com");
    const DmarcResult stopped = psd_n.evaluate("a.mail.example.com", "");
    BOOST_TEST(stopped.record_domain == "mail.example.com");
    BOOST_TEST(stopped.policy == "none");
    BOOST_TEST(stopped.dns_queries == 2u); // the walk stopped at psd=n
    // Relaxed alignment follows: example.com is another organization now.
    BOOST_TEST(psd_n.evaluate("a.mail.example.com", "example.com").result == "fail");
    BOOST_TEST(psd_n.evaluate("a.mail.example.com", "b.mail.example.com").result == "pass");

    Zone psd_y("_dmarc.com TXT \"v=DMARC1; p=reject; psd=y\"\n");
    BOOST_TEST(psd_y.organization("a.mail.example.com") == "example.com");
    BOOST_TEST(psd_y.organization("com") == "com"); // psd=y at the start name itself
    const DmarcResult psd = psd_y.evaluate("a.mail.example.com", "");
    BOOST_TEST(psd.record_domain == "com"); // no record at example.com: the PSD's applies
    BOOST_TEST(psd.psd_record);
    BOOST_TEST(psd.result == "fail");
}

BOOST_AUTO_TEST_CASE(several_records_at_one_name_are_discarded_and_the_walk_goes_on) {
    Zone zone("_dmarc.sub.example.com TXT \"v=DMARC1; p=none\"\n"
              "_dmarc.sub.example.com TXT \"v=DMARC1; p=quarantine\"\n"
              "_dmarc.sub.example.com TXT \"unrelated text\"\n"
              "_dmarc.example.com TXT \"v=DMARC1; p=reject; sp=quarantine\"\n"
              "_dmarc.twice.example TXT \"v=DMARC1; p=none\"\n"
              "_dmarc.twice.example TXT \"v=DMARC1; p=none\"\n");
    const DmarcResult result = zone.evaluate("sub.example.com", "");
    BOOST_TEST(result.record_domain == "example.com");
    BOOST_TEST(result.policy == "quarantine");
    BOOST_TEST(result.policy_tag == "sp");
    BOOST_TEST(result.notes.size() == 1u);
    BOOST_TEST(result.notes.front() == "several records at _dmarc.sub.example.com");
    const DmarcResult none = zone.evaluate("twice.example", "twice.example");
    BOOST_TEST(none.result == "none");
    BOOST_TEST(none.reason == "no record");
}

// §4.10.1: sp for existing subdomains, np for non-existent ones, p for the domain itself.
BOOST_AUTO_TEST_CASE(np_sp_and_p_by_where_the_record_is_and_whether_the_author_exists) {
    Zone zone("_dmarc.example.com TXT \"v=DMARC1; p=none; sp=quarantine; np=reject\"\n"
              "www.example.com A 192.0.2.1\n"
              "mail.example.com MX 10 mx.example.com.\n"
              "_dmarc.nosp.example TXT \"v=DMARC1; p=quarantine; np=reject\"\n"
              "exists.nosp.example A 192.0.2.2\n"
              "_dmarc.nonp.example TXT \"v=DMARC1; p=reject; sp=none\"\n");
    const auto policy = [&](const std::string& author) {
        const DmarcResult result = zone.evaluate(author, "unrelated.test");
        BOOST_TEST_INFO(author << ": " << result.result << " " << result.reason);
        return result.policy_tag + "=" + result.disposition;
    };
    BOOST_TEST(policy("example.com") == "p=none");
    BOOST_TEST(policy("www.example.com") == "sp=quarantine");
    BOOST_TEST(policy("mail.example.com") == "sp=quarantine");   // exists without an A record
    BOOST_TEST(policy("ghost.example.com") == "np=reject");      // NXDOMAIN
    BOOST_TEST(policy("exists.nosp.example") == "p=quarantine"); // no sp: p for subdomains
    BOOST_TEST(policy("ghost.nosp.example") == "np=reject");
    BOOST_TEST(policy("ghost.nonp.example") == "sp=none"); // no np: sp for non-existent ones
    // A passing message never asks whether its author domain exists.
    const DmarcResult pass = zone.evaluate("ghost.example.com", "ghost.example.com");
    BOOST_TEST(pass.result == "pass");
    BOOST_TEST(pass.policy_tag == "sp");
}

BOOST_AUTO_TEST_CASE(t_y_lowers_the_policy_one_step) {
    Zone zone("_dmarc.reject.example TXT \"v=DMARC1; p=reject; t=y\"\n"
              "_dmarc.quarantine.example TXT \"v=DMARC1; p=quarantine; t=y\"\n"
              "_dmarc.none.example TXT \"v=DMARC1; p=none; t=y\"\n"
              "_dmarc.explicit.example TXT \"v=DMARC1; p=reject; t=n\"\n");
    const auto fail = [&](const std::string& author) { return zone.evaluate(author, "x.test"); };
    BOOST_TEST(fail("reject.example").policy == "reject");
    BOOST_TEST(fail("reject.example").testing);
    BOOST_TEST(fail("reject.example").disposition == "quarantine");
    BOOST_TEST(fail("quarantine.example").disposition == "none");
    BOOST_TEST(fail("none.example").disposition == "none");
    BOOST_TEST(fail("explicit.example").disposition == "reject");
    BOOST_TEST(!fail("explicit.example").testing);
}

BOOST_AUTO_TEST_CASE(pct_rf_and_ri_are_ignored_and_rua_without_p_is_p_none) {
    Zone zone("_dmarc.pct.example TXT \"v=DMARC1; p=reject; pct=0; rf=afrf; ri=60\"\n"
              "_dmarc.rua.example TXT \"v=DMARC1; rua=mailto:agg@rua.example\"\n"
              "_dmarc.bad-p.example TXT \"v=DMARC1; p=always; rua=mailto:agg@rua.example\"\n"
              "_dmarc.broken.example TXT \"v=DMARC1; p=always\"\n");
    BOOST_TEST(zone.evaluate("pct.example", "x.test").disposition == "reject");
    for (const std::string author : {"rua.example", "bad-p.example"}) {
        const DmarcResult result = zone.evaluate(author, "x.test");
        BOOST_TEST(result.result == "fail", author);
        BOOST_TEST(result.policy == "none", author);
        BOOST_TEST(result.disposition == "none", author);
    }
    const DmarcResult broken = zone.evaluate("broken.example", "broken.example");
    BOOST_TEST(broken.result == "permerror");
    BOOST_TEST(broken.policy == "");
}

BOOST_AUTO_TEST_CASE(dns_trouble_anywhere_on_a_needed_walk_is_temperror) {
    Zone zone("_dmarc.example.com TXT \"v=DMARC1; p=reject\"\n"
              "_dmarc.broken.example.com SERVFAIL\n"
              "_dmarc.sub.example.org SERVFAIL\n"
              "_dmarc.example.org TXT \"v=DMARC1; p=reject\"\n");
    BOOST_TEST(zone.evaluate("a.broken.example.com", "").result == "temperror");
    // The author's record is found at once; the SPF domain's walk is what fails.
    BOOST_TEST(zone.evaluate("example.org", "x.sub.example.org").result == "temperror");
    // A DKIM pass that aligns makes the failed walk irrelevant.
    BOOST_TEST(zone.evaluate("example.org", "x.sub.example.org", {"example.org"}).result == "pass");
}

// dmarc_discovery = psl keeps RFC 7489's method for comparison.
BOOST_AUTO_TEST_CASE(the_psl_method_differs_where_the_tree_walk_sees_a_psd) {
    const std::string zone_text = "_dmarc.bank.example TXT \"v=DMARC1; p=reject; psd=y\"\n"
                                  "_dmarc.giant.bank.example TXT \"v=DMARC1; p=quarantine\"\n"
                                  "_dmarc.example.com TXT \"v=DMARC1; p=reject\"\n";
    Zone treewalk(zone_text);
    Zone psl(zone_text, auth::DmarcDiscovery::psl);
    const auto run = [](Zone& zone) {
        return zone.evaluate("giant.bank.example", "", {"mail.mega.bank.example"});
    };
    const DmarcResult walked = run(treewalk);
    const DmarcResult listed = run(psl);
    BOOST_TEST(walked.discovery_method == "treewalk");
    BOOST_TEST(listed.discovery_method == "psl");
    BOOST_TEST(walked.result == "fail"); // mega.bank.example is another organization
    BOOST_TEST(listed.result == "pass"); // the list puts both under bank.example
    BOOST_TEST(listed.organizational_domain == "bank.example");
    // Where the list and the tree agree, so do the results.
    BOOST_TEST(treewalk.evaluate("www.example.com", "mail.example.com").result == "pass");
    BOOST_TEST(psl.evaluate("www.example.com", "mail.example.com").result == "pass");
    BOOST_TEST(psl.evaluate("www.example.com", "").record_domain == "example.com");
}

BOOST_AUTO_TEST_SUITE_END()
