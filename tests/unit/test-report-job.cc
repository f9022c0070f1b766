// The report job (lib/report/report_job): aggregate reports of closed intervals built from the
// store's rows, sent once per domain and interval — again, concurrently from two "hosts", after
// a job died while building, after sendmail failed, timed out or died — to verified
// destinations only (RFC 9990 §4, on the test DNS server), and the queued failure reports.
// SendmailMailer against small shell scripts standing in for the MTA's sendmail.
#include "dns/resolver.hh"
#include "dns_test_server.hh"
#include "report/aggregate_row.hh"
#include "report/report_job.hh"
#include "report_test_util.hh"
#include "store_backends.hh"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <mutex>
#include <thread>
#include <unistd.h>

using namespace mailwarden;
using namespace mailwarden::report;
using state::Millis;

namespace {

const Millis day = one_day;
const Millis t0 = 1'800'000'000'000 - 1'800'000'000'000 % day; // a UTC midnight
const Millis after = t0 + day + 300'000;                       // 00:05 the next day

const char* const zone_text = R"(
_dmarc.example.com TXT "v=DMARC1; p=none; rua=mailto:agg@example.com"
_dmarc.client.example TXT "v=DMARC1; p=reject; rua=mailto:d@reports.example.net,mailto:x@unauthorized.example"
client.example._report._dmarc.reports.example.net TXT "v=DMARC1"
_dmarc.override.example TXT "v=DMARC1; p=none; rua=mailto:old@thirdparty.example"
override.example._report._dmarc.thirdparty.example TXT "v=DMARC1; rua=mailto:new@thirdparty.example"
_dmarc.hostile.example TXT "v=DMARC1; p=none; rua=mailto:a@victim.example"
hostile.example._report._dmarc.victim.example TXT "v=DMARC1; rua=mailto:b@elsewhere.example"
_dmarc.flaky.example TXT "v=DMARC1; p=none; rua=mailto:r@flaky-reports.example"
flaky.example._report._dmarc.flaky-reports.example SERVFAIL
)";

struct Sent {
    std::string sender;
    std::vector<std::string> recipients;
    std::string mail;
};

class FakeMailer final : public Mailer {
public:
    DeliveryResult send(const std::string& sender, const std::vector<std::string>& recipients,
                        const std::string& mail) override {
        std::lock_guard lock(mutex);
        sent.push_back({sender, recipients, mail});
        return next;
    }
    std::mutex mutex;
    std::vector<Sent> sent;
    DeliveryResult next{Delivery::sent, ""};
};

AggregateRow row_for(const std::string& domain, const std::string& ip) {
    AggregateRow row;
    row.source_ip = ip;
    row.header_from = domain;
    row.envelope_from = domain;
    row.spf_domain = domain;
    row.spf_result = "pass";
    row.disposition = "none";
    row.spf_aligned = true;
    return row;
}

struct Fixture {
    Fixture()
        : dns(test::DnsTestServer::with_zone(zone_text)), resolver([&] {
              dns::UnboundOptions options;
              options.servers = {dns->address()};
              options.forward_documentation_zones = true;
              options.timeout = std::chrono::milliseconds(3000);
              return dns::make_unbound_resolver(options);
          }()) {}

    ReportJob job(state::Store& store, Mailer& mailer, const std::string& owner) {
        ReportJobOptions options;
        options.reporter = {.org_name = "Receiver",
                            .email = "dmarc-reports@mx.example.org",
                            .extra_contact_info = "",
                            .submitter = "mx.example.org",
                            .generator = "mailwarden test"};
        options.owner = owner;
        return ReportJob(
            store, *resolver,
            auth::make_organization_finder(*resolver, suffixes, auth::DmarcDiscovery::treewalk),
            mailer, options);
    }

    void count(state::Store& store, const std::string& domain, const std::string& ip, int times,
               const std::string& record) {
        const std::string policy = encode_policy({domain, "treewalk", record, ""});
        for (int i = 0; i < times; ++i) {
            const state::Operation op =
                state::ReportOperation(state::ReportCount{.interval = t0,
                                                          .domain = domain,
                                                          .policy = policy,
                                                          .row = encode_row(row_for(domain, ip)),
                                                          .max_domain_rows = 100,
                                                          .max_interval_rows = 1000,
                                                          .expires_at = t0 + 8 * day});
            BOOST_REQUIRE(store.run({&op, 1}, t0 + 3'600'000).ok);
        }
    }

    std::unique_ptr<test::DnsTestServer> dns;
    std::unique_ptr<dns::Resolver> resolver;
    auth::PublicSuffixList suffixes = auth::PublicSuffixList::from_text("com\n");
};

std::map<std::string, SendStatus> by_domain(const std::vector<DomainResult>& results) {
    std::map<std::string, SendStatus> out;
    for (const auto& result : results)
        out[result.domain] = result.status;
    return out;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(report_job, Fixture)

BOOST_AUTO_TEST_CASE(each_report_goes_once_to_its_verified_destinations) {
    for (const auto& backend : test::store_backends()) {
        BOOST_TEST_CONTEXT(backend.name) {
            test::TempDir dir;
            const auto store = backend.make(dir.path);
            count(*store, "example.com", "192.0.2.1", 3,
                  "v=DMARC1; p=none; rua=mailto:agg@example.com");
            count(*store, "example.com", "192.0.2.2", 2,
                  "v=DMARC1; p=none; rua=mailto:agg@example.com");
            count(*store, "client.example", "2001:db8::1", 1,
                  "v=DMARC1; p=reject; rua=mailto:d@reports.example.net,"
                  "mailto:x@unauthorized.example");
            count(*store, "override.example", "192.0.2.3", 1,
                  "v=DMARC1; p=none; rua=mailto:old@thirdparty.example");
            count(*store, "hostile.example", "192.0.2.4", 1,
                  "v=DMARC1; p=none; rua=mailto:a@victim.example");
            FakeMailer mailer;
            ReportJob first = job(*store, mailer, "host-a:1:x");
            std::string error;
            BOOST_TEST(first.send(t0, t0 + day - 1, &error).empty());
            BOOST_TEST(error == "the interval is not over yet");
            const auto results = by_domain(first.send(t0, after, &error));
            BOOST_TEST(error == "");
            BOOST_TEST((results.at("example.com") == SendStatus::sent));
            BOOST_TEST((results.at("client.example") == SendStatus::sent));
            BOOST_TEST((results.at("override.example") == SendStatus::sent));
            BOOST_TEST((results.at("hostile.example") == SendStatus::no_destination));
            BOOST_REQUIRE(mailer.sent.size() == 3u);
            std::map<std::string, std::vector<std::string>> recipients;
            for (const Sent& sent : mailer.sent) {
                BOOST_TEST(sent.sender == "dmarc-reports@mx.example.org");
                const std::string xml = test::report_xml_of(sent.mail);
                BOOST_REQUIRE_MESSAGE(!xml.empty(), sent.mail);
                if (test::have_report_schema())
                    BOOST_TEST(test::schema_errors(xml) == "", xml);
                const auto domain_at = xml.find("<domain>") + 8;
                recipients[xml.substr(domain_at, xml.find('<', domain_at) - domain_at)] =
                    sent.recipients;
                if (xml.find("<domain>example.com</domain>") != std::string::npos) {
                    BOOST_TEST(xml.find("<count>3</count>") != std::string::npos);
                    BOOST_TEST(xml.find("<count>2</count>") != std::string::npos);
                    BOOST_TEST(sent.mail.find("Subject: Report Domain: example.com Submitter: "
                                              "mx.example.org") != std::string::npos);
                    BOOST_TEST(sent.mail.find("filename=\"mx.example.org!example.com!" +
                                              std::to_string(t0 / 1000) + "!" +
                                              std::to_string((t0 + day) / 1000 - 1) +
                                              ".xml.gz\"") != std::string::npos);
                }
            }
            BOOST_TEST(recipients["example.com"] == std::vector<std::string>{"agg@example.com"});
            BOOST_TEST(recipients["client.example"] ==
                       std::vector<std::string>{"d@reports.example.net"});
            BOOST_TEST(recipients["override.example"] ==
                       std::vector<std::string>{"new@thirdparty.example"});
            // Run again, by this host or another: nothing more goes out.
            for (const std::string owner : {"host-a:1:x", "host-b:2:y"}) {
                ReportJob again = job(*store, mailer, owner);
                for (const auto& [domain, status] :
                     by_domain(again.send(t0, after + 60'000, &error)))
                    BOOST_TEST((status == SendStatus::already_sent), domain);
            }
            BOOST_TEST(mailer.sent.size() == 3u);
        }
    }
}

BOOST_AUTO_TEST_CASE(two_hosts_at_once_send_each_report_once) {
    for (const auto& backend : test::store_backends()) {
        BOOST_TEST_CONTEXT(backend.name) {
            test::TempDir dir;
            const auto store = backend.make(dir.path);
            count(*store, "example.com", "192.0.2.1", 4,
                  "v=DMARC1; p=none; rua=mailto:agg@example.com");
            count(*store, "client.example", "192.0.2.9", 1,
                  "v=DMARC1; p=reject; rua=mailto:d@reports.example.net");
            FakeMailer mailer;
            std::vector<std::thread> hosts;
            for (int host = 0; host < 4; ++host)
                hosts.emplace_back([&, host] {
                    ReportJob one = job(*store, mailer, "host" + std::to_string(host) + ":1:z");
                    std::string error;
                    one.send(t0, after, &error);
                });
            for (auto& thread : hosts)
                thread.join();
            BOOST_TEST(mailer.sent.size() == 2u);
        }
    }
}

BOOST_AUTO_TEST_CASE(a_crash_before_sending_is_retried_a_crash_while_sending_is_not) {
    for (const auto& backend : test::store_backends()) {
        BOOST_TEST_CONTEXT(backend.name) {
            test::TempDir dir;
            const auto store = backend.make(dir.path);
            count(*store, "example.com", "192.0.2.1", 1,
                  "v=DMARC1; p=none; rua=mailto:agg@example.com");
            // A job claimed the report and died while building it.
            const state::Operation claim =
                state::ReportOperation(state::ReportClaim{.interval = t0,
                                                          .domain = "example.com",
                                                          .owner = "dead:1:a",
                                                          .step = state::ReportClaim::Step::claim,
                                                          .lease = 600'000,
                                                          .expires_at = t0 + 10 * day});
            BOOST_REQUIRE(store->run({&claim, 1}, after).ok);
            FakeMailer mailer;
            std::string error;
            auto status = by_domain(job(*store, mailer, "b:1:b").send(t0, after + 1000, &error));
            BOOST_TEST((status.at("example.com") == SendStatus::busy));
            status = by_domain(job(*store, mailer, "b:1:b").send(t0, after + 600'001, &error));
            BOOST_TEST((status.at("example.com") == SendStatus::sent));
            BOOST_TEST(mailer.sent.size() == 1u);

            // sendmail refused: tried again next run. sendmail timed out: never again.
            count(*store, "client.example", "192.0.2.9", 1,
                  "v=DMARC1; p=reject; rua=mailto:d@reports.example.net");
            mailer.next = {Delivery::failed, "exit 75"};
            status = by_domain(job(*store, mailer, "c:1:c").send(t0, after + 700'000, &error));
            BOOST_TEST((status.at("client.example") == SendStatus::failed));
            mailer.next = {Delivery::unknown, "timed out"};
            status = by_domain(job(*store, mailer, "c:1:c").send(t0, after + 800'000, &error));
            BOOST_TEST((status.at("client.example") == SendStatus::unknown));
            mailer.next = {Delivery::sent, ""};
            status = by_domain(job(*store, mailer, "d:1:d").send(t0, after + 2 * day, &error));
            BOOST_TEST((status.at("client.example") == SendStatus::in_doubt));
            BOOST_TEST(mailer.sent.size() == 3u); // the sent one, the refused, the timed out
        }
    }
}

BOOST_AUTO_TEST_CASE(dns_trouble_while_verifying_is_retried_later) {
    test::TempDir dir;
    state::LmdbStore store({.path = dir.path + "/state.mdb"});
    count(store, "flaky.example", "192.0.2.1", 1,
          "v=DMARC1; p=none; rua=mailto:r@flaky-reports.example");
    FakeMailer mailer;
    std::string error;
    const auto results = job(store, mailer, "a:1:a").send(t0, after, &error);
    BOOST_REQUIRE(results.size() == 1u);
    BOOST_TEST((results[0].status == SendStatus::dns_error));
    BOOST_TEST(mailer.sent.empty());
    // Released: the next run claims it again (and meets the same trouble).
    BOOST_TEST((job(store, mailer, "b:1:b").send(t0, after + 1, &error)[0].status ==
                SendStatus::dns_error));
}

BOOST_AUTO_TEST_CASE(closed_intervals_are_the_days_within_retention) {
    test::TempDir dir;
    state::LmdbStore store({.path = dir.path + "/state.mdb"});
    FakeMailer mailer;
    ReportJob one = job(store, mailer, "a:1:a");
    BOOST_TEST(one.interval_of(t0 + 12345) == t0);
    const auto intervals = one.closed_intervals(after);
    BOOST_TEST(intervals.size() == 7u);
    BOOST_TEST(intervals.back() == t0);
    BOOST_TEST(intervals.front() == t0 - 6 * day);
}

BOOST_AUTO_TEST_CASE(queued_failure_reports_go_to_verified_ruf_addresses) {
    test::TempDir dir;
    state::LmdbStore store({.path = dir.path + "/state.mdb"});
    for (const QueuedFailureReport& queued :
         {QueuedFailureReport{"example.com", {"ruf@example.com"}, "Subject: one\n\nbody\n"},
          QueuedFailureReport{
              "client.example", {"x@unauthorized.example"}, "Subject: two\n\nbody\n"}}) {
        const state::Operation op =
            state::ReportOperation(state::FailureQueue{.domain = queued.domain,
                                                       .report = encode_failure_report(queued),
                                                       .per_hour = 5,
                                                       .max_queued = 10,
                                                       .expires_at = after + day});
        BOOST_REQUIRE(store.run({&op, 1}, after).ok);
    }
    FakeMailer mailer;
    std::string error;
    const auto results = job(store, mailer, "a:1:a").send_failure_reports(after + 1, &error);
    BOOST_REQUIRE(results.size() == 2u);
    BOOST_TEST(results[0].sent);
    BOOST_TEST(!results[1].sent);
    BOOST_REQUIRE(mailer.sent.size() == 1u);
    BOOST_TEST(mailer.sent[0].mail.starts_with("To: ruf@example.com\nSubject: one\n"));
    BOOST_TEST(job(store, mailer, "a:1:a").send_failure_reports(after + 2, &error).empty());
}

// SendmailMailer on stand-ins for the MTA's sendmail program.
BOOST_AUTO_TEST_CASE(sendmail_results_map_to_sent_failed_and_unknown) {
    test::TempDir dir;
    const auto script = [&](const std::string& name, const std::string& body) {
        const std::string path = dir.path + "/" + name;
        std::ofstream(path) << "#!/bin/sh\n" << body;
        std::filesystem::permissions(path, std::filesystem::perms::owner_all);
        return path;
    };
    const std::string capture = script("ok", "printf '%s\\n' \"$@\" > " + dir.path +
                                                 "/args; cat > " + dir.path + "/mail\n");
    SendmailMailer ok(capture + " -oi", std::chrono::seconds(10));
    const std::string mail(200'000, 'x'); // more than a pipe holds
    const DeliveryResult sent =
        ok.send("reports@mx.example.org", {"-evil@example.com", "b@c.d"}, mail);
    BOOST_TEST((sent.status == Delivery::sent), sent.detail);
    std::ifstream args(dir.path + "/args");
    const std::string arguments((std::istreambuf_iterator<char>(args)), {});
    BOOST_TEST(arguments == "-oi\n-i\n-f\nreports@mx.example.org\n--\n-evil@example.com\nb@c.d\n");
    std::ifstream written(dir.path + "/mail");
    BOOST_TEST(std::string((std::istreambuf_iterator<char>(written)), {}) == mail);

    SendmailMailer refusing(script("tempfail", "cat >/dev/null; echo 'queue full' >&2; exit 75\n"),
                            std::chrono::seconds(10));
    const DeliveryResult failed = refusing.send("a@b.c", {"d@e.f"}, "mail\n");
    BOOST_TEST((failed.status == Delivery::failed));
    BOOST_TEST(failed.detail == "exit 75: queue full\n");

    SendmailMailer hanging(script("hang", "exec sleep 30\n"), std::chrono::milliseconds(300));
    const auto started = std::chrono::steady_clock::now();
    BOOST_TEST((hanging.send("a@b.c", {"d@e.f"}, "mail\n").status == Delivery::unknown));
    BOOST_TEST((std::chrono::steady_clock::now() - started < std::chrono::seconds(5)));

    SendmailMailer missing(dir.path + "/no-such-program", std::chrono::seconds(5));
    BOOST_TEST((missing.send("a@b.c", {"d@e.f"}, "mail\n").status == Delivery::failed));
}

// The systemd units in contrib/ that run the job: the timer's calendar is one systemd accepts
// (when systemd-analyze is there), it catches up after downtime, and the service runs the job
// with --send and counts its "try again later" exit (75) as success.
BOOST_AUTO_TEST_CASE(the_timer_unit_runs_the_report_job) {
    const auto read = [](const std::filesystem::path& path) {
        std::ifstream in(path);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    const auto units = test::source_directory() / "contrib" / "systemd";
    const std::string timer = read(units / "mailwarden-dmarc-report.timer");
    const std::string service = read(units / "mailwarden-dmarc-report.service.in");
    BOOST_TEST(timer.find("\nPersistent=true\n") != std::string::npos, timer);
    BOOST_TEST(timer.find("\nWantedBy=timers.target\n") != std::string::npos, timer);
    BOOST_TEST(service.find("\nExecStart=@bindir@/mailwarden dmarc report --send ") !=
                   std::string::npos,
               service);
    BOOST_TEST(service.find("\nSuccessExitStatus=75\n") != std::string::npos, service);
    BOOST_TEST(service.find("\nType=oneshot\n") != std::string::npos, service);
    const std::size_t at = timer.find("\nOnCalendar=");
    BOOST_REQUIRE(at != std::string::npos);
    const std::string calendar = timer.substr(at + 12, timer.find('\n', at + 1) - at - 12);
    if (::access("/usr/bin/systemd-analyze", X_OK) != 0) {
        BOOST_TEST_MESSAGE("systemd-analyze missing: the calendar " << calendar << " not checked");
        return;
    }
    test::TempDir dir;
    test::ChildProcess analyze({"/usr/bin/systemd-analyze", "calendar", calendar},
                               dir.path + "/analyze.out");
    BOOST_TEST(analyze.wait_exit(std::chrono::seconds(30)).value_or(-1) == 0, analyze.output());
}

BOOST_AUTO_TEST_SUITE_END()
