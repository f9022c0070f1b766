// The engine end to end on FakeResolver zones: SPF, DKIM (messages signed here), DMARC, the
// decision and the Authentication-Results header, as the milter and `mailwarden check` see
// them. Also message_text's splitting of raw messages.
#include "auth/authres.hh"
#include "auth/dmarc_authors.hh"
#include "dkim_test_signer.hh"
#include "dns/fake_resolver.hh"
#include "engine/engine.hh"
#include "engine/message_text.hh"
#include "engine/report.hh"

#include <boost/test/unit_test.hpp>

namespace mailwarden::engine {
std::ostream& operator<<(std::ostream& out, const HeaderRemoval& removal) {
    return out << removal.name << "#" << removal.index;
}
} // namespace mailwarden::engine

using namespace mailwarden;
using engine::Action;
using engine::Report;

namespace {

const std::string sender_ip = "192.0.2.10";

std::string zone() {
    return "example.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
           "_dmarc.example.test TXT \"v=DMARC1; p=reject\"\n" +
           dkim_test::txt_line("s1._domainkey.example.test",
                               "v=DKIM1; k=rsa; p=" + dkim_test::rsa_2048().public_base64) +
           "other.test TXT \"v=spf1 ip4:192.0.2.10 -all\"\n"
           "mail.bank.test TXT \"v=spf1 ip4:192.0.2.10 -all\"\n"
           "_dmarc.bank.test TXT \"v=DMARC1; p=reject\"\n"
           "_dmarc.careful.test TXT \"v=DMARC1; p=quarantine\"\n"
           "_dmarc.slow.test TIMEOUT\n"
           "dnsfail.test TXT \"v=spf1 include:_spf.dnsfail.test -all\"\n"
           "_spf.dnsfail.test SERVFAIL\n"
           "slow.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
           "flaky.test SERVFAIL\n"
           "_dmarc.flaky.test TXT \"v=DMARC1; p=reject\"\n"
           "calm.test SERVFAIL\n"
           "_dmarc.calm.test TXT \"v=DMARC1; p=none\"\n"
           "_dmarc.dnsfail.test TXT \"v=DMARC1; p=reject\"\n"
           "_dmarc.broken.test TXT \"v=DMARC1; p=bogus\"\n"
           "s1._domainkey.bank.test SERVFAIL\n"
           "s1._domainkey.dnsfail.test SERVFAIL\n";
}

config::ConfigPtr test_config(std::string extra = "") {
    const auto loaded = config::parse_config_text(
        "[general]\nauthserv_id = mx.test\ninternal_networks = 10.0.0.0/8\n" + extra, "test");
    if (!loaded.ok())
        BOOST_FAIL(loaded.errors.front().to_string());
    return loaded.config;
}

struct Fixture {
    dns::FakeResolver resolver = dns::FakeResolver::from_text(zone());
    std::shared_ptr<const auth::PublicSuffixList> suffixes =
        std::make_shared<const auth::PublicSuffixList>(auth::PublicSuffixList::from_text("test\n"));

    Report run(const std::string& message, std::string_view mail_from,
               const std::string& extra_config = "", std::string helo = "mail.example.test",
               std::string client_ip = sender_ip, std::string_view auth_user = "",
               std::size_t chunk_bytes = 65535) {
        const engine::Engine checks(test_config(extra_config), resolver, suffixes);
        auto evaluation = checks.evaluate(
            {.client_ip = std::move(client_ip), .client_name = "", .helo = std::move(helo)});
        const engine::Verdict early = evaluation.mail_from(mail_from, auth_user);
        if (early.is_final())
            return evaluation.end_of_message();
        evaluation.recipient("bob@example.net");
        engine::feed_message(evaluation, message, chunk_bytes);
        return evaluation.end_of_message();
    }
};

std::string plain_message(std::string from, std::string extra_headers = "") {
    return extra_headers + "From: " + from +
           "\nTo: bob@example.net\nSubject: hello\n\nHello Bob,\nthe numbers are in.\n";
}

std::string signed_message() {
    dkim_test::Message message = dkim_test::sample_message("Alice <alice@example.test>");
    dkim_test::sign(message, {.key = &dkim_test::rsa_2048(), .selector = "s1"});
    return dkim_test::to_text(message);
}

// A message from `from` signed d=`domain` s=s1 (RSA-2048).
std::string signed_by(const std::string& from, const std::string& domain) {
    dkim_test::Message message = dkim_test::sample_message(from);
    dkim_test::sign(message, {.key = &dkim_test::rsa_2048(), .selector = "s1", .domain = domain});
    return dkim_test::to_text(message);
}

void check_verdict(const Report& report, Action action, std::string_view reason) {
    BOOST_TEST(config::action_name(report.verdict.action) == config::action_name(action));
    BOOST_TEST(report.verdict.reason == reason);
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(engine_checks, Fixture)

BOOST_AUTO_TEST_CASE(aligned_spf_and_dkim_pass_is_accepted_with_our_header) {
    const Report report = run(signed_message(), "alice@example.test");
    check_verdict(report, Action::accept, "ok");
    BOOST_TEST(report.spf_mailfrom->result == "pass");
    BOOST_REQUIRE_EQUAL(report.dkim.size(), 1u);
    BOOST_TEST(report.dkim[0].result == "pass");
    BOOST_TEST(report.dkim[0].key_bits == 2048u);
    BOOST_TEST(report.dmarc->result == "pass");
    BOOST_TEST(report.authentication_results ==
               "mx.test; spf=pass smtp.mailfrom=alice@example.test; dkim=pass "
               "header.d=example.test header.s=s1 header.a=rsa-sha256; dmarc=pass "
               "reason=\"p=reject dis=none\" header.from=example.test");
    BOOST_REQUIRE_EQUAL(report.verdict.add_headers.size(), 1u);
    BOOST_TEST(report.verdict.add_headers[0].first == "Authentication-Results");
    const std::string json = engine::report_json(report);
    BOOST_TEST(json.find(R"("verdict": {"action": "accept", "code": "250")") != json.npos);
}

BOOST_AUTO_TEST_CASE(spoofed_from_of_a_p_reject_domain_is_quarantined_by_default) {
    // RFC 9989 §7.4 and §8: p=reject alone is no reason to reject; treated as p=quarantine.
    const Report report = run(plain_message("ceo@bank.test"), "someone@other.test");
    check_verdict(report, Action::quarantine, "dmarc_reject");
    BOOST_TEST(report.dmarc->disposition == "reject");
    BOOST_TEST(report.verdict.add_headers.size() == 1u);
}

BOOST_AUTO_TEST_CASE(spoofed_from_of_a_p_reject_domain_is_rejected_and_explained) {
    const Report report = run(plain_message("ceo@bank.test"), "someone@other.test",
                              "[actions]\ndmarc_reject_action = reject\n");
    check_verdict(report, Action::reject, "dmarc_reject");
    BOOST_TEST(report.verdict.code == "550");
    BOOST_TEST(report.verdict.status == "5.7.1");
    BOOST_TEST(report.explanation() == "DMARC fail: From bank.test, p=reject, SPF pass for "
                                       "other.test not aligned, no DKIM signature");
    BOOST_TEST(report.verdict.add_headers.empty()); // a rejected message gets no header
}

BOOST_AUTO_TEST_CASE(a_helo_pass_never_aligns_for_dmarc) { // CVE-2019-20790
    const Report report = run(plain_message("ceo@bank.test"), "", "", "mail.bank.test");
    BOOST_TEST(report.spf_helo->result == "pass");
    // With the null sender the MAIL FROM identity is postmaster@HELO (RFC 7208 §2.4) ...
    BOOST_TEST(report.spf_mailfrom->identity == "postmaster@mail.bank.test");
    // ... and its pass aligns only in relaxed mode, like any MAIL FROM pass would.
    BOOST_TEST(report.dmarc->result == "pass");
    const Report other = run(plain_message("ceo@bank.test"), "x@other.test",
                             "[actions]\ndmarc_reject_action = reject\n", "mail.bank.test");
    BOOST_TEST(other.spf_helo->result == "pass");
    BOOST_TEST(other.dmarc->result == "fail"); // HELO pass for bank.test did not count
    check_verdict(other, Action::reject, "dmarc_reject");
}

BOOST_AUTO_TEST_CASE(quarantine_policy_quarantines) {
    const Report report = run(plain_message("a@careful.test"), "someone@other.test");
    check_verdict(report, Action::quarantine, "dmarc_quarantine");
    BOOST_TEST(report.dmarc->disposition == "quarantine");
    BOOST_TEST(report.verdict.add_headers.size() == 1u); // kept messages carry A-R
}

BOOST_AUTO_TEST_CASE(forged_authentication_results_are_removed_highest_index_first) {
    const std::string headers = "Authentication-Results: mx.test; dkim=pass header.d=bank.test\n"
                                "Authentication-Results: relay.test; spf=pass\n"
                                "Authentication-Results: MX.TEST.; dmarc=pass\n"
                                "Authentication-Results: elsewhere.test; spf=fail\n";
    const Report report = run(plain_message("alice@example.test", headers), "alice@example.test",
                              "[auth]\ntrusted_authserv_ids = relay.test\n");
    const std::vector<engine::HeaderRemoval> expected{{"Authentication-Results", 3},
                                                      {"Authentication-Results", 1}};
    BOOST_TEST(report.verdict.remove_headers == expected, boost::test_tools::per_element());
    BOOST_REQUIRE_EQUAL(report.trusted_authentication_results.size(), 1u);
    BOOST_TEST(report.trusted_authentication_results[0] == " relay.test; spf=pass");
}

BOOST_AUTO_TEST_CASE(outbound_mail_is_not_checked) {
    const Report authenticated =
        run(plain_message("ceo@bank.test"), "x@other.test", "", "h", "198.51.100.1", "alice");
    check_verdict(authenticated, Action::accept, "outbound");
    BOOST_TEST(!authenticated.spf_mailfrom);
    BOOST_TEST(authenticated.authentication_results.empty());
    const Report internal =
        run(plain_message("ceo@bank.test"), "x@other.test", "", "h", "10.1.2.3");
    check_verdict(internal, Action::accept, "outbound");
}

BOOST_AUTO_TEST_CASE(hostile_from_headers_follow_from_header_action) {
    struct Case {
        std::string headers;
        std::string reason;
    };
    const std::vector<Case> cases{
        {"From: a@example.test\nFrom: b@bank.test\n", "from_multiple_headers"},
        {"From: a@example.test, b@bank.test\n", "from_multiple_addresses"},
        {"From: alice\n", "from_no_domain"},
        {"From: \"ceo@bank.test\" <x@example.test\n", "from_unbalanced"},
        {"To: bob@example.net\n", "from_missing"},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT(c.headers) {
            const Report report = run(c.headers + "Subject: x\n\nbody\n", "a@example.test");
            check_verdict(report, Action::reject, c.reason);
            BOOST_TEST(report.verdict.status == "5.7.1");
        }
    }
    // Several addresses of one domain are evaluated under it (RFC 7489 §6.6.1).
    const Report shared = run("From: a@example.test, b@EXAMPLE.test\n\nbody\n", "a@example.test");
    check_verdict(shared, Action::accept, "ok");
    BOOST_TEST(shared.dmarc->result == "pass");
    // from_header_action = none: each author domain evaluated, bank.test's policy decides.
    const Report lenient = run("From: a@example.test, b@bank.test\n\nbody\n", "a@example.test",
                               "[actions]\nfrom_header_action = none\n");
    check_verdict(lenient, Action::quarantine, "dmarc_reject");
    BOOST_TEST(lenient.authentication_results.find("dmarc=fail") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(dmarc_result_words_for_a_broken_record_and_a_from_without_a_domain) {
    // Issue 15 item 7: a broken record is dmarc=permerror; no author domain is
    // dmarc=permerror header.from=none; from_header_action still decides the verdict.
    const Report broken = run(plain_message("a@broken.test"), "a@other.test");
    BOOST_TEST(broken.dmarc->result == "permerror");
    BOOST_TEST(broken.authentication_results.find("dmarc=permerror") != std::string::npos,
               broken.authentication_results);
    BOOST_TEST(broken.authentication_results.find("header.from=broken.test") != std::string::npos,
               broken.authentication_results);
    BOOST_TEST(engine::report_json(broken).find("\"permerror\"") != std::string::npos);
    check_verdict(broken, Action::accept, "ok");

    const Report nobody = run("From: alice\nSubject: x\n\nbody\n", "a@other.test",
                              "[actions]\nfrom_header_action = none\n");
    BOOST_TEST(nobody.authentication_results.find("dmarc=permerror") != std::string::npos,
               nobody.authentication_results);
    BOOST_TEST(nobody.authentication_results.find("header.from=none") != std::string::npos,
               nobody.authentication_results);
    check_verdict(nobody, Action::accept, "ok");
    const Report refused = run("From: alice\nSubject: x\n\nbody\n", "a@other.test");
    check_verdict(refused, Action::reject, "from_no_domain");
}

// Issue 15 item 7, RFC 9989 §11.5: each author domain is evaluated, the strictest result is
// reported (A-R, JSON), and its policy decides once from_header_action lets the message go on.
BOOST_AUTO_TEST_CASE(several_author_domains_are_each_evaluated_and_the_strictest_reported) {
    const std::string message = "From: a@example.test, ceo@bank.test\nSender: a@example.test\n"
                                "Subject: x\n\nbody\n";
    const Report refused = run(message, "a@example.test");
    check_verdict(refused, Action::reject, "from_multiple_addresses"); // first, as before
    BOOST_TEST(refused.dmarc->result == "fail");
    BOOST_TEST(refused.dmarc->from_domain == "bank.test");
    BOOST_REQUIRE_EQUAL(refused.dmarc_authors.size(), 2u);
    BOOST_TEST(refused.dmarc_authors[0].result == "pass"); // example.test, SPF aligned
    BOOST_TEST(refused.authentication_results.find(
                   "dmarc=fail reason=\"p=reject dis=reject\" header.from=bank.test "
                   "policy.dmarc=reject") != std::string::npos,
               refused.authentication_results);
    const std::string json = engine::report_json(refused);
    BOOST_TEST(json.find("\"from_domain\": \"bank.test\"") != std::string::npos, json);
    BOOST_TEST(json.find("\"author_domains\": [{\"domain\": \"example.test\", "
                         "\"result\": \"pass\"") != std::string::npos,
               json);

    const std::string lenient = "[actions]\nfrom_header_action = none\n";
    const Report rejected =
        run(message, "a@example.test", lenient + "dmarc_reject_action = reject\n");
    check_verdict(rejected, Action::reject, "dmarc_reject");
    BOOST_TEST(rejected.verdict.text ==
               "DMARC policy of bank.test rejects this unauthenticated mail");
    // Repeated From headers of one address each are evaluated the same way.
    const Report headers = run("From: a@example.test\nFrom: ceo@bank.test\n\nbody\n",
                               "a@example.test", lenient + "dmarc_reject_action = reject\n");
    check_verdict(headers, Action::reject, "dmarc_reject");
    // Every author domain passes: pass (relaxed alignment of sub.example.test).
    const Report passed =
        run("From: a@example.test, b@sub.example.test\n\nbody\n", "a@example.test", lenient);
    BOOST_TEST(passed.dmarc->result == "pass");
    check_verdict(passed, Action::accept, "ok");
    // A domain without a record is not authenticated by another's pass: none.
    const Report unknown =
        run("From: a@example.test, b@nowhere.test\n\nbody\n", "a@example.test", lenient);
    BOOST_TEST(unknown.dmarc->result == "none");
    BOOST_TEST(unknown.dmarc->from_domain == "nowhere.test");
}

BOOST_AUTO_TEST_CASE(a_reject_fail_outranks_a_dns_error_which_outranks_a_weaker_fail) {
    const std::string lenient = "[actions]\nfrom_header_action = none\n";
    // bank.test fails under p=reject: certain, and nothing is stricter than reject.
    const Report certain = run("From: a@slow.test, ceo@bank.test\n\nbody\n", "x@other.test",
                               lenient + "dmarc_reject_action = reject\n");
    BOOST_TEST(certain.dmarc->from_domain == "bank.test");
    check_verdict(certain, Action::reject, "dmarc_reject");
    BOOST_TEST(!certain.verdict.ours);
    // careful.test fails under quarantine, slow.test's policy could not be read and may be
    // reject: the DNS error decides (451 4.4.3 naming the lookup), not the weaker fail.
    const Report held = run("From: a@careful.test, b@slow.test\n\nbody\n", "x@other.test", lenient);
    BOOST_TEST(held.dmarc->result == "temperror");
    check_verdict(held, Action::tempfail, "dmarc_dns_error");
    BOOST_TEST(held.verdict.text == "DNS error looking up _dmarc.slow.test, try again later");
    BOOST_TEST(held.verdict.ours);
    // Only the weaker fail: quarantined under careful.test's policy.
    const Report kept =
        run("From: a@careful.test, b@nowhere.test\n\nbody\n", "x@other.test", lenient);
    check_verdict(kept, Action::quarantine, "dmarc_quarantine");
}

BOOST_AUTO_TEST_CASE(more_author_domains_than_evaluated_are_permerror) {
    std::string from = "From: a0@d0.test";
    for (std::size_t i = 1; i <= auth::max_author_domains; ++i)
        from += ", a@d" + std::to_string(i) + ".test";
    const Report report = run(from + ", ceo@bank.test\n\nbody\n", "x@other.test",
                              "[actions]\nfrom_header_action = none\n");
    BOOST_TEST(report.dmarc->result == "permerror");
    BOOST_TEST(report.dmarc_authors.empty());
    check_verdict(report, Action::accept, "ok");
    // Exactly max_author_domains are evaluated: bank.test's fail is found.
    std::string bounded = "From: ceo@bank.test";
    for (std::size_t i = 1; i < auth::max_author_domains; ++i)
        bounded += ", a@d" + std::to_string(i) + ".test";
    const Report evaluated = run(bounded + "\n\nbody\n", "x@other.test");
    BOOST_TEST(evaluated.dmarc->result == "fail");
    BOOST_TEST(evaluated.dmarc_authors.size() == auth::max_author_domains);
}

BOOST_AUTO_TEST_CASE(more_from_headers_than_kept_are_still_multiple) {
    std::string headers;
    for (std::size_t i = 0; i < engine::max_from_headers_kept + 5; ++i)
        headers += "From: a@example.test\n";
    const Report report = run(headers + "\nbody\n", "a@example.test");
    check_verdict(report, Action::reject, "from_multiple_headers");
    BOOST_TEST(report.dmarc->result == "permerror"); // not every author known: none evaluated
}

BOOST_AUTO_TEST_CASE(dmarc_lookup_timeout_tempfails_by_default) {
    const Report report = run(plain_message("a@slow.test"), "a@other.test");
    BOOST_TEST(report.dmarc->result == "temperror");
    check_verdict(report, Action::tempfail, "dmarc_dns_error");
    BOOST_TEST(report.verdict.code == "451");
    const Report accepted =
        run(plain_message("a@slow.test"), "a@other.test", "[actions]\non_dns_error = accept\n");
    check_verdict(accepted, Action::accept, "dmarc_dns_error");
}

BOOST_AUTO_TEST_CASE(an_aligned_temperror_makes_dmarc_temperror_not_fail) {
    // SPF for the From domain itself cannot be fetched: it could have passed (RFC 9989 §5.3.6).
    const Report held = run(plain_message("a@flaky.test"), "a@flaky.test");
    BOOST_TEST(held.spf_mailfrom->result == "temperror");
    BOOST_TEST(held.dmarc->result == "temperror");
    check_verdict(held, Action::tempfail, "dmarc_dns_error");
    BOOST_TEST(held.verdict.status == "4.4.3");
    BOOST_TEST(held.verdict.text ==
               "DNS error looking up the SPF record of flaky.test, try again later");
    BOOST_TEST(held.verdict.ours);
    // Under p=none nothing could be refused: accepted, dmarc=temperror in our header.
    const Report calm = run(plain_message("a@calm.test"), "a@calm.test");
    BOOST_TEST(calm.dmarc->result == "temperror");
    check_verdict(calm, Action::accept, "ok");
    BOOST_TEST(calm.authentication_results.find("dmarc=temperror") != std::string::npos,
               calm.authentication_results);
}

BOOST_AUTO_TEST_CASE(an_unfetchable_dmarc_record_holds_only_mail_it_could_refuse) {
    // No SPF or DKIM pass for slow.test itself: its policy may be reject, so 451 naming the lookup.
    const Report held = run(plain_message("a@slow.test"), "a@other.test");
    check_verdict(held, Action::tempfail, "dmarc_dns_error");
    BOOST_TEST(held.verdict.text == "DNS error looking up _dmarc.slow.test, try again later");
    // SPF passes for slow.test itself: DMARC passes under any record, nothing to wait for.
    const Report passed = run(plain_message("a@slow.test"), "a@slow.test");
    BOOST_TEST(passed.dmarc->result == "temperror");
    BOOST_TEST(passed.dmarc->spf_aligned);
    check_verdict(passed, Action::accept, "ok");
}

BOOST_AUTO_TEST_CASE(spf_temperror_of_a_domain_that_could_align_tempfails_under_p_reject) {
    const Report report = run(plain_message("ceo@dnsfail.test"), "x@dnsfail.test",
                              "[actions]\ndmarc_reject_action = reject\n");
    BOOST_TEST(report.spf_mailfrom->result == "temperror");
    BOOST_TEST(report.dmarc->result == "temperror");
    BOOST_TEST(report.dmarc->temperror_could_align);
    check_verdict(report, Action::tempfail, "dmarc_dns_error");
    BOOST_TEST(report.verdict.code == "451");
}

BOOST_AUTO_TEST_CASE(a_dns_error_of_a_domain_that_can_never_align_does_not_soften_a_fail) {
    // Issue 13 item 8: the spoofer's own SPF domain answers SERVFAIL; it can never align with
    // bank.test, so the DMARC fail is certain: 550, not on_dns_error's 451.
    const Report report = run(plain_message("ceo@bank.test"), "x@dnsfail.test",
                              "[actions]\ndmarc_reject_action = reject\n");
    BOOST_TEST(report.spf_mailfrom->result == "temperror");
    BOOST_TEST(report.dmarc->result == "fail");
    BOOST_TEST(!report.dmarc->temperror_could_align);
    check_verdict(report, Action::reject, "dmarc_reject");
    BOOST_TEST(report.verdict.code == "550");
}

// Issue 13 items 8 and 9 for DKIM: a signature of the From domain whose key cannot be fetched
// could have passed, so DMARC is temperror and p=reject gets on_dns_error (451, ours, naming the
// lookup); one by a domain that can never align (the spoofer's own) leaves the fail certain: 550.
BOOST_AUTO_TEST_CASE(a_dkim_key_lookup_failure_softens_dmarc_only_where_it_could_align) {
    const std::string reject = "[actions]\ndmarc_reject_action = reject\n";
    const Report aligned =
        run(signed_by("CEO <ceo@bank.test>", "bank.test"), "x@other.test", reject);
    BOOST_REQUIRE_EQUAL(aligned.dkim.size(), 1u);
    BOOST_TEST(aligned.dkim[0].result == "temperror");
    BOOST_TEST(aligned.dmarc->result == "temperror");
    BOOST_TEST(aligned.dmarc->temperror_could_align);
    check_verdict(aligned, Action::tempfail, "dmarc_dns_error");
    BOOST_TEST(aligned.verdict.code == "451");
    BOOST_TEST(aligned.verdict.ours);
    BOOST_TEST(aligned.verdict.text.find("bank.test") != std::string::npos, aligned.verdict.text);

    const Report spoof =
        run(signed_by("CEO <ceo@bank.test>", "dnsfail.test"), "x@other.test", reject);
    BOOST_REQUIRE_EQUAL(spoof.dkim.size(), 1u);
    BOOST_TEST(spoof.dkim[0].result == "temperror");
    BOOST_TEST(spoof.dmarc->result == "fail");
    BOOST_TEST(!spoof.dmarc->temperror_could_align);
    check_verdict(spoof, Action::reject, "dmarc_reject");
    BOOST_TEST(spoof.verdict.code == "550");
    BOOST_TEST(!spoof.verdict.ours);
}

BOOST_AUTO_TEST_CASE(our_header_stays_legal_with_a_2000_octet_local_part_and_200_signatures) {
    std::string signatures;
    for (int i = 0; i < 200; ++i)
        signatures += "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=d" +
                      std::to_string(i) + ".attacker.test; s=s" + std::to_string(i) +
                      "; h=from; bh=AAAA; b=AAAA\n";
    const std::string local(2000, 'a');
    const Report report =
        run(plain_message("alice@example.test", signatures), local + "@example.test");
    check_verdict(report, Action::accept, "ok");
    BOOST_TEST(report.dkim.size() == 5u); // dkim_max_signatures
    BOOST_TEST(report.dkim_not_evaluated == 195u);
    const std::string& value = report.authentication_results;
    // RFC 5321 allows 64 octets: a longer local part is left out, the domain SPF checked stays.
    BOOST_TEST(value.find("aaaa") == std::string::npos, value);
    BOOST_TEST(value.find("spf=pass smtp.mailfrom=example.test;") != std::string::npos, value);
    std::size_t results = 0;
    for (std::size_t at = 0; (at = value.find("dkim=", at)) != std::string::npos; ++at)
        ++results;
    BOOST_TEST(results == 6u, value); // five evaluated, then how many more there were
    BOOST_TEST(value.find("dkim=policy reason=\"195 more signatures not evaluated\"") !=
                   std::string::npos,
               value);
    BOOST_TEST(value.find("d5.attacker.test") == std::string::npos, value);
    // Folded as the milter adds it: every line within 78 octets (no word here is longer).
    const std::string folded = auth::fold_header_value(value, 24, 78, "\r\n");
    std::size_t start = 0, width = 24; // "Authentication-Results: "
    while (start <= folded.size()) {
        const std::size_t end = std::min(folded.find("\r\n", start), folded.size());
        BOOST_TEST(width + end - start <= 78u, folded.substr(start, end - start));
        width = 0;
        start = end + 2;
    }
    // A local part of 64 octets is an address RFC 5321 allows: kept.
    const std::string longest(64, 'b');
    const Report kept = run(plain_message("alice@example.test"), longest + "@example.test");
    BOOST_TEST(kept.authentication_results.find("smtp.mailfrom=" + longest + "@example.test") !=
                   std::string::npos,
               kept.authentication_results);
}

BOOST_AUTO_TEST_CASE(spf_fail_rejects_at_mail_from_when_configured) {
    const engine::Engine checks(test_config("[actions]\nspf_fail_action = reject\n"), resolver,
                                suffixes);
    auto evaluation =
        checks.evaluate({.client_ip = "203.0.113.9", .client_name = "", .helo = "x.test"});
    const engine::Verdict early = evaluation.mail_from("a@example.test", "");
    BOOST_TEST(config::action_name(early.action) == "reject");
    BOOST_TEST(early.status == "5.7.23");
    BOOST_TEST(early.reason == "spf_fail");
}

BOOST_AUTO_TEST_CASE(feed_message_splits_folded_headers_and_normalizes_line_ends) {
    // The same signed message verifies from LF text, CRLF text, a mix, and in any chunking
    // (a chunk may end between CR and LF).
    const std::string crlf = signed_message();
    std::string lf, mixed;
    for (std::size_t i = 0; i < crlf.size(); ++i) {
        if (crlf[i] != '\r')
            lf += crlf[i];
        if (crlf[i] != '\r' || i % 3 == 0)
            mixed += crlf[i];
    }
    for (const std::string& text : {crlf, lf, mixed}) {
        for (const std::size_t chunk : {1, 2, 3, 7, 64, 65535}) {
            const Report report =
                run(text, "alice@example.test", "", "mail.example.test", sender_ip, "", chunk);
            BOOST_REQUIRE_EQUAL(report.dkim.size(), 1u);
            BOOST_TEST(report.dkim[0].result == "pass", "chunk " << chunk);
        }
    }
    // One bare LF anywhere in an otherwise CRLF body is still found and normalized (the
    // body is handed over uncopied only when every LF follows a CR).
    const std::size_t body_start = crlf.find("\r\n\r\n") + 4;
    for (std::size_t cr = crlf.find('\r', body_start); cr != std::string::npos;
         cr = crlf.find('\r', cr + 1)) {
        const std::string one_bare_lf = crlf.substr(0, cr) + crlf.substr(cr + 1);
        for (const std::size_t chunk : {7, 65535}) {
            const Report report = run(one_bare_lf, "alice@example.test", "", "mail.example.test",
                                      sender_ip, "", chunk);
            BOOST_REQUIRE_EQUAL(report.dkim.size(), 1u);
            BOOST_TEST(report.dkim[0].result == "pass", "CR at " << cr << ", chunk " << chunk);
        }
    }
    // The same in a body of several 4 KB pieces: a bare LF in a later piece, and at the
    // edges of a piece.
    dkim_test::Message long_message = dkim_test::sample_message("Alice <alice@example.test>");
    long_message.body.clear();
    for (int line = 0; long_message.body.size() < 12000; ++line)
        long_message.body += "line " + std::to_string(line) + " of a long body\r\n";
    dkim_test::sign(long_message, {.key = &dkim_test::rsa_2048(), .selector = "s1"});
    const std::string long_text = dkim_test::to_text(long_message);
    const std::size_t long_body = long_text.find("\r\n\r\n") + 4;
    for (const std::size_t offset : {4095, 4096, 4097, 4098, 6000, 8191, 8192, 11000}) {
        const std::size_t cr = long_text.find("\r\n", long_body + offset - 1);
        BOOST_REQUIRE(cr != std::string::npos);
        const std::string one_bare_lf = long_text.substr(0, cr) + long_text.substr(cr + 1);
        const Report report = run(one_bare_lf, "alice@example.test");
        BOOST_REQUIRE_EQUAL(report.dkim.size(), 1u);
        BOOST_TEST(report.dkim[0].result == "pass", "CR at body offset " << cr - long_body);
    }
    // A line that is not a header field ends the header section (it is body text).
    const Report report =
        run("From: a@example.test\nnot a header\nFrom: b@bank.test\n\nx\n", "a@example.test");
    check_verdict(report, Action::accept, "ok");
}

BOOST_AUTO_TEST_SUITE_END()
