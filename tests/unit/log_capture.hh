// Test helpers for what the code logs: StderrCapture sends fd 2 to a temporary file while it
// lives, and DefaultLogSettings puts util/log's default settings back at the end of a test
// that had lines mirrored to stderr (log_configure with also_stderr).
#pragma once

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <cstdio>
#include <memory>
#include <string>

#include "util/log.hh"

namespace mailwarden::test {

// Sends fd 2 to a temporary file for its lifetime; captured() returns what was written.
class StderrCapture {
public:
    StderrCapture() : saved_(::dup(STDERR_FILENO)), file_(std::tmpfile(), &std::fclose) {
        BOOST_TEST_REQUIRE(file_ != nullptr);
        std::fflush(stderr);
        ::dup2(::fileno(file_.get()), STDERR_FILENO);
    }
    StderrCapture(const StderrCapture&) = delete;
    StderrCapture& operator=(const StderrCapture&) = delete;
    ~StderrCapture() {
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
    }
    std::string captured() const {
        std::string text;
        char buffer[4096];
        std::rewind(file_.get());
        for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, file_.get())) > 0;) {
            text.append(buffer, n);
        }
        return text;
    }

private:
    int saved_;
    std::unique_ptr<std::FILE, decltype(&std::fclose)> file_;
};

// Restores the default settings after a test that reconfigures logging.
struct DefaultLogSettings {
    ~DefaultLogSettings() { util::log_configure(util::LogSettings{}); }
};
} // namespace mailwarden::test
