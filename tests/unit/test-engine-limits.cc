// Rate limits through the engine, on a real LMDB store in a temporary directory: which stage
// each key is checked at, the verdict and its text, outbound quotas by recipients, and the
// state store failing (on_state_error). Boundaries of the bucket arithmetic are in
// test-state-rules.cc; here the clock is real and the periods long.
#include "dns/fake_resolver.hh"
#include "engine/engine.hh"
#include "engine/limits.hh"
#include "engine/message_text.hh"
#include "engine/state_keys.hh"
#include "state/breaker.hh"
#include "state/lmdb_store.hh"

#include <boost/test/unit_test.hpp>

#include <filesystem>

using namespace mailwarden;

namespace {

struct FailingStore final : state::Store {
    state::BatchResult run(std::span<const state::Operation>, state::Millis) override {
        return {.ok = false, .error = "down", .outcomes = {}};
    }
    std::string_view backend() const override { return "failing"; }
};

struct Fixture {
    Fixture() {
        char pattern[] = "/tmp/mw-limits-XXXXXX";
        dir = ::mkdtemp(pattern);
        store = std::make_shared<state::LmdbStore>(state::LmdbOptions{.path = dir + "/state.mdb"});
    }
    ~Fixture() { std::filesystem::remove_all(dir); }

    engine::Engine make_engine(const std::string& limits, const std::string& actions = "",
                               std::shared_ptr<state::Store> use = nullptr) {
        const auto loaded = config::parse_config_text(
            "[general]\nauthserv_id = mx.test\ninternal_networks = 10.0.0.0/8\n[actions]\n" +
                actions + "[limits]\n" + limits,
            "test");
        if (!loaded.ok())
            BOOST_FAIL(loaded.errors.front().to_string());
        return engine::Engine(loaded.config, resolver, suffixes, use ? use : store);
    }

    // MAIL FROM, then recipients; the first final verdict, or the end of message's.
    engine::Report send(const engine::Engine& checks, const std::string& client_ip,
                        const std::string& sender,
                        std::vector<std::string> recipients = {"bob@example.net"},
                        const std::string& auth_user = "",
                        const std::string& from = "a@other.test") {
        auto message =
            checks.evaluate({.client_ip = client_ip, .client_name = "", .helo = "h.test"});
        engine::Verdict verdict = message.mail_from(sender, auth_user);
        for (const auto& recipient : recipients)
            if (!verdict.is_final())
                verdict = message.recipient(recipient);
        if (verdict.is_final()) {
            engine::Report report = message.report_so_far();
            report.verdict = verdict;
            return report;
        }
        engine::feed_message(message, "From: " + from + "\nSubject: x\n\nbody\n");
        return message.end_of_message();
    }

    std::string dir;
    std::shared_ptr<state::Store> store;
    dns::FakeResolver resolver =
        dns::FakeResolver::from_text("other.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
                                     "_dmarc.other.test TXT \"v=DMARC1; p=none\"\n"
                                     "bank.test TXT \"v=spf1 -all\"\n"
                                     "_dmarc.bank.test TXT \"v=DMARC1; p=reject\"\n"
                                     "partner.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
                                     "_dmarc.partner.test TXT \"v=DMARC1; p=quarantine\"\n"
                                     "xn--bcher-kva.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
                                     "_dmarc.xn--bcher-kva.test TXT \"v=DMARC1; p=none\"\n"
                                     "flaky.test SERVFAIL\n"
                                     "_dmarc.flaky.test TXT \"v=DMARC1; p=reject\"\n"
                                     "gone.test SERVFAIL\n"
                                     "_dmarc.gone.test SERVFAIL\n");
    std::shared_ptr<const auth::PublicSuffixList> suffixes =
        std::make_shared<const auth::PublicSuffixList>(auth::PublicSuffixList::from_text("test\n"));
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(engine_limits, Fixture)

BOOST_AUTO_TEST_CASE(a_client_over_its_limit_gets_451_4_7_1_at_mail_naming_the_limit) {
    const auto checks = make_engine("ratelimit = per_client client_ip 2/1h\n");
    BOOST_TEST(send(checks, "192.0.2.7", "a@other.test").rate == "ok");
    BOOST_TEST(
        (send(checks, "192.0.2.7", "b@other.test").verdict.action == config::Action::accept));
    const engine::Report third = send(checks, "192.0.2.7", "c@other.test");
    BOOST_TEST(third.verdict.code == "451");
    BOOST_TEST(third.verdict.status == "4.7.1");
    BOOST_TEST(third.verdict.text == "rate limit per_client exceeded, try again in 1800 s");
    BOOST_TEST(third.verdict.reason == "ratelimit_per_client");
    BOOST_TEST(third.rate == "limited:per_client");
    BOOST_TEST(send(checks, "192.0.2.8", "a@other.test").rate == "ok"); // another client
}

BOOST_AUTO_TEST_CASE(a_subnet_limit_counts_the_whole_slash_24_and_slash_64) {
    const auto checks = make_engine("ratelimit = nets client_subnet 1/1h action=reject\n");
    BOOST_TEST(send(checks, "192.0.2.7", "a@other.test").rate == "ok");
    const engine::Report neighbour = send(checks, "192.0.2.200", "a@other.test");
    BOOST_TEST(neighbour.verdict.code == "550");
    BOOST_TEST(neighbour.verdict.status == "5.7.1");
    BOOST_TEST(send(checks, "192.0.3.1", "a@other.test").rate == "ok");
    BOOST_TEST(send(checks, "2001:db8:1:2::1", "a@other.test").rate == "ok");
    BOOST_TEST(send(checks, "2001:db8:1:2:ffff::9", "a@other.test").verdict.code == "550");
    BOOST_TEST(engine::client_subnet("2001:db8:1:2:3:4:5:6") == "2001:db8:1:2::/64");
    BOOST_TEST(engine::client_subnet("192.0.2.77") == "192.0.2.0/24");
    BOOST_TEST(engine::client_subnet("not an address").empty());
}

BOOST_AUTO_TEST_CASE(sender_keys_ignore_case_and_the_null_sender_is_not_counted) {
    const auto checks = make_engine("ratelimit = senders sender_domain 1/1h\n");
    BOOST_TEST(send(checks, "192.0.2.7", "a@Other.TEST").rate == "ok");
    BOOST_TEST(send(checks, "192.0.2.8", "b@other.test").rate == "limited:senders");
    BOOST_TEST(send(checks, "192.0.2.7", "").rate == "ok");
    BOOST_TEST(send(checks, "192.0.2.7", "").rate == "ok");
}

BOOST_AUTO_TEST_CASE(an_internationalized_domain_is_one_key_however_it_is_spelled) {
    // RFC 8616: bücher.test, BÜCHER.test and xn--bcher-kva.test are one domain; a sender that
    // respells it must not start a new bucket.
    const auto checks = make_engine("ratelimit = domains sender_domain 1/1h\n"
                                    "ratelimit = senders sender 1/1h\n");
    BOOST_TEST(send(checks, "192.0.2.7",
                    "a@b\xc3\xbc"
                    "cher.test")
                   .rate == "ok");
    BOOST_TEST(send(checks, "192.0.2.7",
                    "b@B\xc3\x9c"
                    "CHER.test")
                   .rate == "limited:domains");
    BOOST_TEST(send(checks, "192.0.2.7", "c@xn--bcher-kva.test").rate == "limited:domains");
    BOOST_TEST(engine::domain_key_text("B\xc3\x9c"
                                       "CHER.Test") == "xn--bcher-kva.test");
    BOOST_TEST(engine::address_key_text("J\xc3\xb6rg@B\xc3\x9c"
                                        "cher.test") == "j\xc3\xb6rg@xn--bcher-kva.test");
    BOOST_TEST(engine::address_key_text("Postmaster") == "postmaster");
    // Not a domain IDNA2008 takes: kept as written, lower-cased.
    BOOST_TEST(engine::domain_key_text("B\xfc"
                                       "cher.Test") == "b\xfc"
                                                       "cher.test");
}

BOOST_AUTO_TEST_CASE(a_recipient_limit_refuses_that_recipient_at_rcpt) {
    const auto checks = make_engine("ratelimit = per_rcpt recipient 1/1h\n");
    BOOST_TEST(checks.limits_recipients());
    BOOST_TEST(send(checks, "192.0.2.7", "a@other.test", {"bob@example.net"}).rate == "ok");
    const engine::Report second = send(checks, "192.0.2.8", "b@other.test", {"Bob@example.net"});
    BOOST_TEST(second.verdict.reason == "ratelimit_per_rcpt");
}

BOOST_AUTO_TEST_CASE(a_sender_limit_at_stage_rcpt_refuses_the_recipient_that_goes_over) {
    const auto checks = make_engine("ratelimit = fanout sender 2/1h stage=rcpt\n");
    BOOST_TEST(checks.limits_recipients());
    auto message = checks.evaluate({.client_ip = "192.0.2.7", .client_name = "", .helo = "h.test"});
    BOOST_TEST(!message.mail_from("a@other.test", "").is_final());
    BOOST_TEST(!message.recipient("one@example.net").is_final());
    BOOST_TEST(!message.recipient("two@example.net").is_final());
    const engine::Verdict third = message.recipient("three@example.net");
    BOOST_TEST(third.is_final());
    BOOST_TEST(third.reason == "ratelimit_fanout");
}

BOOST_AUTO_TEST_CASE(a_client_limit_at_stage_eom_counts_only_messages_sent_whole) {
    const auto checks = make_engine("ratelimit = sent client_ip 1/1h stage=eom\n");
    auto dropped = checks.evaluate({.client_ip = "192.0.2.7", .client_name = "", .helo = "h.test"});
    BOOST_TEST(!dropped.mail_from("a@other.test", "").is_final()); // nothing counted at MAIL
    BOOST_TEST(send(checks, "192.0.2.7", "a@other.test").rate == "ok");
    BOOST_TEST(send(checks, "192.0.2.7", "a@other.test").verdict.reason == "ratelimit_sent");
}

BOOST_AUTO_TEST_CASE(an_outbound_quota_counts_recipients_at_end_of_message) {
    const auto checks = make_engine("ratelimit = quota sasl_user 5/1d count=recipients\n"
                                    "ratelimit = per_client client_ip 1/1d\n");
    const std::vector<std::string> three{"a@x.test", "b@x.test", "c@x.test"};
    BOOST_TEST((send(checks, "192.0.2.7", "alice@other.test", three, "alice").verdict.action ==
                config::Action::accept));
    // Outbound: the client limit does not apply; the quota has 2 left, this message needs 3.
    const engine::Report over = send(checks, "192.0.2.7", "alice@other.test", three, "alice");
    BOOST_TEST(over.verdict.reason == "ratelimit_quota");
    BOOST_TEST((send(checks, "192.0.2.7", "alice@other.test", {"a@x.test", "b@x.test"}, "alice")
                    .verdict.action == config::Action::accept));
    BOOST_TEST(send(checks, "192.0.2.7", "bob@other.test", three, "bob").rate == "ok");
}

BOOST_AUTO_TEST_CASE(a_message_with_more_recipients_than_the_burst_is_refused_for_good) {
    // burst 3: six recipients can never pass, however long the sender waits; 451 would be
    // retried until the message bounces days later.
    const auto checks = make_engine("ratelimit = quota sasl_user 1000/1d burst=3 "
                                    "count=recipients\n");
    const std::vector<std::string> six{"a@x.test", "b@x.test", "c@x.test",
                                       "d@x.test", "e@x.test", "f@x.test"};
    const engine::Report refused = send(checks, "192.0.2.7", "alice@other.test", six, "alice");
    BOOST_TEST(refused.verdict.code == "550");
    BOOST_TEST(refused.verdict.status == "5.5.3");
    BOOST_TEST(refused.verdict.text ==
               "too many recipients for rate limit quota: 6, it allows at most 3 at once");
    BOOST_TEST(refused.verdict.reason == "ratelimit_quota");
    BOOST_TEST(refused.rate == "limited:quota");
    // The policy server's end of data gives the same answer; neither counted anything.
    auto message = checks.evaluate({.client_ip = "192.0.2.7", .client_name = "", .helo = "h"});
    BOOST_TEST(!message.mail_from("alice@other.test", "alice").is_final());
    const engine::Verdict at_end_of_data = message.end_of_data(6);
    BOOST_TEST(at_end_of_data.code == "550");
    BOOST_TEST(at_end_of_data.status == "5.5.3");
    const std::vector<std::string> three{"a@x.test", "b@x.test", "c@x.test"};
    BOOST_TEST(send(checks, "192.0.2.7", "alice@other.test", three, "alice").rate == "ok");
    // Exactly the burst is no refusal for good: an empty bucket holds it; a full one says 451.
    const engine::Report later = send(checks, "192.0.2.7", "alice@other.test", three, "alice");
    BOOST_TEST(later.verdict.code == "451");
    BOOST_TEST(later.verdict.status == "4.7.1");
}

BOOST_AUTO_TEST_CASE(a_failing_store_follows_on_state_error) {
    const auto failing = std::make_shared<FailingStore>();
    const auto open = make_engine("ratelimit = per_client client_ip 1/1h\n", "", failing);
    const engine::Report accepted = send(open, "192.0.2.7", "a@other.test");
    BOOST_TEST((accepted.verdict.action == config::Action::accept));
    BOOST_TEST(accepted.rate == "error");
    const auto closed = make_engine("ratelimit = per_client client_ip 1/1h\n",
                                    "on_state_error = tempfail\n", failing);
    const engine::Report refused = send(closed, "192.0.2.7", "a@other.test");
    BOOST_TEST(refused.verdict.code == "451");
    BOOST_TEST(refused.verdict.status == "4.3.0");
    BOOST_TEST(refused.verdict.reason == "state_error");
}

BOOST_AUTO_TEST_CASE(without_limits_or_without_a_store_rate_is_off) {
    BOOST_TEST(send(make_engine(""), "192.0.2.7", "a@other.test").rate == "off");
    const auto loaded =
        config::parse_config_text("[limits]\nratelimit = per_client client_ip 1/1h\n", "test");
    const engine::Engine no_state(loaded.config, resolver, suffixes, nullptr);
    BOOST_TEST(send(no_state, "192.0.2.7", "a@other.test").rate == "off");
    BOOST_TEST(send(no_state, "192.0.2.7", "a@other.test").rate == "off");
}

BOOST_AUTO_TEST_CASE(rate_key_gives_one_key_for_the_texts_the_engine_counts_together) {
    struct Case {
        std::string rule, first, second;
        bool same;
    };
    const std::vector<Case> cases{
        {"n client_ip 1/1h", "192.0.2.7", "192.0.2.7", true},
        {"n client_ip 1/1h", "192.0.2.7", "192.0.2.8", false},
        {"n client_subnet 1/1h", "192.0.2.7", "192.0.2.200", true},
        {"n client_subnet 1/1h", "2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true},
        {"n client_subnet 1/1h", "192.0.2.7", "192.0.3.7", false},
        {"n sender 1/1h", "A@Other.TEST", "a@other.test", true},
        {"n recipient 1/1h", "Bob@Example.NET", "bob@example.net", true},
        {"n sender_domain 1/1h", "a@Other.TEST", "other.test", true},
        {"n sender_domain 1/1h", "a@other.test", "b@other.test", true},
        {"n sasl_user 1/1h", "alice", "Alice", false},
    };
    for (const auto& c : cases) {
        const auto rule = config::parse_rate_limit(c.rule, nullptr);
        BOOST_REQUIRE(rule);
        BOOST_TEST((engine::rate_key(*rule, c.first) == engine::rate_key(*rule, c.second)) ==
                       c.same,
                   c.rule << ": " << c.first << " / " << c.second);
        BOOST_TEST(engine::rate_key(*rule, c.first).starts_with("rate:n:"));
    }
    const auto subnet = config::parse_rate_limit("n client_subnet 1/1h", nullptr);
    BOOST_TEST(engine::rate_key(*subnet, "not an address").empty());
    BOOST_TEST(engine::rate_key(*subnet, "").empty());
}

BOOST_AUTO_TEST_CASE(reputation_and_greylist_keys_group_and_ignore_case_like_the_engine) {
    BOOST_TEST(engine::reputation_ip_key("192.0.2.7").starts_with("rep:ip:"));
    BOOST_TEST(engine::reputation_ip_key("192.0.2.7") != engine::reputation_ip_key("192.0.2.8"));
    BOOST_TEST(engine::reputation_net_key("192.0.2.7").starts_with("rep:net:"));
    BOOST_TEST(engine::reputation_net_key("192.0.2.7") == engine::reputation_net_key("192.0.2.8"));
    BOOST_TEST(engine::reputation_domain_key("Example.ORG") ==
               engine::reputation_domain_key("example.org"));
    BOOST_TEST(engine::reputation_domain_key("example.org").starts_with("rep:domain:"));
    BOOST_TEST(engine::reputation_ip_key("example.org").empty());
    BOOST_TEST(engine::reputation_net_key("example.org").empty());
    BOOST_TEST(engine::reputation_domain_key("").empty());

    const std::string triplet = engine::greylist_key("192.0.2.7", "a@b.test", "c@d.test");
    BOOST_TEST(triplet.starts_with("grey:triplet:"));
    BOOST_TEST(triplet == engine::greylist_key("192.0.2.99", "A@B.test", "C@D.TEST"));
    BOOST_TEST(triplet != engine::greylist_key("192.0.3.7", "a@b.test", "c@d.test"));
    BOOST_TEST(triplet != engine::greylist_key("192.0.2.7", "", "c@d.test"));
    // The separator keeps the parts apart: no sender/recipient split gives another's key.
    BOOST_TEST(engine::greylist_key("192.0.2.7", "a", "bc") !=
               engine::greylist_key("192.0.2.7", "ab", "c"));
    BOOST_TEST(engine::greylist_key("not an address", "a@b.test", "c@d.test").empty());
}

// state_max_size = 1M holds 1024 entries: 1,100 recipients under a 1/1h limit fill it. Full is
// not an outage: the store makes room, the circuit breaker stays closed, and the recipients it
// still holds are refused again (they were accepted once the full store opened the breaker).
BOOST_AUTO_TEST_CASE(a_full_state_store_keeps_refusing_the_recipients_it_holds) {
    const auto small = std::make_shared<state::BreakerStore>(std::make_unique<state::LmdbStore>(
        state::LmdbOptions{.path = dir + "/small.mdb", .max_size = 1024 * 1024}));
    const auto checks = make_engine("ratelimit = per_rcpt recipient 1/1h\n", "", small);
    auto recipient = [&](int i) {
        auto message =
            checks.evaluate({.client_ip = "192.0.2.7", .client_name = "", .helo = "h.test"});
        BOOST_TEST_REQUIRE(!message.mail_from("a@other.test", "").is_final());
        return message.recipient("r" + std::to_string(i) + "@example.net");
    };
    for (int i = 0; i < 1100; ++i)
        BOOST_TEST_REQUIRE(!recipient(i).is_final(), "recipient " << i);
    BOOST_TEST(!small->open());
    // Room was made 1/64 of the limit (16 entries) at a time: 5 times, 80 entries, those nearest
    // their end, the first recipients (give or take the recipients counted in the same ms).
    int refused = 0;
    for (int i = 1099; i >= 200; --i)
        refused += recipient(i).reason == "ratelimit_per_rcpt";
    BOOST_TEST(refused == 900);
    BOOST_TEST(!recipient(0).is_final()); // evicted: counted afresh
    BOOST_TEST(!small->open());
}

// The stored counters of kind ("ip", "net", "domain") for raw, as the engine keeps them.
state::Reputation stored_reputation(state::Store& store, std::string_view kind,
                                    std::string_view raw) {
    const state::Operation read = state::ReputationChange{
        .key = kind == "ip"    ? engine::reputation_ip_key(raw)
               : kind == "net" ? state::state_key(state::KeyKind::reputation, "net", raw)
                               : engine::reputation_domain_key(raw),
        .half_life = 1LL << 40};
    return std::get<state::Reputation>(store.run({&read, 1}, 0).outcomes.at(0));
}

BOOST_AUTO_TEST_CASE(a_denied_network_is_refused_at_mail_before_anything_else) {
    const auto checks = make_engine("deny_networks = 192.0.2.0/28\n");
    const engine::Report denied = send(checks, "192.0.2.7", "a@other.test");
    BOOST_TEST(denied.verdict.code == "550");
    BOOST_TEST(denied.verdict.reason == "deny_network");
    BOOST_TEST(!denied.spf_mailfrom); // no DNS spent on it
    BOOST_TEST(send(checks, "192.0.2.17", "a@other.test").verdict.reason == "ok");
}

BOOST_AUTO_TEST_CASE(outcomes_move_the_client_and_domain_counters) {
    const auto checks = make_engine("");
    BOOST_TEST(send(checks, "192.0.2.7", "a@other.test").reputation == "new"); // DMARC pass
    send(checks, "192.0.2.7", "a@bank.test", {"bob@example.net"}, "", "ceo@bank.test"); // reject
    const state::Reputation ip = stored_reputation(*store, "ip", "192.0.2.7");
    BOOST_TEST(ip.good == 1, boost::test_tools::tolerance(1e-6));
    BOOST_TEST(ip.bad == 1, boost::test_tools::tolerance(1e-6));
    BOOST_TEST(stored_reputation(*store, "net", "192.0.2.0/24").good == 1,
               boost::test_tools::tolerance(1e-6));
    BOOST_TEST(stored_reputation(*store, "domain", "OTHER.test").good == 1,
               boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(our_dns_outage_never_moves_the_senders_reputation) {
    const auto checks = make_engine("");
    send(checks, "192.0.2.7", "a@other.test"); // DMARC pass: one good
    // Legitimate mail while our DNS fails: SPF of the From domain itself (DMARC temperror, not
    // fail), and the DMARC record itself. Each is 451 4.4.3, and not the sender's fault.
    for (int round = 0; round < 3; ++round) {
        const engine::Report spf =
            send(checks, "192.0.2.7", "a@flaky.test", {"bob@example.net"}, "", "a@flaky.test");
        BOOST_TEST(spf.verdict.status == "4.4.3");
        BOOST_TEST(spf.dmarc->result == "temperror");
        const engine::Report record =
            send(checks, "192.0.2.7", "a@gone.test", {"bob@example.net"}, "", "a@gone.test");
        BOOST_TEST(record.verdict.status == "4.4.3");
    }
    for (const auto& [kind, raw] : {std::pair{"ip", "192.0.2.7"}, {"net", "192.0.2.0/24"}}) {
        const state::Reputation value = stored_reputation(*store, kind, raw);
        BOOST_TEST(value.good == 1, boost::test_tools::tolerance(1e-6));
        BOOST_TEST(value.bad == 0, boost::test_tools::tolerance(1e-6));
    }
}

BOOST_AUTO_TEST_CASE(a_poor_score_with_enough_outcomes_refuses_the_client_at_mail) {
    const state::Operation poor = state::SetReputation{
        .key = engine::reputation_ip_key("192.0.2.7"), .value = {5, 25}, .half_life = 86'400'000};
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    BOOST_REQUIRE(store->run({&poor, 1}, now).ok);
    const auto strict =
        make_engine("reputation_tempfail_below = 0\nreputation_min_messages = 20\n");
    const engine::Report refused = send(strict, "192.0.2.7", "a@other.test");
    BOOST_TEST(refused.verdict.code == "451");
    BOOST_TEST(refused.verdict.status == "4.7.1");
    BOOST_TEST(refused.verdict.text ==
               "client has a poor reputation here (score -67), try again later");
    BOOST_TEST(refused.verdict.reason == "reputation");
    BOOST_TEST(send(strict, "192.0.2.8", "a@other.test").verdict.reason == "ok");
    const auto harsher = make_engine("reputation_reject_below = -50\n");
    BOOST_TEST(send(harsher, "192.0.2.7", "a@other.test").verdict.code == "550");
    const auto patient =
        make_engine("reputation_tempfail_below = 0\nreputation_min_messages = 50\n");
    BOOST_TEST(send(patient, "192.0.2.7", "a@other.test").verdict.reason == "ok");
    const auto allowed = make_engine("reputation_tempfail_below = 0\nallow_networks = 192.0.2.7\n");
    BOOST_TEST(send(allowed, "192.0.2.7", "a@other.test").verdict.reason == "ok");
}

BOOST_AUTO_TEST_CASE(allowed_domains_do_not_count_against_the_client_and_denied_ones_are_refused) {
    // partner.test passes DMARC; quarantine from a rate limit would count as bad.
    const auto checks = make_engine("allow_domains = partner.test\n"
                                    "ratelimit = q sender_domain 1/1d count=recipients\n");
    send(checks, "192.0.2.9", "a@partner.test", {"x@example.net"}, "", "a@partner.test");
    const engine::Report limited =
        send(checks, "192.0.2.9", "a@partner.test", {"x@example.net"}, "", "a@partner.test");
    BOOST_TEST(limited.verdict.reason == "ratelimit_q");
    BOOST_TEST(stored_reputation(*store, "ip", "192.0.2.9").bad == 0);
    const auto denying = make_engine("deny_domains = Partner.Test\n");
    const engine::Report denied =
        send(denying, "192.0.2.9", "a@partner.test", {"x@example.net"}, "", "a@partner.test");
    BOOST_TEST(denied.verdict.reason == "deny_domain");
    BOOST_TEST(denied.verdict.text == "mail from partner.test is not accepted here");
}

BOOST_AUTO_TEST_CASE(listed_domains_written_in_u_labels_match_their_a_labels) {
    // RFC 8616: the authenticated domain is in A-labels (xn--bcher-kva.test); the admin may
    // write the list in either form, and in any case.
    const std::string sender = "info@b\xc3\xbc"
                               "cher.test";
    for (const std::string listed : {"B\xc3\x9c"
                                     "cher.test",
                                     "xn--bcher-kva.test"}) {
        const auto denying = make_engine("deny_domains = " + listed + "\n");
        const engine::Report denied =
            send(denying, "192.0.2.9", sender, {"x@example.net"}, "", sender);
        BOOST_TEST(denied.verdict.reason == "deny_domain", listed);
        BOOST_TEST(denied.verdict.text == "mail from xn--bcher-kva.test is not accepted here");
        const auto allowing = make_engine("allow_domains = " + listed + "\n");
        BOOST_TEST(
            send(allowing, "192.0.2.9", sender, {"x@example.net"}, "", sender).domain_allow_listed);
    }
    const auto other = make_engine("deny_domains = b\xc3\xa4"
                                   "cher.test\n"); // another domain
    BOOST_TEST(send(other, "192.0.2.9", sender, {"x@example.net"}, "", sender).verdict.reason ==
               "ok");
}

BOOST_AUTO_TEST_CASE(greylisting_defers_new_triplets_at_rcpt_until_they_pass) {
    const auto checks = make_engine("greylisting = yes\ngreylist_delay = 10m\n"
                                    "allow_networks = 198.51.100.0/24\n");
    BOOST_TEST(checks.limits_recipients());
    const engine::Report first = send(checks, "192.0.2.7", "a@other.test");
    BOOST_TEST(first.verdict.code == "451");
    BOOST_TEST(first.verdict.status == "4.7.1");
    BOOST_TEST(first.verdict.text == "greylisted, please try again in 600 s");
    BOOST_TEST(first.greylist == "first_seen");
    BOOST_TEST(send(checks, "192.0.2.99", "A@Other.test").greylist == "too_early"); // same /24
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    const state::Operation allow = state::AllowGreylist{
        .key = engine::greylist_key("192.0.2.7", "a@other.test", "bob@example.net")};
    BOOST_REQUIRE(store->run({&allow, 1}, now).ok);
    const engine::Report known = send(checks, "192.0.2.7", "a@other.test");
    BOOST_TEST(known.greylist == "known");
    BOOST_TEST(known.verdict.reason == "ok");
    BOOST_TEST(send(checks, "192.0.2.7", "a@other.test", {"carol@example.net"}).greylist ==
               "first_seen");
    BOOST_TEST(send(checks, "198.51.100.1", "a@other.test").greylist == "off");
    BOOST_TEST(send(checks, "192.0.2.7", "a@other.test", {"x@example.net"}, "alice").greylist ==
               "off"); // outbound
}

BOOST_AUTO_TEST_SUITE_END()
