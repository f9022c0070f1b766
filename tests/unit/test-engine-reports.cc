// The engine's DMARC report check (lib/engine/checks/dmarc_report.cc) on FakeResolver zones and
// a real LMDB store: what inbound messages add to aggregate reports (one row per distinct
// facts, counted), that the counting rides the end of message's one state round trip, what a
// 4xx and `mailwarden check` leave out, and the failure-report queue (off by default, only
// where ruf= asks, never for psd=y, rate-limited per domain and hour), and the warning when a
// row is past its bound.
#include "dkim_test_signer.hh"
#include "dns/fake_resolver.hh"
#include "engine/engine.hh"
#include "engine/message_text.hh"
#include "log_capture.hh"
#include "report/aggregate_row.hh"
#include "report/report_job.hh"
#include "state/lmdb_store.hh"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <filesystem>

using namespace mailwarden;

namespace {

std::string zone() {
    return "example.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
           "_dmarc.example.test TXT \"v=DMARC1; p=reject; rua=mailto:agg@example.test; "
           "ruf=mailto:fail@example.test\"\n"
           "other.test TXT \"v=spf1 ip4:192.0.2.0/24 ip4:198.51.100.0/24 -all\"\n"
           "_dmarc.norua.test TXT \"v=DMARC1; p=reject\"\n"
           "_dmarc.psd.test TXT \"v=DMARC1; p=reject; psd=y; rua=mailto:a@psd.test; "
           "ruf=mailto:f@psd.test\"\n"
           "s1._domainkey.example.test TIMEOUT\n";
}

state::Millis now_millis() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

struct Fixture {
    Fixture() {
        char pattern[] = "/tmp/mw-reports-XXXXXX";
        dir = ::mkdtemp(pattern);
        store = std::make_shared<state::LmdbStore>(state::LmdbOptions{.path = dir + "/state.mdb"});
    }
    ~Fixture() { std::filesystem::remove_all(dir); }

    std::unique_ptr<engine::Engine> make_engine(const std::string& reports,
                                                const std::string& actions = "") {
        const auto loaded = config::parse_config_text(
            "[general]\nauthserv_id = mx.test\n[actions]\n" + actions + "[reports]\n" + reports,
            "test");
        if (!loaded.ok())
            BOOST_FAIL(loaded.errors.front().to_string());
        return std::make_unique<engine::Engine>(loaded.config, resolver, suffixes, store);
    }

    engine::Report send(const engine::Engine& checks, const std::string& client_ip,
                        const std::string& sender, const std::string& from) {
        auto message =
            checks.evaluate({.client_ip = client_ip, .client_name = "", .helo = "h.test"});
        BOOST_REQUIRE(!message.mail_from(sender, "").is_final());
        BOOST_REQUIRE(!message.recipient("bob@example.net").is_final());
        engine::feed_message(message,
                             "From: " + from + "\nTo: bob@example.net\nSubject: x\n\nthe body\n");
        return message.end_of_message();
    }

    template <typename T> T run_one(state::ReportOperation operation) {
        const state::Operation op(std::move(operation));
        const auto result = store->run({&op, 1}, now_millis());
        BOOST_REQUIRE(result.ok);
        return std::get<T>(std::get<state::ReportOutcome>(result.outcomes.at(0)).value);
    }

    std::vector<state::ReportRowEntry> rows(const std::string& domain) {
        const state::Millis interval = now_millis() - now_millis() % report::one_day;
        return run_one<std::vector<state::ReportRowEntry>>(
            state::ReportOperation(state::ReportRows{interval, domain}));
    }

    std::vector<std::string> failure_queue() {
        return run_one<std::vector<std::string>>(
            state::ReportOperation(state::FailureTake{.max = 100}));
    }

    std::string dir;
    std::shared_ptr<state::Store> store;
    dns::FakeResolver resolver = dns::FakeResolver::from_text(zone());
    std::shared_ptr<const auth::PublicSuffixList> suffixes =
        std::make_shared<const auth::PublicSuffixList>(auth::PublicSuffixList::from_text("test\n"));
};

std::int64_t total(const std::vector<state::ReportRowEntry>& entries) {
    std::int64_t sum = 0;
    for (const auto& entry : entries)
        sum += entry.count;
    return sum;
}

bool ran(const engine::Report& report, std::string_view check) {
    bool found = false;
    report.timing.for_each_check(
        [&](const engine::Timing::Entry& entry) { found = found || entry.check == check; });
    return found;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(engine_reports, Fixture)

BOOST_AUTO_TEST_CASE(each_message_is_counted_in_its_row_with_one_round_trip_at_the_end) {
    const auto checks = make_engine("dmarc_aggregate_reports = yes\n");
    for (int i = 0; i < 3; ++i) // aligned SPF pass from one source: one row, count 3
        BOOST_TEST(send(*checks, "192.0.2.10", "a@example.test", "a@example.test").dmarc->result ==
                   "pass");
    const engine::Report spoof = send(*checks, "198.51.100.7", "x@other.test", "ceo@example.test");
    BOOST_TEST(spoof.dmarc->result == "fail");
    BOOST_TEST(ran(spoof, "reports"));
    // MAIL, RCPT and end of message: the row rode the last stage's batch, no extra trip.
    BOOST_TEST(spoof.timing.state_round_trips() == 1U);
    send(*checks, "198.51.100.7", "x@other.test", "ceo@norua.test"); // no rua: not counted

    const auto counted = rows("example.test");
    BOOST_REQUIRE_EQUAL(counted.size(), 2U);
    BOOST_TEST(total(counted) == 4);
    bool found_spoof = false;
    for (const auto& entry : counted) {
        const auto row = report::decode_row(entry.row);
        BOOST_REQUIRE(row.has_value());
        if (row->source_ip == "198.51.100.7") {
            found_spoof = true;
            BOOST_TEST(entry.count == 1);
            BOOST_TEST(row->envelope_from == "other.test");
            BOOST_TEST(row->spf_result == "pass");
            BOOST_TEST(!row->spf_aligned);
            BOOST_TEST(row->disposition == "quarantine"); // RFC 9989 §7.4 default
            BOOST_REQUIRE_EQUAL(row->reasons.size(), 1U);
            BOOST_TEST(row->reasons[0].type == "local_policy");
        } else {
            BOOST_TEST(entry.count == 3);
            BOOST_TEST(row->disposition == "pass");
        }
    }
    BOOST_TEST(found_spoof);
    BOOST_TEST(rows("norua.test").empty());
    BOOST_TEST(failure_queue().empty()); // failure reports are off by default
}

BOOST_AUTO_TEST_CASE(rows_past_the_domain_bound_are_not_counted_and_the_log_says_so) {
    const test::DefaultLogSettings restore;
    const test::StderrCapture capture;
    util::log_configure(util::LogSettings{.ident = "mw-test",
                                          .facility = LOG_MAIL,
                                          .also_stderr = true,
                                          .threshold = util::Severity::warning});
    const auto checks =
        make_engine("dmarc_aggregate_reports = yes\ndmarc_report_domain_rows = 10\n");
    for (int host = 10; host < 22; ++host) // twelve sources: twelve rows for example.test
        send(*checks, "192.0.2." + std::to_string(host), "a@example.test", "a@example.test");
    BOOST_TEST(total(rows("example.test")) == 10);
    const std::string logged = capture.captured();
    const std::string line = "warning: DMARC aggregate report row for example.test not counted: "
                             "example.test has dmarc_report_domain_rows=10 rows today\n";
    // The 11th row is logged; the 12th within the interval is suppressed (and counted then).
    BOOST_TEST(logged.find(line) != std::string::npos, logged);
    BOOST_TEST(logged.find(line) == logged.rfind(line), logged);
}

BOOST_AUTO_TEST_CASE(off_by_default_and_a_tempfailed_message_is_not_counted) {
    const auto off = make_engine("");
    const engine::Report report = send(*off, "192.0.2.10", "a@example.test", "a@example.test");
    BOOST_TEST(!ran(report, "reports"));
    BOOST_TEST(rows("example.test").empty());

    // A 451 (on_dns_error: the aligned signature's key timed out): the message comes back and
    // is counted then.
    const auto on = make_engine("dmarc_aggregate_reports = yes\n");
    dkim_test::Message signed_message = dkim_test::sample_message("ceo@example.test");
    dkim_test::sign(signed_message,
                    {.key = &dkim_test::rsa_2048(), .selector = "s1", .domain = "example.test"});
    auto message = on->evaluate({.client_ip = "198.51.100.7", .client_name = "", .helo = "h"});
    message.mail_from("x@other.test", "");
    message.recipient("bob@example.net");
    engine::feed_message(message, dkim_test::to_text(signed_message));
    const engine::Report deferred = message.end_of_message();
    BOOST_TEST(deferred.dmarc->temperror_could_align);
    BOOST_TEST((deferred.verdict.action == engine::Action::tempfail));
    BOOST_TEST(ran(deferred, "reports"));
    BOOST_TEST(rows("example.test").empty());
}

BOOST_AUTO_TEST_CASE(the_row_says_reject_when_the_admin_chose_reject) {
    const auto checks =
        make_engine("dmarc_aggregate_reports = yes\n", "dmarc_reject_action = reject\n");
    const engine::Report spoof = send(*checks, "198.51.100.7", "x@other.test", "ceo@example.test");
    BOOST_TEST((spoof.verdict.action == engine::Action::reject));
    const auto counted = rows("example.test");
    BOOST_REQUIRE_EQUAL(counted.size(), 1U);
    BOOST_TEST(report::decode_row(counted[0].row)->disposition == "reject");
    BOOST_TEST(report::decode_row(counted[0].row)->reasons.empty());
}

BOOST_AUTO_TEST_CASE(failure_reports_only_where_ruf_asks_never_for_psd_and_rate_limited) {
    const auto checks = make_engine("dmarc_failure_reports = yes\ndmarc_failure_rate = 2\n");
    for (int i = 0; i < 4; ++i)
        send(*checks, "198.51.100.7", "x@other.test", "ceo" + std::to_string(i) + "@example.test");
    send(*checks, "198.51.100.7", "x@other.test", "ceo@norua.test");   // no ruf
    send(*checks, "198.51.100.7", "x@other.test", "ceo@sub.psd.test"); // psd=y record
    send(*checks, "192.0.2.10", "a@example.test", "a@example.test");   // pass: fo=0
    const auto queued = failure_queue();
    BOOST_REQUIRE_EQUAL(queued.size(), 2U); // 2 per domain and hour
    const auto first = report::decode_failure_report(queued[0]);
    BOOST_REQUIRE(first.has_value());
    BOOST_TEST(first->domain == "example.test");
    BOOST_TEST(first->ruf == std::vector<std::string>{"fail@example.test"});
    BOOST_TEST(first->mail.find("Auth-Failure: dmarc") != std::string::npos);
    BOOST_TEST(first->mail.find("Identity-Alignment: dkim, spf") != std::string::npos);
    BOOST_TEST(first->mail.find("the body") == std::string::npos); // redacted by default
    BOOST_TEST(first->mail.find("ceo0@") == std::string::npos);    // local part redacted
    BOOST_TEST(rows("example.test").empty()); // aggregate counting is its own choice
}

BOOST_AUTO_TEST_SUITE_END()
