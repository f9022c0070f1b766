// Helpers of the end-to-end tests with a real MTA (test-postfix.cc, test-sendmail.cc): free
// loopback ports, waiting for a listener, reading what the MTA wrote, and reading a swaks
// transcript.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace mailwarden::test {

// Free TCP ports on 127.0.0.1, held together while chosen so that they differ.
inline std::vector<unsigned short> free_ports(std::size_t count) {
    namespace asio = boost::asio;
    asio::io_context io;
    std::vector<asio::ip::tcp::acceptor> acceptors;
    std::vector<unsigned short> ports;
    for (std::size_t i = 0; i < count; ++i) {
        acceptors.emplace_back(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
        ports.push_back(acceptors.back().local_endpoint().port());
    }
    return ports;
}

inline bool accepts_unix_connections(const std::string& path) {
    namespace asio = boost::asio;
    asio::io_context io;
    asio::local::stream_protocol::socket socket(io);
    boost::system::error_code error;
    socket.connect(asio::local::stream_protocol::endpoint(path), error);
    return !error;
}

inline bool accepts_connections(unsigned short port) {
    namespace asio = boost::asio;
    asio::io_context io;
    asio::ip::tcp::socket socket(io);
    boost::system::error_code error;
    socket.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port), error);
    return !error;
}

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

inline std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t count = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1))
        ++count;
    return count;
}

// The server's reply to the first client line of a swaks transcript starting with `command`
// (" -> MAIL FROM:..." is followed by "<-  250 ..." or "<** 550 ..."), without the arrow;
// "" when swaks never sent it.
inline std::string reply_to(const std::string& transcript, const std::string& command) {
    std::istringstream lines(transcript);
    bool sent = false;
    for (std::string line; std::getline(lines, line);) {
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (!sent && line.starts_with(" -> " + command))
            sent = true;
        else if (sent && (line.starts_with("<-  ") || line.starts_with("<** ")))
            return line.substr(4);
    }
    return "";
}

} // namespace mailwarden::test
