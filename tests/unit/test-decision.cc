// The decision table (lib/engine/decision): one case per row of decision.hh, plus the
// configured alternatives of each failure action and the SMTP-safe text filter.
#include "engine/decision.hh"

#include <boost/test/unit_test.hpp>

using namespace mailwarden;
using engine::Action;
using engine::DecisionPolicy;
using engine::EnvelopeFacts;
using engine::MessageFacts;
using engine::Verdict;

namespace {

MessageFacts dmarc_failure(std::string disposition) {
    MessageFacts facts;
    facts.envelope.spf_result = "pass";
    facts.envelope.spf_domain = "other.example";
    facts.from_domain = "bank.example";
    facts.dmarc_result = "fail";
    facts.dmarc_disposition = std::move(disposition);
    return facts;
}

void check(const Verdict& verdict, Action action, std::string_view code, std::string_view status,
           std::string_view reason) {
    BOOST_TEST(config::action_name(verdict.action) == config::action_name(action));
    BOOST_TEST(verdict.code == code);
    BOOST_TEST(verdict.status == status);
    BOOST_TEST(verdict.reason == reason);
}

} // namespace

BOOST_AUTO_TEST_SUITE(decision)

BOOST_AUTO_TEST_CASE(defaults_match_the_parameter_table) {
    const DecisionPolicy from_table = DecisionPolicy::from_config(*config::default_config());
    const DecisionPolicy built_in;
    BOOST_TEST((from_table.spf_fail == built_in.spf_fail));
    BOOST_TEST((from_table.dmarc_reject == built_in.dmarc_reject));
    BOOST_TEST((from_table.dmarc_quarantine == built_in.dmarc_quarantine));
    BOOST_TEST((from_table.from_header == built_in.from_header));
    BOOST_TEST((from_table.on_dns_error == built_in.on_dns_error));
    BOOST_TEST((from_table.on_internal_error == built_in.on_internal_error));
}

BOOST_AUTO_TEST_CASE(row1_outbound_mail_is_never_rejected_inbound) {
    DecisionPolicy strict;
    strict.spf_fail = Action::reject;
    MessageFacts facts = dmarc_failure("reject");
    facts.envelope.outbound = true;
    facts.envelope.spf_result = "fail";
    facts.from_problem = auth::FromProblem::multiple_addresses;
    check(engine::decide_envelope(strict, facts.envelope), Action::accept, "250", "2.0.0",
          "outbound");
    check(engine::decide_message(strict, facts), Action::accept, "250", "2.0.0", "outbound");
}

BOOST_AUTO_TEST_CASE(row2_spf_fail_rejects_at_mail_only_when_configured) {
    EnvelopeFacts facts;
    facts.spf_result = "fail";
    facts.spf_domain = "spoofed.example";
    facts.spf_explanation = "see\r\nhttp://spoofed.example/why\x01";
    check(engine::decide_envelope(DecisionPolicy{}, facts), Action::accept, "250", "2.0.0", "ok");
    DecisionPolicy strict;
    strict.spf_fail = Action::reject;
    const Verdict verdict = engine::decide_envelope(strict, facts);
    check(verdict, Action::reject, "550", "5.7.23", "spf_fail");
    BOOST_TEST(verdict.text ==
               "SPF check failed for spoofed.example: see http://spoofed.example/why?");
    // The end-of-message table gives the same answer for the same facts.
    MessageFacts message;
    message.envelope = facts;
    check(engine::decide_message(strict, message), Action::reject, "550", "5.7.23", "spf_fail");
    // softfail, temperror and HELO results never reject.
    facts.spf_result = "softfail";
    check(engine::decide_envelope(strict, facts), Action::accept, "250", "2.0.0", "ok");
}

BOOST_AUTO_TEST_CASE(row3_from_header_problems_follow_from_header_action) {
    MessageFacts facts;
    facts.envelope.spf_result = "pass";
    facts.from_problem = auth::FromProblem::multiple_headers;
    const Verdict rejected = engine::decide_message(DecisionPolicy{}, facts);
    check(rejected, Action::reject, "550", "5.7.1", "from_multiple_headers");
    BOOST_TEST(rejected.text == "message has no single valid author (From header: "
                                "multiple_headers)");
    DecisionPolicy lenient;
    lenient.from_header = Action::quarantine;
    check(engine::decide_message(lenient, facts), Action::quarantine, "250", "2.0.0",
          "from_multiple_headers");
    lenient.from_header = Action::none;
    check(engine::decide_message(lenient, facts), Action::accept, "250", "2.0.0", "ok");
}

BOOST_AUTO_TEST_CASE(row4_dns_trouble_under_p_reject_tempfails_by_default) {
    MessageFacts facts = dmarc_failure("reject");
    facts.auth_temperror = true;
    check(engine::decide_message(DecisionPolicy{}, facts), Action::tempfail, "451", "4.4.3",
          "dmarc_dns_error");
    DecisionPolicy accept_on_dns_error;
    accept_on_dns_error.on_dns_error = Action::accept;
    check(engine::decide_message(accept_on_dns_error, facts), Action::accept, "250", "2.0.0",
          "dmarc_dns_error");
}

BOOST_AUTO_TEST_CASE(row5_dmarc_reject_follows_dmarc_reject_action) {
    const MessageFacts facts = dmarc_failure("reject");
    // RFC 9989 §7.4 and §8: not rejected on p=reject alone; treated as p=quarantine.
    check(engine::decide_message(DecisionPolicy{}, facts), Action::quarantine, "250", "2.0.0",
          "dmarc_reject");
    DecisionPolicy strict;
    strict.dmarc_reject = Action::reject;
    const Verdict verdict = engine::decide_message(strict, facts);
    check(verdict, Action::reject, "550", "5.7.1", "dmarc_reject");
    BOOST_TEST(verdict.text == "DMARC policy of bank.example rejects this unauthenticated mail");
    DecisionPolicy softer;
    softer.dmarc_reject = Action::quarantine;
    check(engine::decide_message(softer, facts), Action::quarantine, "250", "2.0.0",
          "dmarc_reject");
    softer.dmarc_reject = Action::none;
    check(engine::decide_message(softer, facts), Action::accept, "250", "2.0.0", "ok");
}

BOOST_AUTO_TEST_CASE(row6_dmarc_quarantine_follows_dmarc_quarantine_action) {
    const MessageFacts facts = dmarc_failure("quarantine");
    check(engine::decide_message(DecisionPolicy{}, facts), Action::quarantine, "250", "2.0.0",
          "dmarc_quarantine");
    DecisionPolicy harder;
    harder.dmarc_quarantine = Action::reject;
    check(engine::decide_message(harder, facts), Action::reject, "550", "5.7.1",
          "dmarc_quarantine");
    harder.dmarc_quarantine = Action::none;
    check(engine::decide_message(harder, facts), Action::accept, "250", "2.0.0", "ok");
    // A temperror elsewhere does not turn a quarantine into a tempfail.
    MessageFacts with_trouble = facts;
    with_trouble.auth_temperror = true;
    check(engine::decide_message(DecisionPolicy{}, with_trouble), Action::quarantine, "250",
          "2.0.0", "dmarc_quarantine");
}

BOOST_AUTO_TEST_CASE(row7_holds_only_mail_a_hidden_policy_could_refuse_and_names_the_lookup) {
    MessageFacts facts;
    facts.from_domain = "bank.example";
    facts.dmarc_result = "temperror";
    facts.failed_lookup = "_dmarc.bank.example";
    const Verdict held = engine::decide_message(DecisionPolicy{}, facts);
    check(held, Action::tempfail, "451", "4.4.3", "dmarc_dns_error");
    BOOST_TEST(held.text == "DNS error looking up _dmarc.bank.example, try again later");
    BOOST_TEST(held.ours); // our trouble: it moves no reputation
    // SPF or DKIM passed for the From domain itself: it passes under any record.
    MessageFacts authenticated = facts;
    authenticated.dmarc_aligned = true;
    check(engine::decide_message(DecisionPolicy{}, authenticated), Action::accept, "250", "2.0.0",
          "ok");
    // A known policy that refuses nothing (an aligned lookup failed under p=none).
    MessageFacts relaxed = facts;
    relaxed.dmarc_policy = "none";
    check(engine::decide_message(DecisionPolicy{}, relaxed), Action::accept, "250", "2.0.0", "ok");
    relaxed.dmarc_policy = "reject";
    check(engine::decide_message(DecisionPolicy{}, relaxed), Action::tempfail, "451", "4.4.3",
          "dmarc_dns_error");
}

BOOST_AUTO_TEST_CASE(verdicts_of_our_own_trouble_are_marked_ours) {
    BOOST_TEST(engine::internal_error_verdict(DecisionPolicy{}).ours);
    DecisionPolicy closed;
    closed.on_state_error = Action::tempfail;
    BOOST_TEST(engine::state_error_verdict(closed).ours);
    MessageFacts spoof = dmarc_failure("reject");
    BOOST_TEST(!engine::decide_message(DecisionPolicy{}, spoof).ours);
    spoof.auth_temperror = true;
    BOOST_TEST(engine::decide_message(DecisionPolicy{}, spoof).ours);
}

BOOST_AUTO_TEST_CASE(row7_unknown_dmarc_policy_is_a_dns_error) {
    MessageFacts facts;
    facts.from_domain = "bank.example";
    facts.dmarc_result = "temperror";
    check(engine::decide_message(DecisionPolicy{}, facts), Action::tempfail, "451", "4.4.3",
          "dmarc_dns_error");
    DecisionPolicy accept_on_dns_error;
    accept_on_dns_error.on_dns_error = Action::accept;
    check(engine::decide_message(accept_on_dns_error, facts), Action::accept, "250", "2.0.0",
          "dmarc_dns_error");
}

BOOST_AUTO_TEST_CASE(row8_spf_fail_quarantine) {
    DecisionPolicy policy;
    policy.spf_fail = Action::quarantine;
    MessageFacts facts;
    facts.envelope.spf_result = "fail";
    facts.envelope.spf_domain = "spoofed.example";
    check(engine::decide_envelope(policy, facts.envelope), Action::accept, "250", "2.0.0", "ok");
    check(engine::decide_message(policy, facts), Action::quarantine, "250", "2.0.0", "spf_fail");
}

BOOST_AUTO_TEST_CASE(row9_everything_else_is_accepted) {
    struct Case {
        std::string spf, dmarc, disposition;
    };
    const std::vector<Case> cases{{"pass", "pass", "none"},      {"fail", "pass", "none"},
                                  {"none", "none", ""},          {"temperror", "fail", "none"},
                                  {"softfail", "permerror", ""}, {"", "", ""}};
    for (const Case& c : cases) {
        MessageFacts facts;
        facts.envelope.spf_result = c.spf;
        facts.dmarc_result = c.dmarc;
        facts.dmarc_disposition = c.disposition;
        BOOST_TEST_CONTEXT(c.spf << "/" << c.dmarc << "/" << c.disposition) {
            check(engine::decide_message(DecisionPolicy{}, facts), Action::accept, "250", "2.0.0",
                  "ok");
        }
    }
}

BOOST_AUTO_TEST_CASE(internal_error_follows_on_internal_error) {
    check(engine::internal_error_verdict(DecisionPolicy{}), Action::tempfail, "451", "4.3.0",
          "internal_error");
    DecisionPolicy accept_policy;
    accept_policy.on_internal_error = Action::accept;
    check(engine::internal_error_verdict(accept_policy), Action::accept, "250", "2.0.0",
          "internal_error");
}

BOOST_AUTO_TEST_CASE(row_2b_spf_temperror_tempfails_only_when_configured) {
    EnvelopeFacts facts;
    facts.spf_result = "temperror";
    facts.spf_domain = "slow.example";
    check(engine::decide_envelope(DecisionPolicy{}, facts), Action::accept, "250", "2.0.0", "ok");
    DecisionPolicy strict;
    strict.spf_temperror = Action::tempfail;
    const Verdict verdict = engine::decide_envelope(strict, facts);
    check(verdict, Action::tempfail, "451", "4.4.3", "spf_temperror");
    BOOST_TEST(verdict.text ==
               "temporary DNS error while checking SPF for slow.example, try again later");
}

BOOST_AUTO_TEST_CASE(state_error_follows_on_state_error) {
    check(engine::state_error_verdict(DecisionPolicy{}), Action::accept, "250", "2.0.0",
          "state_error");
    DecisionPolicy tempfail_policy;
    tempfail_policy.on_state_error = Action::tempfail;
    check(engine::state_error_verdict(tempfail_policy), Action::tempfail, "451", "4.3.0",
          "state_error");
}

BOOST_AUTO_TEST_CASE(a_rate_limit_names_itself_and_when_to_retry) {
    const Verdict tempfail = engine::rate_limited_verdict("per_client", false, 35'001);
    check(tempfail, Action::tempfail, "451", "4.7.1", "ratelimit_per_client");
    BOOST_TEST(tempfail.text == "rate limit per_client exceeded, try again in 36 s");
    check(engine::rate_limited_verdict("quota", true, 1), Action::reject, "550", "5.7.1",
          "ratelimit_quota");
}

BOOST_AUTO_TEST_CASE(exit_status_follows_design) {
    BOOST_TEST(engine::exit_status(Verdict::accept()) == 0);
    BOOST_TEST(engine::exit_status(Verdict::reject("5.7.1", "x", "r")) == 1);
    BOOST_TEST(engine::exit_status(Verdict::tempfail("4.3.0", "x", "r")) == 2);
    BOOST_TEST(engine::exit_status(Verdict::quarantine("x", "r")) == 3);
}

BOOST_AUTO_TEST_CASE(smtp_safe_text_keeps_printable_ascii_within_the_bound) {
    BOOST_TEST(engine::smtp_safe_text("a\r\n b\t\tc") == "a b c");
    BOOST_TEST(engine::smtp_safe_text("caf\xc3\xa9\x7f") == "caf???");
    BOOST_TEST(engine::smtp_safe_text(std::string(500, 'x')).size() == 200u);
    BOOST_TEST(engine::smtp_safe_text("abc", 2) == "ab");
    BOOST_TEST(engine::smtp_safe_text("  \r\n ") == "");
}

BOOST_AUTO_TEST_SUITE_END()
