// The admin tool as a process: exit codes and output of `config check` and `dns lookup`
// (the latter through the configured resolver against the test DNS server), and of the state
// commands (ratelimit, reputation, greylist) on an LMDB store in the test's directory, and on
// a private redis-server.
#include "child_process.hh"
#include "dns_test_server.hh"
#include "redis_server.hh"

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using mailwarden::test::ChildProcess;

namespace {

struct ToolRun {
    int status;
    std::string output;
};

struct ToolFixture {
    ToolFixture() {
        char pattern[] = "/tmp/mw-tools-XXXXXX";
        dir = ::mkdtemp(pattern);
    }
    ~ToolFixture() { fs::remove_all(dir); }

    ToolRun run(std::vector<std::string> arguments) {
        arguments.insert(arguments.begin(),
                         (mailwarden::test::build_directory() / "tools/mailwarden").string());
        ChildProcess tool(arguments, dir + "/output");
        const auto status = tool.wait_exit(30s);
        return {status.value_or(-1), tool.output()};
    }

    std::string write(const std::string& name, const std::string& text) {
        const std::string path = dir + "/" + name;
        std::ofstream(path) << text;
        return path;
    }

    // A configuration whose state store is in the test's directory, with these [limits].
    std::string state_config(const std::string& limits = "") {
        const auto& server = mailwarden::test::DnsTestServer::instance();
        return write("state.conf", "[general]\nuser = nobody\nauthserv_id = mx.test\n"
                                   "[dns]\ndns_servers = " +
                                       server.address() +
                                       "\ndns_timeout = 1s\n"
                                       "[state]\nstate_path = " +
                                       dir + "/state/state.mdb\n[limits]\n" + limits);
    }

    static bool contains(const ToolRun& run, const std::string& text) {
        return run.output.find(text) != std::string::npos;
    }

    std::string dir;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(tools, ToolFixture)

BOOST_AUTO_TEST_CASE(config_check_lists_every_error_and_exits_1) {
    const auto path = write("bad.conf", "[dns]\ndns_timeout = 600s\ngarbage\n[general]\nfoo = 1\n");
    const auto result = run({"config", "check", path});
    BOOST_TEST(result.status == 1);
    BOOST_TEST(result.output.find(path + ":2: dns_timeout: value out of range 1s..60s") !=
                   std::string::npos,
               result.output);
    BOOST_TEST(result.output.find(path + ":3:") != std::string::npos);
    BOOST_TEST(result.output.find(path + ":5: foo: unknown parameter") != std::string::npos);
}

// The sample as shipped names things of an installed host (the user mailwarden, the state file
// in /var/lib/mailwarden), which config check looks at as the daemons would; here they are
// pointed at what this host has.
BOOST_AUTO_TEST_CASE(config_check_accepts_the_sample_configuration) {
    std::ifstream in(mailwarden::test::source_directory() / "conf/mailwarden.conf");
    const std::string sample((std::istreambuf_iterator<char>(in)), {});
    const auto result = run(
        {"config", "check",
         write("sample.conf", sample + "\n[general]\nuser = nobody\n[state]\nstate_path = " + dir +
                                  "/state/state.mdb\n")});
    BOOST_TEST(result.status == 0, result.output);
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_64) {
    BOOST_TEST(run({"frobnicate"}).status == 64);
    BOOST_TEST(run({"dns", "lookup", "example.test", "BOGUS"}).status == 64);
}

BOOST_AUTO_TEST_CASE(dns_lookup_joins_split_txt_through_the_configured_resolver) {
    const auto& server = mailwarden::test::DnsTestServer::instance();
    const auto config = write("dns.conf", "[dns]\ndns_servers = " + server.address() + "\n");
    const auto result = run({"dns", "lookup", "split.example.test", "TXT", "-c", config});
    BOOST_TEST(result.status == 0, result.output);
    BOOST_TEST(result.output.find("status=ok") != std::string::npos, result.output);
    BOOST_TEST(result.output.find(std::string(255, 'a') + std::string(255, 'b') + "ccc") !=
               std::string::npos);
}

BOOST_AUTO_TEST_CASE(dns_lookup_reports_nxdomain_and_timeout_apart) {
    const auto& server = mailwarden::test::DnsTestServer::instance();
    const auto nx =
        run({"dns", "lookup", "no-such-name.example.test", "A", "--dns", server.address()});
    BOOST_TEST(nx.status == 0);
    BOOST_TEST(nx.output.find("status=nxdomain") != std::string::npos, nx.output);
    const auto config = write("timeout.conf", "[dns]\ndns_timeout = 1s\n");
    const auto slow = run(
        {"dns", "lookup", "timeout.example.test", "TXT", "-c", config, "--dns", server.address()});
    BOOST_TEST(slow.status == 2);
    BOOST_TEST(slow.output.find("status=timeout") != std::string::npos, slow.output);
}

BOOST_AUTO_TEST_CASE(state_commands_on_an_empty_store_find_no_record_and_exit_1) {
    const auto config = state_config("ratelimit = per_client client_ip 3/1h\n"
                                     "ratelimit = senders sender 5/1h\n");
    const auto limit = run({"ratelimit", "show", "192.0.2.7", "-c", config});
    BOOST_TEST(limit.status == 1, limit.output);
    BOOST_TEST(contains(limit, "per_client client_ip: no record"), limit.output);
    BOOST_TEST(!contains(limit, "senders"), limit.output); // an address is no sender
    const auto reputation = run({"reputation", "show", "192.0.2.7", "-c", config});
    BOOST_TEST(reputation.status == 1, reputation.output);
    BOOST_TEST(contains(reputation, "ip 192.0.2.7: no record"), reputation.output);
    BOOST_TEST(contains(reputation, "net 192.0.2.0/24: no record"), reputation.output);
    const auto greylist = run({"greylist", "show", "192.0.2.7", "", "b@x.test", "-c", config});
    BOOST_TEST(greylist.status == 1, greylist.output);
    BOOST_TEST(contains(greylist, "192.0.2.0/24 <> <b@x.test>: no record"), greylist.output);
    BOOST_TEST(run({"ratelimit", "show", "nobody", "192.0.2.7", "-c", config}).status == 1);
}

BOOST_AUTO_TEST_CASE(ratelimit_show_counts_what_check_consumed_and_reset_clears_it) {
    const auto config = state_config("ratelimit = per_client client_ip 3/1h\n"
                                     "ratelimit = nets client_subnet 10/1h\n"
                                     "ratelimit = senders sender 5/1h\n");
    const auto message = write("message.eml", "From: a@example.test\nSubject: x\n\nbody\n");
    for (int i = 0; i < 2; ++i) {
        const auto check = run({"check", "-c", config, "--client-ip", "192.0.2.7", "--mail-from",
                                "Alice@Example.TEST", message});
        BOOST_TEST(check.status == 0, check.output); // accepted, and counted
        BOOST_TEST(contains(check, "Rate"), check.output);
    }
    const auto client = run({"ratelimit", "show", "192.0.2.7", "-c", config});
    BOOST_TEST(client.status == 0, client.output);
    BOOST_TEST(contains(client, "per_client client_ip: used 2 of 3, full again in "),
               client.output);
    BOOST_TEST(contains(client, "nets client_subnet: used 2 of 10, full again in "), client.output);
    // The subnet limit by a neighbour's address; the sender whatever its case.
    const auto neighbour = run({"ratelimit", "show", "nets", "192.0.2.200", "-c", config});
    BOOST_TEST(contains(neighbour, "nets client_subnet: used 2 of 10"), neighbour.output);
    BOOST_TEST(!contains(neighbour, "per_client"), neighbour.output);
    const auto sender = run({"ratelimit", "show", "alice@example.test", "-c", config});
    BOOST_TEST(contains(sender, "senders sender: used 2 of 5"), sender.output);

    const auto reset = run({"ratelimit", "reset", "per_client", "192.0.2.7", "-c", config});
    BOOST_TEST(reset.status == 0, reset.output);
    BOOST_TEST(contains(reset, "per_client client_ip: removed"), reset.output);
    const auto after = run({"ratelimit", "show", "192.0.2.7", "-c", config});
    BOOST_TEST(contains(after, "per_client client_ip: no record"), after.output);
    BOOST_TEST(contains(after, "nets client_subnet: used 2 of 10"), after.output);
    BOOST_TEST(run({"ratelimit", "reset", "per_client", "192.0.2.7", "-c", config}).status == 1);
}

BOOST_AUTO_TEST_CASE(check_refuses_for_good_a_message_a_quota_can_never_pass) {
    const auto config = state_config("ratelimit = quota sender 100/1h burst=3 count=recipients\n");
    const auto message = write("message.eml", "From: a@example.test\nSubject: x\n\nbody\n");
    std::vector<std::string> arguments = {
        "check", "-c", config, "--client-ip", "192.0.2.7", "--mail-from", "a@example.test"};
    for (const char* rcpt : {"r1@x.test", "r2@x.test", "r3@x.test", "r4@x.test"})
        arguments.insert(arguments.end(), {"--rcpt", rcpt});
    arguments.push_back(message);
    const auto refused = run(arguments);
    BOOST_TEST(refused.status == 1, refused.output); // reject, not tempfail (2)
    BOOST_TEST(contains(refused, "reject 550 5.5.3 too many recipients for rate limit quota: 4, it "
                                 "allows at most 3 at once"),
               refused.output);
}

BOOST_AUTO_TEST_CASE(reputation_set_show_and_forget_an_address_and_a_domain) {
    const auto config = state_config();
    const auto set = run({"reputation", "set", "192.0.2.7", "3", "1", "-c", config});
    BOOST_TEST(set.status == 0, set.output);
    BOOST_TEST(contains(set, "ip 192.0.2.7: set good 3.00 bad 1.00 score +0.50"), set.output);
    const auto address = run({"reputation", "show", "192.0.2.7", "-c", config});
    BOOST_TEST(address.status == 0, address.output);
    BOOST_TEST(contains(address, "ip 192.0.2.7: good 3.00 bad 1.00 score +0.50"), address.output);
    BOOST_TEST(contains(address, "net 192.0.2.0/24: no record"), address.output);

    BOOST_TEST(run({"reputation", "set", "Example.ORG", "0", "2.5", "-c", config}).status == 0);
    const auto domain = run({"reputation", "show", "example.org", "-c", config});
    BOOST_TEST(domain.status == 0, domain.output);
    BOOST_TEST(contains(domain, "domain example.org: good 0.00 bad 2.50 score -1.00"),
               domain.output);

    const auto forget = run({"reputation", "forget", "192.0.2.7", "-c", config});
    BOOST_TEST(forget.status == 0, forget.output);
    BOOST_TEST(contains(forget, "ip 192.0.2.7: removed"), forget.output);
    BOOST_TEST(run({"reputation", "show", "192.0.2.7", "-c", config}).status == 1);
    BOOST_TEST(run({"reputation", "forget", "EXAMPLE.org", "-c", config}).status == 0);
    BOOST_TEST(run({"reputation", "show", "example.org", "-c", config}).status == 1);
}

BOOST_AUTO_TEST_CASE(greylist_allow_then_show_the_triplet_by_subnet_and_any_case) {
    const auto config = state_config();
    const auto allow =
        run({"greylist", "allow", "192.0.2.7", "A@Example.test", "b@x.test", "-c", config});
    BOOST_TEST(allow.status == 0, allow.output);
    BOOST_TEST(contains(allow, "192.0.2.0/24 <a@example.test> <b@x.test>: allowed for 36 days"),
               allow.output);
    const auto show =
        run({"greylist", "show", "192.0.2.99", "a@example.test", "B@X.TEST", "-c", config});
    BOOST_TEST(show.status == 0, show.output);
    BOOST_TEST(contains(show, ": passed (known for 36 days after its last message)"), show.output);
    BOOST_TEST(
        run({"greylist", "show", "192.0.3.7", "a@example.test", "b@x.test", "-c", config}).status ==
        1);
}

BOOST_AUTO_TEST_CASE(a_state_store_that_cannot_be_opened_exits_75) {
    write("file", "a regular file, not a directory\n");
    const auto config =
        write("broken.conf", "[general]\nuser = nobody\n[state]\nstate_path = " + dir +
                                 "/file/state/state.mdb\n[limits]\n"
                                 "ratelimit = per_client client_ip 3/1h\n");
    const auto limit = run({"ratelimit", "show", "192.0.2.7", "-c", config});
    BOOST_TEST(limit.status == 75, limit.output);
    BOOST_TEST(contains(limit, "cannot open the state store"), limit.output);
    BOOST_TEST(run({"reputation", "set", "example.org", "1", "0", "-c", config}).status == 75);
    BOOST_TEST(run({"greylist", "allow", "192.0.2.7", "", "b@x.test", "-c", config}).status == 75);
}

BOOST_AUTO_TEST_CASE(state_commands_work_on_redis_and_exit_75_when_it_is_down) {
    mailwarden::test::RedisTestServer redis;
    const auto config = write("redis.conf", "[general]\nuser = nobody\n[state]\n"
                                            "state_backend = redis\nredis_servers = " +
                                                redis.address() + "\n");
    const auto set = run({"reputation", "set", "192.0.2.7", "3", "1", "-c", config});
    BOOST_TEST(set.status == 0, set.output);
    const auto show = run({"reputation", "show", "192.0.2.7", "-c", config});
    BOOST_TEST(contains(show, "ip 192.0.2.7: good 3.00 bad 1.00 score +0.50"), show.output);
    BOOST_TEST(redis.command({"KEYS", "mailwarden:rep:*"}).size() > 0);
    BOOST_TEST(
        run({"greylist", "allow", "192.0.2.7", "a@x.test", "b@x.test", "-c", config}).status == 0);
    BOOST_TEST(contains(
        run({"greylist", "show", "192.0.2.8", "a@x.test", "b@x.test", "-c", config}), ": passed"));
    BOOST_TEST(run({"reputation", "forget", "192.0.2.7", "-c", config}).status == 0);
    BOOST_TEST(run({"reputation", "show", "192.0.2.7", "-c", config}).status == 1);
    redis.stop();
    const auto down = run({"reputation", "show", "192.0.2.7", "-c", config});
    BOOST_TEST(down.status == 75, down.output);
    BOOST_TEST(contains(down, "state store (redis): redis " + redis.address()), down.output);
}

// The engine's keys and the tool's are made of one spelling of an address (util::canonical_ip):
// what `check` counted for 2001:db8::abcd is found however the admin writes it.
BOOST_AUTO_TEST_CASE(state_commands_find_ipv6_keys_whatever_the_spelling) {
    const auto config = state_config("ratelimit = per_client client_ip 3/1h\n");
    const auto message = write("message.eml", "From: a@nowhere.test\nSubject: x\n\nbody\n");
    const auto check = run({"check", "-c", config, "--client-ip", "2001:DB8:0:0::ABCD",
                            "--mail-from", "a@nowhere.test", message});
    BOOST_TEST(check.status == 0, check.output);
    for (const std::string spelling :
         {"2001:db8::abcd", "2001:DB8:0:0::ABCD", "2001:0db8::0:AbCd"}) {
        const auto limit = run({"ratelimit", "show", spelling, "-c", config});
        BOOST_TEST(contains(limit, "per_client client_ip: used 1 of 3"), spelling << limit.output);
    }
    BOOST_TEST(
        run({"reputation", "set", "2001:0DB8:0:0:0:0:0:ABCD", "3", "1", "-c", config}).status == 0);
    const auto reputation = run({"reputation", "show", "2001:db8::abcd", "-c", config});
    BOOST_TEST(contains(reputation, "ip 2001:db8::abcd: good 3.00 bad 1.00"), reputation.output);
    const auto mapped = run({"reputation", "show", "::FFFF:192.0.2.7", "-c", config});
    BOOST_TEST(contains(mapped, "ip 192.0.2.7: no record"), mapped.output);
}

BOOST_AUTO_TEST_CASE(every_command_prints_its_usage_with_help_and_exits_0) {
    const std::vector<std::vector<std::string>> commands = {{"check"},
                                                            {"config"},
                                                            {"config", "check"},
                                                            {"config", "dump"},
                                                            {"dns"},
                                                            {"dns", "lookup"},
                                                            {"ratelimit"},
                                                            {"ratelimit", "show"},
                                                            {"reputation"},
                                                            {"reputation", "set"},
                                                            {"greylist"},
                                                            {"greylist", "allow"},
                                                            {"dkim"},
                                                            {"dkim", "keygen"},
                                                            {"dkim", "testkey"},
                                                            {"dmarc"},
                                                            {"dmarc", "report"}};
    for (const auto& command : commands) {
        for (const std::string help : {"--help", "-h"}) {
            auto arguments = command;
            arguments.push_back(help);
            const auto result = run(arguments);
            BOOST_TEST_CONTEXT(command.front() << " " << command.size() << " " << help) {
                BOOST_TEST(result.status == 0, result.output);
                BOOST_TEST(result.output.starts_with("usage: mailwarden " + command.front() + " "),
                           result.output);
                for (const std::string other :
                     {"check", "config", "dns", "ratelimit", "reputation", "greylist"})
                    if (other != command.front())
                        BOOST_TEST(!contains(result, "mailwarden " + other + " "), result.output);
            }
        }
    }
    BOOST_TEST(run({"frobnicate", "--help"}).status == 64);
}

BOOST_AUTO_TEST_CASE(state_command_usage_and_configuration_errors) {
    const auto config = state_config("ratelimit = per_client client_ip 3/1h\n");
    for (const std::vector<std::string>& arguments : {
             std::vector<std::string>{"ratelimit"},
             {"ratelimit", "frob", "192.0.2.7"},
             {"ratelimit", "show"},
             {"ratelimit", "show", "a", "b", "c"},
             {"ratelimit", "show", "per_client", "example.org"}, // not a client address
             {"reputation", "show"},
             {"reputation", "set", "192.0.2.7", "1"},
             {"reputation", "set", "192.0.2.7", "x", "1"},
             {"reputation", "set", "192.0.2.7", "1", "inf"},
             {"reputation", "show", ""},
             {"greylist", "show", "192.0.2.7", "a@b.test"},
             {"greylist", "show", "not-an-ip", "a@b.test", "c@d.test"},
             {"greylist", "allow", "192.0.2.7", "a@b.test", "c@d.test", "--bogus"},
         }) {
        auto with_config = arguments;
        with_config.insert(with_config.end(), {"-c", config});
        BOOST_TEST(run(with_config).status == 64, arguments.front() << " " << arguments.size());
    }
    const auto bad = write("bad.conf", "[limits]\nratelimit = x client_ip many\n");
    BOOST_TEST(run({"ratelimit", "show", "192.0.2.7", "-c", bad}).status == 78);
    BOOST_TEST(run({"reputation", "show", "192.0.2.7", "-c", bad}).status == 78);
}

BOOST_AUTO_TEST_SUITE_END()
