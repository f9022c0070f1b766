// The admin tool as a process: exit codes and output of `config check` and `dns lookup`
// (the latter through the configured resolver against the test DNS server).
#include "child_process.hh"
#include "dns_test_server.hh"

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

BOOST_AUTO_TEST_CASE(config_check_accepts_the_sample_configuration) {
    const auto sample = (mailwarden::test::source_directory() / "conf/mailwarden.conf").string();
    const auto result = run({"config", "check", sample});
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

BOOST_AUTO_TEST_SUITE_END()
