// Test fixture: a DNS server on loopback serving every tests/data/zones/*.zone.
// If MW_TEST_DNS is set (ADDR@PORT of a responder started by contrib/quickstart), that one is
// used. Otherwise $MW_BUILDDIR/tests/dns/mw-testdnsd is spawned on an ephemeral port with the
// zones from $MW_SRCDIR (both exported by tests/local.mk; when unset, the build directory is
// "." and the source directory is found from this header's path), its port is read from
// --port-file, and it is killed by PID at the end of the test run. Failure to start throws.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mailwarden::test {

class DnsTestServer {
public:
    // The one server of this test run, started on first use.
    static DnsTestServer& instance() {
        static DnsTestServer server;
        return server;
    }

    // "127.0.0.1@PORT", ready for UnboundOptions::servers.
    const std::string& address() const { return address_; }

    DnsTestServer(const DnsTestServer&) = delete;
    DnsTestServer& operator=(const DnsTestServer&) = delete;

    ~DnsTestServer() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
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
        spawn();
    }

    static std::filesystem::path source_directory() {
        if (const char* srcdir = std::getenv("MW_SRCDIR"); srcdir && *srcdir)
            return srcdir;
        return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path();
    }

    void spawn() {
        const char* builddir = std::getenv("MW_BUILDDIR");
        std::string program =
            std::string(builddir && *builddir ? builddir : ".") + "/tests/dns/mw-testdnsd";
        std::vector<std::string> args = {program, "-p", "0"};
        for (const auto& entry :
             std::filesystem::directory_iterator(source_directory() / "tests/data/zones"))
            if (entry.path().extension() == ".zone")
                args.insert(args.end(), {"-z", entry.path().string()});
        char pattern[] = "/tmp/mw-testdnsd.XXXXXX";
        if (!::mkdtemp(pattern))
            throw std::runtime_error("DnsTestServer: mkdtemp failed");
        directory_ = pattern;
        std::string port_file = directory_ + "/port";
        args.insert(args.end(), {"--port-file", port_file});
        pid_ = ::fork();
        if (pid_ < 0)
            throw std::runtime_error("DnsTestServer: fork failed");
        if (pid_ == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGTERM); // never outlive a crashed testrunner
            std::vector<char*> argv;
            for (std::string& arg : args)
                argv.push_back(arg.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
        address_ = "127.0.0.1@" + wait_for_port(port_file, program);
    }

    std::string wait_for_port(const std::string& port_file, const std::string& program) {
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            std::ifstream file(port_file);
            std::string port;
            if (file >> port && !port.empty())
                return port;
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                pid_ = -1;
                throw std::runtime_error("DnsTestServer: " + program + " exited at start");
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        throw std::runtime_error("DnsTestServer: " + program + " wrote no port file");
    }

    std::string address_;
    std::string directory_;
    pid_t pid_ = -1;
};

} // namespace mailwarden::test
