// The check interface (engine/check.hh) as the engine drives it: which hooks run, in what
// order and for which stage, one state round trip per stage with each check's own outcomes,
// how verdict candidates combine, per-message and per-connection state, header changes, and
// the standard list of a configuration (a check that is off is absent). Probe checks added
// with the Engine's test constructor record what they see.
#include "dns/fake_resolver.hh"
#include "engine/engine.hh"
#include "engine/message_text.hh"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <regex>
#include <thread>

using namespace mailwarden;
using engine::Hook;
using engine::Stage;

namespace {

using Calls = std::vector<std::string>;

// Records each hook it is given as "NAME:STAGE" (header: "NAME:header:FIELD"); what it
// proposes and adds is set per stage.
class Probe final : public engine::Check {
public:
    Probe(std::string_view name, engine::Hooks hooks, Calls& calls,
          std::vector<std::string_view> header_names = {})
        : Check(name, hooks, engine::Direction::both, std::move(header_names)), calls_(&calls) {}

    std::optional<engine::Verdict> propose_at[engine::hook_count];
    std::size_t operations_at[engine::hook_count] = {};
    engine::Hooks stop_at_end_of_headers = 0;
    mutable std::vector<engine::StateAnswer> answers;
    mutable std::vector<std::uint32_t> tags_seen;

    void connect(Stage& stage) const override { act(stage); }
    void helo(Stage& stage) const override { act(stage); }
    void mail(Stage& stage) const override { act(stage); }
    void recipient(Stage& stage) const override { act(stage); }
    void header(Stage&, std::string_view name, std::string_view) const override {
        calls_->push_back(std::string(this->name()) + ":header:" + std::string(name));
    }
    void end_of_headers(Stage& stage) const override {
        act(stage);
        stage.stop(stop_at_end_of_headers);
    }
    void body(Stage& stage, std::span<const char>) const override { act(stage); }
    void end_of_message(Stage& stage) const override { act(stage); }
    void end_of_data(Stage& stage) const override { act(stage); }
    void state_answered(Stage& stage, const engine::StateAnswer& answer) const override {
        calls_->push_back(std::string(name()) +
                          ":answer:" + std::string(engine::hook_name(stage.hook())) +
                          (answer.ok ? ":ok" : ":failed"));
        tags_seen.insert(tags_seen.end(), answer.tags.begin(), answer.tags.end());
        answers.push_back(answer);
    }

private:
    void act(Stage& stage) const {
        const auto at = static_cast<std::size_t>(stage.hook());
        calls_->push_back(std::string(name()) + ":" + std::string(engine::hook_name(stage.hook())));
        for (std::size_t i = 0; i < operations_at[at]; ++i)
            stage.add_state(state::RateCheck{.key = std::string(name()) + std::to_string(i)},
                            static_cast<std::uint32_t>(100 * at + i));
        if (propose_at[at])
            stage.propose(*propose_at[at]);
    }

    Calls* calls_;
};

// Counts round trips; answers every operation (rate checks are never limited).
struct CountingStore final : state::Store {
    state::BatchResult run(std::span<const state::Operation> operations, state::Millis) override {
        ++batches;
        sizes.push_back(operations.size());
        if (fail)
            return {.ok = false, .error = "down", .outcomes = {}};
        return {.ok = true,
                .error = "",
                .outcomes = std::vector<state::Outcome>(operations.size(), state::RateOutcome{})};
    }
    std::string_view backend() const override { return "counting"; }
    std::size_t batches = 0;
    std::vector<std::size_t> sizes;
    bool fail = false;
};

constexpr engine::Hooks all_hooks = 0x1ff;

config::ConfigPtr test_config(const std::string& extra = "") {
    const auto loaded = config::parse_config_text(
        "[general]\nauthserv_id = mx.test\ninternal_networks = 10.0.0.0/8\n" + extra, "test");
    if (!loaded.ok())
        BOOST_FAIL(loaded.errors.front().to_string());
    return loaded.config;
}

struct Fixture {
    dns::FakeResolver resolver = dns::FakeResolver::from_text("");
    std::shared_ptr<const auth::PublicSuffixList> suffixes =
        std::make_shared<const auth::PublicSuffixList>(auth::PublicSuffixList::from_text("test\n"));
    std::shared_ptr<CountingStore> store = std::make_shared<CountingStore>();
    Calls calls;

    // The standard checks with `probes` first (front = true) or last.
    std::unique_ptr<engine::Engine> engine_with(std::vector<Probe*> probes, bool front = false,
                                                const std::string& extra = "") {
        return std::make_unique<engine::Engine>(
            test_config(extra), resolver, suffixes, store,
            [&](engine::CheckList& list, const engine::CheckContext&) {
                auto at = front ? list.begin() : list.end();
                for (Probe* probe : probes)
                    at = std::next(list.insert(at, std::unique_ptr<const engine::Check>(probe)));
            });
    }

    Calls calls_of(std::string_view name) const {
        Calls found;
        for (const auto& call : calls)
            if (call.starts_with(std::string(name) + ":"))
                found.push_back(call);
        return found;
    }
};

engine::ConnectionFacts client(std::string ip, std::string helo = "") {
    return {.client_ip = std::move(ip), .client_name = "", .helo = std::move(helo)};
}

const std::string message_text = "From: a@example.test\nSubject: x\nX-Other: y\n\nbody\n";

} // namespace

BOOST_FIXTURE_TEST_SUITE(engine_hooks, Fixture)

BOOST_AUTO_TEST_CASE(a_check_gets_the_hooks_it_names_in_smtp_order_and_no_others) {
    auto* every = new Probe("every", all_hooks, calls);
    auto* mail_only = new Probe("mailonly", engine::hook_bit(Hook::mail), calls);
    const auto checks = engine_with({every, mail_only});
    engine::Connection connection = checks->connect(client("192.0.2.1"));
    connection.helo("mail.example.test");
    for (int message_number = 0; message_number < 2; ++message_number) {
        engine::MessageEvaluation message = connection.message();
        message.mail_from("a@example.test", "");
        message.recipient("b@example.net");
        message.recipient("c@example.net");
        engine::feed_message(message, message_text);
        message.end_of_message();
    }
    const Calls once = {"every:connect", "every:helo"};
    const Calls per_message = {"every:mail",        "every:rcpt",           "every:rcpt",
                               "every:header:From", "every:header:Subject", "every:header:X-Other",
                               "every:eoh",         "every:body",           "every:end_of_message"};
    Calls expected = once;
    expected.insert(expected.end(), per_message.begin(), per_message.end());
    expected.insert(expected.end(), per_message.begin(), per_message.end());
    BOOST_TEST(calls_of("every") == expected, boost::test_tools::per_element());
    BOOST_TEST(calls_of("mailonly") == (Calls{"mailonly:mail", "mailonly:mail"}),
               boost::test_tools::per_element());
    BOOST_TEST(store->batches == 0u); // nobody added an operation
}

BOOST_AUTO_TEST_CASE(the_policy_server_end_of_data_hook_comes_instead_of_the_content) {
    auto* every = new Probe("every", all_hooks, calls);
    const auto checks = engine_with({every});
    auto message = checks->evaluate(client("192.0.2.1", "h.test"));
    message.mail_from("a@example.test", "");
    message.recipient("b@example.net");
    message.end_of_data(1);
    BOOST_TEST(calls_of("every") == (Calls{"every:connect", "every:helo", "every:mail",
                                           "every:rcpt", "every:end_of_data"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_header_hook_gets_only_the_fields_it_names_in_any_case) {
    auto* subject = new Probe("subject", engine::hook_bit(Hook::header), calls, {"subject"});
    const auto checks = engine_with({subject});
    auto message = checks->evaluate(client("192.0.2.1"));
    message.mail_from("a@example.test", "");
    engine::feed_message(message, message_text);
    message.end_of_message();
    BOOST_TEST(calls == (Calls{"subject:header:Subject"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(operations_of_every_check_make_one_round_trip_per_stage) {
    auto* first = new Probe("first", all_hooks, calls);
    auto* second = new Probe("second", all_hooks, calls);
    for (Probe* probe : {first, second})
        for (const Hook hook : {Hook::mail, Hook::recipient, Hook::end_of_message})
            probe->operations_at[static_cast<std::size_t>(hook)] = 2;
    const auto checks = engine_with({first, second});
    auto message = checks->evaluate(client("192.0.2.1"));
    message.mail_from("a@example.test", "");
    message.recipient("b@example.net");
    engine::feed_message(message, message_text);
    message.end_of_message();
    BOOST_TEST(store->batches == 3u);
    BOOST_TEST(store->sizes == (std::vector<std::size_t>{4, 4, 4}),
               boost::test_tools::per_element());
    // Each check hears of its own two operations (by their tags), after every hook ran.
    BOOST_TEST(first->tags_seen == (std::vector<std::uint32_t>{200, 201, 300, 301, 700, 701}),
               boost::test_tools::per_element());
    BOOST_TEST(second->tags_seen == first->tags_seen, boost::test_tools::per_element());
    const auto mail = std::ranges::find(calls, "first:mail");
    BOOST_REQUIRE(calls.end() - mail >= 4);
    const Calls mail_stage(mail, mail + 4);
    BOOST_TEST(mail_stage == (Calls{"first:mail", "second:mail", "first:answer:mail:ok",
                                    "second:answer:mail:ok"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_final_verdict_at_mail_ends_the_stage_before_later_hooks_and_the_batch) {
    auto* refuses = new Probe("refuses", engine::hook_bit(Hook::mail), calls);
    refuses->operations_at[static_cast<std::size_t>(Hook::mail)] = 1;
    refuses->propose_at[static_cast<std::size_t>(Hook::mail)] =
        engine::Verdict::reject("5.7.1", "no", "probe");
    auto* later = new Probe("later", all_hooks, calls);
    const auto checks = engine_with({refuses, later}, true);
    auto message = checks->evaluate(client("192.0.2.1"));
    const engine::Verdict verdict = message.mail_from("a@example.test", "");
    BOOST_TEST(verdict.reason == "probe");
    BOOST_TEST(calls == (Calls{"later:connect", "refuses:mail"}), boost::test_tools::per_element());
    BOOST_TEST(store->batches == 0u);
    BOOST_TEST(!message.wants_body()); // a refused message streams to nobody
}

BOOST_AUTO_TEST_CASE(a_final_verdict_at_connect_refuses_each_message_at_mail) {
    auto* refuses = new Probe("refuses", engine::hook_bit(Hook::connect), calls);
    refuses->propose_at[static_cast<std::size_t>(Hook::connect)] =
        engine::Verdict::tempfail("4.7.1", "later", "probe");
    auto* later = new Probe("later", all_hooks, calls);
    const auto checks = engine_with({refuses, later}, true);
    engine::Connection connection = checks->connect(client("192.0.2.1"));
    for (int message_number = 0; message_number < 2; ++message_number) {
        auto message = connection.message();
        BOOST_TEST(message.mail_from("a@example.test", "").reason == "probe");
    }
    BOOST_TEST(calls == (Calls{"refuses:connect"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(candidates_at_end_of_message_combine_the_strongest_and_first_stays) {
    auto* quarantines = new Probe("q", engine::hook_bit(Hook::end_of_message), calls);
    quarantines->propose_at[static_cast<std::size_t>(Hook::end_of_message)] =
        engine::Verdict::quarantine("held", "probe_quarantine");
    auto* accepts = new Probe("a", engine::hook_bit(Hook::end_of_message), calls);
    accepts->propose_at[static_cast<std::size_t>(Hook::end_of_message)] =
        engine::Verdict::accept("probe_accept");
    auto* tempfails = new Probe("t", engine::hook_bit(Hook::end_of_message), calls);
    tempfails->propose_at[static_cast<std::size_t>(Hook::end_of_message)] =
        engine::Verdict::tempfail("4.7.1", "later", "probe_tempfail");
    auto* rejects = new Probe("r", engine::hook_bit(Hook::end_of_message), calls);
    rejects->propose_at[static_cast<std::size_t>(Hook::end_of_message)] =
        engine::Verdict::reject("5.7.1", "no", "probe_reject");
    const auto checks = engine_with({quarantines, accepts, tempfails, rejects});
    auto message = checks->evaluate(client("192.0.2.1"));
    message.mail_from("a@example.test", "");
    engine::feed_message(message, message_text);
    const engine::Report report = message.end_of_message();
    BOOST_TEST(report.verdict.reason == "probe_tempfail");
    BOOST_TEST(calls.size() == 4u);                 // every end-of-message hook ran
    BOOST_TEST(report.verdict.add_headers.empty()); // a refused message gets no header
}

BOOST_AUTO_TEST_CASE(a_body_hook_stopped_at_end_of_headers_is_not_called_and_the_body_skipped) {
    auto* stops = new Probe("stops", all_hooks, calls);
    stops->stop_at_end_of_headers = engine::hook_bit(Hook::body);
    const auto checks = engine_with({stops}, false, "");
    auto message = checks->evaluate(client("10.0.0.1")); // outbound: DKIM is not called
    message.mail_from("a@example.test", "");
    BOOST_TEST(message.wants_body());
    message.header("From", " a@example.test");
    message.end_of_headers();
    BOOST_TEST(!message.wants_body());
    message.body(std::span<const char>("x\r\n", 3));
    message.end_of_message();
    BOOST_TEST(calls_of("stops").size() == 5u); // connect, mail, header, eoh, end_of_message
    BOOST_TEST(std::ranges::count(calls, std::string("stops:body")) == 0);
}

namespace {

struct Counter final : engine::CheckState {
    int value = 0;
};

// Counts in the connection state at connect and reads it, with a fresh message state, at MAIL.
class Stateful final : public engine::Check {
public:
    explicit Stateful(Calls& calls)
        : Check("stateful", engine::hooks_of(Hook::connect, Hook::mail)), calls_(&calls) {}
    void connect(Stage& stage) const override { stage.state<Counter>().value = 41; }
    void mail(Stage& stage) const override {
        const int per_connection = ++stage.connection_state<Counter>().value;
        const int per_message = ++stage.state<Counter>().value;
        calls_->push_back(std::to_string(per_connection) + "/" + std::to_string(per_message));
    }

private:
    Calls* calls_;
};

} // namespace

BOOST_AUTO_TEST_CASE(state_is_kept_per_connection_and_per_message) {
    const engine::Engine checks(test_config(), resolver, suffixes, store,
                                [&](engine::CheckList& list, const engine::CheckContext&) {
                                    list.push_back(std::make_unique<Stateful>(calls));
                                });
    engine::Connection connection = checks.connect(client("192.0.2.1"));
    for (int message_number = 0; message_number < 2; ++message_number) {
        auto message = connection.message();
        message.mail_from("a@example.test", "");
    }
    BOOST_TEST(calls == (Calls{"42/1", "43/1"}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_failed_store_is_told_to_each_check_and_on_state_error_decides) {
    auto* first = new Probe("first", engine::hook_bit(Hook::recipient), calls);
    first->operations_at[static_cast<std::size_t>(Hook::recipient)] = 1;
    const auto checks = engine_with({first}, false, "[actions]\non_state_error = tempfail\n");
    store->fail = true;
    auto message = checks->evaluate(client("192.0.2.1"));
    message.mail_from("a@example.test", "");
    const engine::Verdict verdict = message.recipient("b@example.net");
    BOOST_TEST(verdict.reason == "state_error");
    BOOST_TEST(calls_of("first") == (Calls{"first:rcpt", "first:answer:rcpt:failed"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_check_that_is_off_is_not_in_the_list) {
    const auto names = [](const engine::Engine& checks) {
        std::vector<std::string_view> found;
        for (const auto& check : checks.checks())
            found.push_back(check->name());
        return found;
    };
    const engine::Engine plain(test_config(), resolver, suffixes);
    BOOST_TEST(names(plain) == (std::vector<std::string_view>{"from", "spf", "dkim", "dmarc",
                                                              "decision", "authres"}),
               boost::test_tools::per_element());
    BOOST_TEST(plain.checks_at(Hook::recipient).empty()); // RCPT costs nothing
    BOOST_TEST(!plain.limits_recipients());
    const engine::Engine everything(test_config("[limits]\nratelimit = r client_ip 5/1h\n"
                                                "greylisting = yes\nallow_networks = 192.0.2.0/24\n"
                                                "deny_domains = bad.test\n"),
                                    resolver, suffixes, store);
    BOOST_TEST(names(everything) == (std::vector<std::string_view>{
                                        "from", "networks", "spf", "dkim", "dmarc", "decision",
                                        "domains", "rate", "grey", "rep", "authres"}),
               boost::test_tools::per_element());
    BOOST_TEST(everything.limits_recipients());
    // Without a store the state checks are off even when configured.
    const engine::Engine no_store(test_config("[limits]\nratelimit = r client_ip 5/1h\n"), resolver,
                                  suffixes);
    BOOST_TEST(std::ranges::none_of(no_store.checks(), [](const auto& check) {
        return check->name() == "rate" || check->name() == "rep";
    }));
}

namespace {

// Takes `spent` in its MAIL hook.
class Slow final : public engine::Check {
public:
    explicit Slow(std::chrono::milliseconds spent)
        : Check("slow", engine::hook_bit(Hook::mail)), spent_(spent) {}
    void mail(Stage&) const override { std::this_thread::sleep_for(spent_); }

private:
    std::chrono::milliseconds spent_;
};

std::vector<std::string_view> timed_checks(const engine::Timing& timing) {
    std::vector<std::string_view> names;
    timing.for_each_check(
        [&](const engine::Timing::Entry& entry) { names.push_back(entry.check); });
    return names;
}

} // namespace

BOOST_AUTO_TEST_CASE(each_check_that_ran_is_timed_in_order_and_the_state_round_trips_apart) {
    auto* stateful = new Probe("probe", engine::hook_bit(Hook::recipient), calls);
    stateful->operations_at[static_cast<std::size_t>(Hook::recipient)] = 1;
    const engine::Engine checks(test_config(), resolver, suffixes, store,
                                [&](engine::CheckList& list, const engine::CheckContext&) {
                                    list.push_back(
                                        std::make_unique<Slow>(std::chrono::milliseconds(3)));
                                    list.push_back(std::unique_ptr<const engine::Check>(stateful));
                                });
    auto message = checks.evaluate(client("192.0.2.1"));
    message.mail_from("a@example.test", "");
    const engine::Timing& at_mail = message.report_so_far().timing;
    BOOST_TEST(timed_checks(at_mail) ==
                   (std::vector<std::string_view>{"spf", "dkim", "decision", "rep", "slow"}),
               boost::test_tools::per_element());
    at_mail.for_each_check([](const engine::Timing::Entry& entry) {
        if (entry.check == "slow")
            BOOST_TEST(entry.nanoseconds >= 3'000'000);
    });
    BOOST_TEST(at_mail.state_round_trips() == 0u);
    message.recipient("b@example.net");
    BOOST_TEST(message.report_so_far().timing.state_round_trips() == 1u);
    engine::feed_message(message, message_text);
    const engine::Report report = message.end_of_message();
    BOOST_TEST(timed_checks(report.timing) ==
                   (std::vector<std::string_view>{"from", "spf", "dkim", "dmarc", "decision", "rep",
                                                  "authres", "slow", "probe"}),
               boost::test_tools::per_element());
    // Outbound mail: the checks for inbound mail are not called, so not timed either.
    auto outbound = checks.evaluate(client("10.0.0.1"));
    outbound.mail_from("a@example.test", "");
    outbound.recipient("b@example.net");
    engine::feed_message(outbound, message_text);
    BOOST_TEST(timed_checks(outbound.end_of_message().timing) ==
                   (std::vector<std::string_view>{"from", "decision", "authres", "slow", "probe"}),
               boost::test_tools::per_element());
    const std::string field = engine::timing_field(4.25, report.timing);
    // The total as before (one decimal), then each check in the order it ran with two
    // decimals, then the state store's share; the figures themselves depend on the machine.
    static const std::regex form(R"(4\.2(,[a-z]+:[0-9]+\.[0-9]{2})+)");
    BOOST_TEST(std::regex_match(field, form), field);
    BOOST_TEST(field.starts_with("4.2,from:"), field);
    BOOST_TEST(field.find(",slow:") != std::string::npos, field);
    BOOST_TEST(field.find(",authres:") != std::string::npos, field);
    BOOST_TEST(field.find(",state:") != std::string::npos, field);
}

BOOST_AUTO_TEST_CASE(connect_and_helo_are_timed_in_the_first_message_of_a_connection) {
    auto* every = new Probe("every", all_hooks, calls);
    const auto checks = engine_with({every});
    engine::Connection connection = checks->connect(client("192.0.2.1"));
    connection.helo("h.test");
    auto first = connection.message();
    auto second = connection.message();
    const auto ran = [](const engine::MessageEvaluation& message) {
        return timed_checks(message.report_so_far().timing);
    };
    BOOST_TEST(ran(first) == (std::vector<std::string_view>{"every"}),
               boost::test_tools::per_element());
    BOOST_TEST(ran(second).empty());
}

BOOST_AUTO_TEST_CASE(a_timing_field_is_the_total_alone_when_no_check_ran) {
    BOOST_TEST(engine::timing_field(3.14, engine::Timing{}) == "3.1");
    engine::Timing timing;
    timing.add(2, "spf", std::chrono::microseconds(412));
    timing.add(0, "from", std::chrono::microseconds(3));
    timing.add(2, "spf", std::chrono::microseconds(1));
    timing.add_state(std::chrono::microseconds(300));
    BOOST_TEST(engine::timing_field(3.14, timing) == "3.1,from:0.00,spf:0.41,state:0.30");
    engine::Timing later = timing;
    later.add(5, "rate", std::chrono::microseconds(20));
    BOOST_TEST(engine::timing_field(1, later.since(timing)) == "1.0,rate:0.02");
}

BOOST_AUTO_TEST_SUITE_END()
