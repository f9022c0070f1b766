// Rate limits through the engine, on a real LMDB store in a temporary directory: which stage
// each key is checked at, the verdict and its text, outbound quotas by recipients, and the
// state store failing (on_state_error). Boundaries of the bucket arithmetic are in
// test-state-rules.cc; here the clock is real and the periods long.
#include "dns/fake_resolver.hh"
#include "engine/engine.hh"
#include "engine/limits.hh"
#include "engine/message_text.hh"
#include "engine/state_keys.hh"
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
                        const std::string& auth_user = "") {
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
        engine::feed_message(message, "From: a@other.test\nSubject: x\n\nbody\n");
        return message.end_of_message();
    }

    std::string dir;
    std::shared_ptr<state::Store> store;
    dns::FakeResolver resolver = dns::FakeResolver::from_text("");
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

BOOST_AUTO_TEST_CASE(a_recipient_limit_refuses_that_recipient_at_rcpt) {
    const auto checks = make_engine("ratelimit = per_rcpt recipient 1/1h\n");
    BOOST_TEST(checks.limits_recipients());
    BOOST_TEST(send(checks, "192.0.2.7", "a@other.test", {"bob@example.net"}).rate == "ok");
    const engine::Report second = send(checks, "192.0.2.8", "b@other.test", {"Bob@example.net"});
    BOOST_TEST(second.verdict.reason == "ratelimit_per_rcpt");
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

BOOST_AUTO_TEST_CASE(two_limits_with_one_name_stop_the_engine) {
    const auto loaded = config::parse_config_text(
        "[limits]\nratelimit = x client_ip 1/1h\nratelimit = x sender 1/1h\n", "test");
    BOOST_REQUIRE(loaded.ok());
    BOOST_CHECK_THROW(engine::Engine(loaded.config, resolver, suffixes, store), std::runtime_error);
}

BOOST_AUTO_TEST_SUITE_END()
