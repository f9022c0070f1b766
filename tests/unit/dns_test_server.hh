// Test fixture: a DNS server on loopback serving every tests/data/zones/*.zone (instance()),
// or a private one serving zone text of the test's own (with_zone()).
// For instance(): if MW_TEST_DNS is set (ADDR@PORT of a responder started by contrib/quickstart),
// that one is used. Otherwise $MW_BUILDDIR/tests/dns/mw-testdnsd is spawned on an ephemeral port
// with the zones from $MW_SRCDIR (both exported by tests/local.mk; when unset, the build directory
// is
// "." and the source directory is found from this header's path), its port is read from
// --port-file, and it is killed by PID at the end of the test run. Failure to start throws.
#pragma once

#include "child_process.hh"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace mailwarden::test {

class DnsTestServer {
public:
    // The one server of this test run, started on first use.
    static DnsTestServer& instance() {
        static DnsTestServer server;
        return server;
    }

    // A private responder for this zone text, stopped when the object goes away.
    static std::unique_ptr<DnsTestServer> with_zone(const std::string& zone_text) {
        std::unique_ptr<DnsTestServer> server(new DnsTestServer(Private{}));
        server->make_directory();
        const std::string zone_file = server->directory_ + "/test.zone";
        std::ofstream(zone_file, std::ios::binary) << zone_text;
        server->spawn({zone_file});
        return server;
    }

    // "127.0.0.1@PORT", ready for UnboundOptions::servers.
    const std::string& address() const { return address_; }

    DnsTestServer(const DnsTestServer&) = delete;
    DnsTestServer& operator=(const DnsTestServer&) = delete;

    ~DnsTestServer() {
        process_.reset();
        if (!directory_.empty()) {
            std::error_code ignored;
            std::filesystem::remove_all(directory_, ignored);
        }
    }

private:
    DnsTestServer() {
        if (const char* external = std::getenv("MW_TEST_DNS"); external && *external) {
            address_ = external;
            return;
        }
        make_directory();
        std::vector<std::string> zone_files;
        for (const auto& entry :
             std::filesystem::directory_iterator(source_directory() / "tests/data/zones"))
            if (entry.path().extension() == ".zone")
                zone_files.push_back(entry.path().string());
        spawn(zone_files);
    }

    struct Private {};
    explicit DnsTestServer(Private) {}

    void make_directory() {
        char pattern[] = "/tmp/mw-testdnsd.XXXXXX";
        if (!::mkdtemp(pattern))
            throw std::runtime_error("DnsTestServer: mkdtemp failed");
        directory_ = pattern;
    }

    void spawn(const std::vector<std::string>& zone_files) {
        const std::string program = (build_directory() / "tests/dns/mw-testdnsd").string();
        const std::string port_file = directory_ + "/port";
        std::vector<std::string> args = {program, "-p", "0", "--port-file", port_file};
        for (const auto& zone_file : zone_files)
            args.insert(args.end(), {"-z", zone_file});
        process_ = std::make_unique<ChildProcess>(args, directory_ + "/output");
        std::string port;
        const bool started = eventually(
            [&] {
                std::ifstream file(port_file);
                return static_cast<bool>(file >> port) || !process_->running();
            },
            std::chrono::seconds(10));
        if (!started || port.empty())
            throw std::runtime_error("DnsTestServer: " + program +
                                     " did not start: " + process_->output());
        address_ = "127.0.0.1@" + port;
    }

    std::string address_;
    std::string directory_;
    std::unique_ptr<ChildProcess> process_;
};

} // namespace mailwarden::test
