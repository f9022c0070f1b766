// mailwarden-milter end to end through the milter protocol: the real daemon on a unix socket
// with a test configuration and a private test DNS server, driven by miltertest (Debian's
// package) running the Lua scripts in tests/integration/. Each case writes the messages its
// script sends (signed here with keys made by the tests), runs the script, and checks its exit
// status and, where the protocol cannot show it, the daemon's log and memory.
#include "child_process.hh"
#include "dkim_test_signer.hh"
#include "dns_test_server.hh"
#include "redis_server.hh"

#include <boost/test/unit_test.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace mailwarden;
using test::ChildProcess;
using test::eventually;

namespace {

const char* const miltertest_program = "/usr/bin/miltertest";

// The DNS data of every scenario. Client 192.0.2.10 is allowed by the pass records.
std::string zone_text() {
    const dkim_test::TestKey& key = dkim_test::rsa_2048();
    const std::string key_record = "v=DKIM1; k=rsa; p=" + key.public_base64;
    return "spf-pass.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
           "spf-fail.test TXT \"v=spf1 -all\"\n"
           "example.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
           "_dmarc.example.test TXT \"v=DMARC1; p=reject\"\n" +
           dkim_test::txt_line("s1._domainkey.example.test", key_record) +
           "reject.test TXT \"v=spf1 -all\"\n"
           "_dmarc.reject.test TXT \"v=DMARC1; p=reject\"\n"
           "quarantine.test TXT \"v=spf1 -all\"\n"
           "_dmarc.quarantine.test TXT \"v=DMARC1; p=quarantine\"\n"
           "slow.test TXT \"v=spf1 -all\"\n"
           "_dmarc.slow.test TXT \"v=DMARC1; p=reject\"\n"
           "s1._domainkey.slow.test TIMEOUT\n"
           "spf-slow.test TIMEOUT\n"
           "legit.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
           "_dmarc.legit.test TXT \"v=DMARC1; p=reject\"\n" +
           dkim_test::txt_line("s1._domainkey.legit.test", key_record);
}

dkim_test::Message signed_message(const std::string& from_domain, const std::string& body = "") {
    dkim_test::Message message = dkim_test::sample_message("Alice <alice@" + from_domain + ">");
    if (!body.empty())
        message.body = body;
    dkim_test::sign(message,
                    {.key = &dkim_test::rsa_2048(), .selector = "s1", .domain = from_domain});
    return message;
}

struct MilterFixture {
    MilterFixture() {
        char pattern[] = "/tmp/mw-milter-XXXXXX";
        dir = ::mkdtemp(pattern);
        ::chmod(dir.c_str(), 0755); // the dropped-privilege daemon reads its config here
        dns = test::DnsTestServer::with_zone(zone_text());
    }
    ~MilterFixture() {
        milter.reset();
        fs::remove_all(dir);
    }

    void write_message(const std::string& name, const dkim_test::Message& message) {
        std::ofstream(dir + "/" + name + ".eml", std::ios::binary) << dkim_test::to_text(message);
    }

    // Starts the daemon with the test configuration plus `extra`: [actions] lines, then any
    // further sections.
    void start(const std::string& extra = "") {
        const bool root = ::geteuid() == 0;
        std::ofstream(dir + "/mailwarden.conf")
            << "[general]\nlog_level = debug\nuser = nobody\nallow_root = " << (root ? "no" : "yes")
            << "\n"
            << "authserv_id = mx.test\ninternal_networks =\n"
            << "milter_pid_file = " << dir << "/milter.pid\n"
            << "[milter]\nmilter_socket = unix:" << dir << "/milter.sock\n"
            << "[dns]\ndns_servers = " << dns->address() << "\ndns_timeout = 1s\n"
            << "[auth]\nspf_time_budget = 2s\n"
            << "[state]\nstate_path = " << dir << "/state/state.mdb\n"
            << "[actions]\n"
            // The scripts test the rejection path; the default (quarantine) is test-engine's.
            << "dmarc_reject_action = reject\n"
            << extra;
        milter = std::make_unique<ChildProcess>(
            std::vector<std::string>{
                (test::build_directory() / "milter/mailwarden-milter").string(), "-f", "-c",
                dir + "/mailwarden.conf"},
            dir + "/milter.log");
        BOOST_REQUIRE_MESSAGE(eventually([&] { return fs::exists(dir + "/milter.sock"); }, 20s),
                              "mailwarden-milter did not create its socket:\n"
                                  << milter->output());
    }

    // Runs tests/integration/SCRIPT with miltertest; true when it exited 0.
    bool run_script(const std::string& script, std::vector<std::string> defines = {}) {
        const fs::path integration = test::source_directory() / "tests/integration";
        std::vector<std::string> argv = {miltertest_program,
                                         "-s",
                                         (integration / script).string(),
                                         "-D",
                                         "socket=unix:" + dir + "/milter.sock",
                                         "-D",
                                         "dir=" + dir,
                                         "-D",
                                         "lib=" + (integration / "milter-lib.lua").string()};
        for (auto& define : defines)
            argv.insert(argv.end(), {"-D", define});
        argv.insert(argv.begin() + 1, "-vvv");
        ChildProcess tester(argv, dir + "/miltertest.out");
        const auto status = tester.wait_exit(120s);
        const bool passed = status && *status == 0;
        tester_output = tester.output();
        if (!passed)
            BOOST_TEST_MESSAGE("miltertest " << script << " output:\n"
                                             << tester.output() << "\nmilter log:\n"
                                             << milter->output());
        return passed;
    }

    std::string log() const { return milter->output(); }

    // One message from 192.0.2.10 (milter-reputation.lua): true when answered `code` ("continue"
    // or a reply code with its status and text).
    bool send_one(const std::string& message, const std::string& sender, const std::string& code,
                  const std::string& status, const std::string& text) {
        return run_script("milter-reputation.lua",
                          {"message=" + message, "sender=" + sender, "code=" + code,
                           "status=" + status, "text=" + text});
    }

    // What `mailwarden reputation show IP` prints for the client's own record (the daemon's
    // configuration, so the same store), e.g. "good 0.00 bad 1.00 score -1.00".
    std::string reputation_of(const std::string& ip) const {
        ChildProcess tool({(test::build_directory() / "tools/mailwarden").string(), "reputation",
                           "show", ip, "-c", dir + "/mailwarden.conf"},
                          dir + "/reputation.out");
        tool.wait_exit(30s);
        const std::string output = tool.output();
        const std::string label = "ip " + ip + ": ";
        const auto at = output.find(label);
        if (at == std::string::npos)
            return output;
        return output.substr(at + label.size(), output.find('\n', at) - at - label.size());
    }

    // SIGTERM; the daemon must exit 0 at once, no message left open (a leaked count of open
    // messages would make it wait for the drain limit, 30 s).
    void stop_cleanly() {
        milter->signal(SIGTERM);
        const auto status = milter->wait_exit(10s);
        BOOST_TEST((status && *status == 0), "exit status " << (status ? *status : -1) << "\n"
                                                            << log());
        BOOST_TEST(log().find("stopped") != std::string::npos);
        BOOST_TEST(log().find("messages in progress") == std::string::npos, log());
    }
    std::string tester_output; // of the last script
    std::string dir;
    std::unique_ptr<test::DnsTestServer> dns;
    std::unique_ptr<ChildProcess> milter;
};

// Peak resident memory (VmHWM) of a process, in kB; 0 when unreadable.
long peak_memory_kb(pid_t pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmHWM:", 0) == 0)
            return std::stol(line.substr(6));
    return 0;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        ++count;
    return count;
}

bool have_miltertest() {
    if (::access(miltertest_program, X_OK) == 0)
        return true;
    BOOST_TEST_MESSAGE("miltertest is not installed (apt-get install miltertest)");
    return false;
}

} // namespace

BOOST_FIXTURE_TEST_SUITE(milter, MilterFixture)

BOOST_AUTO_TEST_CASE(spf_pass_is_reported_and_spf_fail_rejected_at_mail) {
    BOOST_REQUIRE(have_miltertest());
    write_message("plain", dkim_test::sample_message("Alice <alice@spf-pass.test>"));
    start("spf_fail_action = reject\n");
    BOOST_TEST(run_script("milter-spf.lua"));
    BOOST_TEST(log().find("NOQUEUE: client=mx.client.test[192.0.2.10] from=<alice@spf-fail.test> "
                          "rcpts=0 spf=fail dkim=none dmarc=none rate=off rep=new action=reject "
                          "reason=spf_fail") != std::string::npos,
               log());
}

BOOST_AUTO_TEST_CASE(dkim_pass_and_body_tampering_are_reported) {
    BOOST_REQUIRE(have_miltertest());
    dkim_test::Message message = signed_message("example.test");
    write_message("signed", message);
    message.body += "P.S. added on the way\r\n";
    write_message("tampered", message);
    start();
    BOOST_TEST(run_script("milter-dkim.lua"));
    BOOST_TEST(
        count_of(log(), "dkim=pass:example.test dmarc=pass rate=off rep=new action=accept") == 1);
    BOOST_TEST(
        count_of(log(), "dkim=fail:example.test dmarc=pass rate=off rep=new action=accept") == 1);
}

BOOST_AUTO_TEST_CASE(the_summary_line_gives_the_total_then_the_time_of_each_check_that_ran) {
    BOOST_REQUIRE(have_miltertest());
    write_message("plain", dkim_test::sample_message("Alice <alice@spf-pass.test>"));
    start("spf_fail_action = reject\n");
    BOOST_TEST(run_script("milter-spf.lua"));
    const std::string figure = "[0-9]+\\.[0-9]{2}";
    const std::string total = "ms=[0-9]+\\.[0-9]";
    const std::regex accepted("action=accept reason=ok " + total + ",from:" + figure +
                              ",spf:" + figure + ",dkim:" + figure + ",dmarc:" + figure +
                              ",decision:" + figure + ",rep:" + figure + ",authres:" + figure +
                              "(,state:" + figure + ")?\n");
    // Refused at MAIL: the stage ended at the decision table, before reputation.
    const std::regex refused("action=reject reason=spf_fail " + total + ",spf:" + figure +
                             ",dkim:" + figure + ",decision:" + figure + "\n");
    const std::string text = log();
    BOOST_TEST(std::regex_search(text, accepted), text);
    BOOST_TEST(std::regex_search(text, refused), text);
}

BOOST_AUTO_TEST_CASE(dmarc_reject_and_quarantine_are_answered_at_end_of_message) {
    BOOST_REQUIRE(have_miltertest());
    write_message("reject", dkim_test::sample_message("Alice <alice@reject.test>"));
    write_message("quarantine", dkim_test::sample_message("Alice <alice@quarantine.test>"));
    start();
    BOOST_TEST(run_script("milter-dmarc.lua"));
    BOOST_TEST(log().find("action=reject reason=dmarc_reject") != std::string::npos);
    BOOST_TEST(log().find("action=quarantine reason=dmarc_quarantine") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(forged_authentication_results_are_removed_by_their_own_index) {
    BOOST_REQUIRE(have_miltertest());
    dkim_test::Message message = signed_message("example.test");
    // After signing: 1st and 3rd claim our authserv-id, the 2nd is another host's.
    auto at = message.headers.begin() + 1;
    at = message.headers.insert(
        at, {"Authentication-Results", " mx.test; dkim=pass header.d=bank.test"});
    at = message.headers.insert(at + 1, {"Authentication-Results", " relay.other; spf=pass"});
    message.headers.insert(at + 1, {"Authentication-Results", " MX.TEST; dmarc=pass"});
    write_message("forged", message);
    start();
    BOOST_TEST(run_script("milter-forged.lua"));
    // Highest index first, each counted among the Authentication-Results headers only.
    const std::string removed = "removed a forged header header=Authentication-Results index=";
    const auto third = log().find(removed + "3"), first = log().find(removed + "1");
    BOOST_TEST((third != std::string::npos && first != std::string::npos && third < first));
    BOOST_TEST(log().find(removed + "2") == std::string::npos);
    BOOST_TEST(log().find("internal error") != std::string::npos);
    BOOST_TEST(log().find("action=tempfail reason=internal_error") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(authenticated_mail_is_outbound_and_logged_with_its_queue_id) {
    BOOST_REQUIRE(have_miltertest());
    write_message("reject", dkim_test::sample_message("Alice <alice@reject.test>"));
    start();
    BOOST_TEST(run_script("milter-outbound.lua"));
    BOOST_TEST(log().find("4QkZ3T1x: client=mx.client.test[192.0.2.10] from=<alice@reject.test> "
                          "rcpts=1 outbound=yes rate=off action=accept reason=outbound") !=
                   std::string::npos,
               log());
}

BOOST_AUTO_TEST_CASE(dns_timeouts_get_the_configured_action) {
    BOOST_REQUIRE(have_miltertest());
    write_message("slow", signed_message("slow.test"));
    write_message("plain", dkim_test::sample_message("Alice <alice@spf-pass.test>"));
    start();
    BOOST_TEST(run_script("milter-dns-timeout.lua"));
    BOOST_TEST(log().find("action=tempfail reason=dmarc_dns_error") != std::string::npos);
    BOOST_TEST(log().find("spf=temperror") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_20_mb_body_with_200_headers_streams_without_memory_growth) {
    BOOST_REQUIRE(have_miltertest());
    // Under ASan, freed chunks wait in a quarantine that would look like growth.
    std::string asan = std::getenv("ASAN_OPTIONS") ? std::getenv("ASAN_OPTIONS") : "";
    ::setenv("ASAN_OPTIONS", (asan + (asan.empty() ? "" : ":") + "quarantine_size_mb=1").c_str(),
             1);
    std::string line = "0123456789 the same line of a large attachment, again and again.\r\n";
    std::string body;
    body.reserve(20 * 1024 * 1024 + line.size());
    while (body.size() < 20 * 1024 * 1024)
        body += line;
    dkim_test::Message message = dkim_test::sample_message();
    message.body = std::move(body);
    dkim_test::sign(message, {.key = &dkim_test::rsa_2048(), .selector = "s1"});
    // Added after signing: miltertest overflows a 1 KB buffer on a DKIM-Signature whose h=
    // would name 200 headers.
    for (int i = 0; i < 195; ++i)
        message.headers.emplace_back("X-Filler-" + std::to_string(i),
                                     " header number " + std::to_string(i));
    BOOST_REQUIRE(message.headers.size() >= 200);
    write_message("large", message);
    dkim_test::Message small = signed_message("example.test");
    write_message("signed", small);
    small.body += "P.S. added on the way\r\n";
    write_message("tampered", small);
    start();
    if (asan.empty())
        ::unsetenv("ASAN_OPTIONS");
    else
        ::setenv("ASAN_OPTIONS", asan.c_str(), 1);
    BOOST_REQUIRE(run_script("milter-dkim.lua")); // warm: libraries loaded, threads made
    const long before = peak_memory_kb(milter->pid());
    BOOST_REQUIRE(run_script("milter-large.lua"));
    const long after = peak_memory_kb(milter->pid());
    BOOST_TEST_MESSAGE("peak memory before " << before << " kB, after the 20 MB message " << after
                                             << " kB");
    BOOST_TEST(before > 0);
    BOOST_TEST(after - before < 4 * 1024); // a few 64 KB chunks, never the 20 MB
}

BOOST_AUTO_TEST_CASE(aborts_and_rset_mid_transaction_leave_nothing_behind) {
    BOOST_REQUIRE(have_miltertest());
    write_message("signed", signed_message("example.test"));
    write_message("reject", dkim_test::sample_message("Alice <alice@reject.test>"));
    start();
    BOOST_TEST(run_script("milter-abort.lua"));
    BOOST_TEST(count_of(log(), "action=reject reason=dmarc_reject") == 1);
    BOOST_TEST(count_of(log(), "action=accept") == 2);
    stop_cleanly();
}

BOOST_AUTO_TEST_CASE(fifty_concurrent_connections_get_their_own_answers) {
    BOOST_REQUIRE(have_miltertest());
    write_message("signed", signed_message("example.test"));
    write_message("reject", dkim_test::sample_message("Alice <alice@reject.test>"));
    start();
    BOOST_TEST(run_script("milter-concurrent.lua"));
    BOOST_TEST(count_of(log(), "action=reject reason=dmarc_reject") == 25);
    BOOST_TEST(
        count_of(log(), "dkim=pass:example.test dmarc=pass rate=off rep=new action=accept") == 25);
    stop_cleanly();
}

BOOST_AUTO_TEST_CASE(rate_limits_refuse_at_mail_and_at_rcpt) {
    BOOST_REQUIRE(have_miltertest());
    write_message("signed", signed_message("example.test"));
    start("[limits]\nratelimit = per_client client_ip 2/1h\nratelimit = per_rcpt recipient 1/1h\n");
    BOOST_TEST(run_script("milter-ratelimit.lua"));
    BOOST_TEST(log().find("recipient refused rcpt=<bob@example.net> action=tempfail "
                          "reason=ratelimit_per_rcpt") != std::string::npos,
               log());
    BOOST_TEST(
        log().find("rate=limited:per_client rep=new action=tempfail reason=ratelimit_per_client") !=
            std::string::npos,
        log());
    stop_cleanly();
}

BOOST_AUTO_TEST_CASE(a_quota_that_can_never_pass_is_refused_for_good) {
    BOOST_REQUIRE(have_miltertest());
    write_message("signed", signed_message("example.test"));
    start("[limits]\nratelimit = quota sender 100/1h burst=2 count=recipients\n");
    BOOST_TEST(run_script("milter-quota.lua"));
    BOOST_TEST(log().find("rate=limited:quota rep=new action=reject reason=ratelimit_quota") !=
                   std::string::npos,
               log());
    stop_cleanly();
}

// Issue 13 item 9: our own trouble is not the sender's fault. A genuine DMARC fail under
// p=reject moves the client's reputation (bad); while our DNS is down, the 451 4.4.3 that a
// legitimate p=reject sender gets moves nothing (Verdict::ours). LMDB, the default store.
BOOST_AUTO_TEST_CASE(our_dns_outage_never_moves_reputation_a_genuine_dmarc_fail_does) {
    BOOST_REQUIRE(have_miltertest());
    write_message("spoof", dkim_test::sample_message("CEO <ceo@reject.test>"));
    write_message("legit", signed_message("legit.test"));
    start();
    BOOST_TEST(reputation_of("192.0.2.10") == "no record");
    BOOST_TEST(send_one("spoof", "x@spf-pass.test", "550", "5.7.1",
                        "DMARC policy of reject.test rejects this unauthenticated mail"));
    const std::string after_spoof = reputation_of("192.0.2.10");
    BOOST_TEST(after_spoof == "good 0.00 bad 1.00 score -1.00");

    dns.reset(); // our resolver's server is gone: nothing answers
    BOOST_TEST(send_one("legit", "alice@legit.test", "451", "4.4.3",
                        "DNS error looking up _dmarc.legit.test, try again later"));
    BOOST_TEST(log().find("dmarc=temperror") != std::string::npos, log());
    BOOST_TEST(reputation_of("192.0.2.10") == after_spoof);
    stop_cleanly();
}

// A state-store outage of ours (Redis up but not answering, so the end-of-message batch times
// out: on_state_error = tempfail answers 451 4.3.0) counts nothing against the client, while a
// genuine DMARC fail on the same store moves it. The store's error comes after the reputation
// check has chosen its change, so this holds by construction, with or without Verdict::ours.
BOOST_AUTO_TEST_CASE(our_state_store_outage_never_moves_reputation) {
    BOOST_REQUIRE(have_miltertest());
    test::RedisTestServer redis;
    write_message("spoof", dkim_test::sample_message("CEO <ceo@reject.test>"));
    write_message("signed", signed_message("example.test"));
    start("on_state_error = tempfail\n[state]\nstate_backend = redis\nredis_servers = " +
          redis.address() + "\nredis_timeout = 100ms\n");
    BOOST_TEST(send_one("spoof", "x@spf-pass.test", "550", "5.7.1",
                        "DMARC policy of reject.test rejects this unauthenticated mail"));
    const std::string after_spoof = reputation_of("192.0.2.10");
    BOOST_TEST(after_spoof == "good 0.00 bad 1.00 score -1.00");

    redis.pause();
    BOOST_TEST(send_one("signed", "alice@example.test", "451", "4.3.0",
                        "temporary problem with the rate-limit store, try again later"));
    redis.resume();
    // Nothing counts against the client. (The stalled server may still run the batch it had
    // been sent when it resumes: the message's "good", computed before the store was asked.)
    BOOST_TEST(reputation_of("192.0.2.10").find("bad 1.00") != std::string::npos);
    stop_cleanly();
}

BOOST_AUTO_TEST_CASE(sigterm_lets_the_open_message_end_then_exits) {
    BOOST_REQUIRE(have_miltertest());
    write_message("signed", signed_message("example.test"));
    start();
    BOOST_TEST(run_script("milter-stop.lua", {"pid=" + std::to_string(milter->pid())}));
    const auto status = milter->wait_exit(10s);
    BOOST_TEST((status && *status == 0), "exit status " << (status ? *status : -1) << "\n"
                                                        << log());
    BOOST_TEST(log().find("waiting for messages in progress open=1") != std::string::npos, log());
    BOOST_TEST(log().find("from=<late@example.test> rcpts=0") != std::string::npos, log());
    BOOST_TEST(log().find("action=tempfail reason=stopping") != std::string::npos, log());
    BOOST_TEST(log().find("stopping with messages in progress") == std::string::npos);
    BOOST_TEST(log().find("stopped") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
