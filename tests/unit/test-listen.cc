// Unit tests for lib/util/listen: a unix socket appears under its path only once it listens and
// has been prepared (a policy client or an MTA connecting at start was refused before), a stale
// socket is replaced, and errors name the socket.
#include "util/listen.hh"

#include <boost/test/unit_test.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

using namespace mailwarden::util;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    TempDir() {
        char name[] = "/tmp/mw-listen-XXXXXX";
        path = ::mkdtemp(name);
    }
    ~TempDir() { fs::remove_all(path); }
    std::string path;
};

bool connects(const std::string& path) {
    const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
    ::close(fd);
    return ok;
}

SocketSpec unix_spec(const std::string& path) {
    return SocketSpec{.kind = SocketSpec::Kind::unix_path, .address = "", .port = 0, .path = path};
}

} // namespace

BOOST_AUTO_TEST_SUITE(listen_socket)

BOOST_AUTO_TEST_CASE(a_unix_socket_appears_listening_and_prepared) {
    TempDir dir;
    const std::string path = dir.path + "/milter.sock";
    { std::ofstream stale(path); } // a leftover of an earlier run
    bool prepared = false;
    const int fd = listen_on(unix_spec(path), 0, [&](const std::string& bound) {
        BOOST_TEST(bound != path);
        BOOST_TEST(fs::is_socket(path) == false); // not yet visible under its name
        BOOST_TEST(connects(bound));              // but already listening
        BOOST_TEST(::chmod(bound.c_str(), 0660) == 0);
        prepared = true;
    });
    BOOST_TEST(prepared);
    BOOST_TEST(fs::is_socket(path));
    struct stat info {};
    BOOST_TEST(::stat(path.c_str(), &info) == 0);
    BOOST_TEST((info.st_mode & 0777) == 0660U);
    BOOST_TEST(connects(path));
    BOOST_TEST(!fs::exists(path + ".new"));
    ::close(fd);
}

BOOST_AUTO_TEST_CASE(a_failed_preparation_leaves_nothing_behind) {
    TempDir dir;
    const std::string path = dir.path + "/policy.sock";
    BOOST_CHECK_THROW(listen_on(unix_spec(path), 0,
                                [](const std::string&) { throw std::runtime_error("chown"); }),
                      std::runtime_error);
    BOOST_TEST(fs::is_empty(dir.path));
}

BOOST_AUTO_TEST_CASE(errors_name_the_socket_and_the_step) {
    try {
        listen_on(unix_spec("/nonexistent-dir/x.sock"));
        BOOST_FAIL("no error");
    } catch (const std::runtime_error& error) {
        BOOST_TEST(std::string(error.what()).find("/nonexistent-dir/x.sock: bind") !=
                       std::string::npos,
                   error.what());
    }
    const SocketSpec bad{
        .kind = SocketSpec::Kind::inet, .address = "not-an-ip", .port = 25, .path = ""};
    BOOST_CHECK_EXCEPTION(listen_on(bad), std::runtime_error, [](const std::runtime_error& e) {
        return std::string(e.what()).find("not-an-ip port 25: address") != std::string::npos;
    });
}

BOOST_AUTO_TEST_SUITE_END()
