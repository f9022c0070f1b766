// mw-testdnsd: a small authoritative DNS responder for tests. Serves the records of zone
// files (format: lib/dns/zone_file.hh) over UDP and TCP on 127.0.0.1 only, honours EDNS0,
// sets TC when a UDP answer does not fit, and simulates failures with the TIMEOUT (no answer)
// and SERVFAIL directives. TXT queries for NAME.queries.mw-testdnsd answer how many queries
// for NAME it has received (TTL 0), so tests can prove caching.
// Usage: mw-testdnsd [-p PORT] [--port-file FILE] [--pid-file FILE] -z ZONEFILE...
// Malformed packets get FORMERR or are dropped; the process never exits on bad input.
// SIGTERM/SIGINT: exit 0. Exit 2 on bad usage or a bad zone, 1 when it cannot bind.
#include "dns/wire.hh"
#include "dns/zone_file.hh"

#include <cctype>

#include <utility> // before Asio: Boost 1.74 awaitable.hpp needs std::exchange

#include <boost/asio.hpp>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>

namespace asio = boost::asio;
using asio::ip::tcp;
using asio::ip::udp;
using namespace mailwarden::dns;

namespace {

constexpr std::size_t header_size = 12;
constexpr std::uint16_t type_opt = 41;
constexpr std::uint16_t our_udp_size = 4096;
constexpr std::string_view count_suffix = ".queries.mw-testdnsd";

enum Rcode : std::uint16_t { noerror = 0, formerr = 1, servfail = 2, nxdomain = 3, notimp = 4 };

std::uint16_t get_u16(const std::string& packet, std::size_t offset) {
    return std::uint16_t((std::uint8_t(packet[offset]) << 8) | std::uint8_t(packet[offset + 1]));
}

// Skips a (possibly compressed) name; false if it runs past the packet.
bool skip_name(const std::string& packet, std::size_t& offset) {
    while (offset < packet.size()) {
        auto length = std::uint8_t(packet[offset]);
        if ((length & 0xc0) == 0xc0)
            return (offset += 2) <= packet.size();
        if (length > 63)
            return false;
        offset += 1 + length;
        if (length == 0)
            return offset <= packet.size();
    }
    return false;
}

struct Query {
    std::uint16_t id = 0;
    bool recursion_desired = false;
    std::string question; // the question section as received, echoed back verbatim
    std::string name;     // lowercase, no trailing dot
    std::uint16_t type = 0;
    bool edns = false;
    std::uint16_t edns_udp_size = 512;
    std::uint8_t edns_version = 0;
};

// decode_name's presentation form back to the label bytes the zone stores ("\\032" is a
// space): zones hold names like the SPF suite's "a b.example.com" as raw bytes.
std::string unescape_name(const std::string& text) {
    std::string bytes;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\\' || i + 1 == text.size()) {
            bytes += text[i];
        } else if (i + 3 < text.size() && std::isdigit(static_cast<unsigned char>(text[i + 1])) &&
                   std::isdigit(static_cast<unsigned char>(text[i + 2])) &&
                   std::isdigit(static_cast<unsigned char>(text[i + 3]))) {
            bytes += static_cast<char>(std::stoi(text.substr(i + 1, 3)));
            i += 3;
        } else if (text[i + 1] == '.') {
            bytes += '\\'; // an escaped dot inside a label cannot be stored; keep it visible
            bytes += '.';
            ++i;
        } else {
            bytes += text[++i];
        }
    }
    return bytes;
}

// Parses the header, the one question (uncompressed name) and an optional OPT record.
std::optional<Query> parse_query(const std::string& packet, Rcode& rcode) {
    Query query;
    query.id = get_u16(packet, 0);
    std::uint16_t flags = get_u16(packet, 2);
    query.recursion_desired = flags & 0x0100;
    rcode = formerr;
    if (((flags >> 11) & 0xf) != 0) {
        rcode = notimp;
        return std::nullopt;
    }
    if (get_u16(packet, 4) != 1 || get_u16(packet, 6) != 0 || get_u16(packet, 8) != 0)
        return std::nullopt;
    std::size_t offset = header_size;
    auto name =
        decode_name(reinterpret_cast<const unsigned char*>(packet.data()), packet.size(), offset);
    if (!name || offset + 4 > packet.size())
        return std::nullopt;
    query.name = canonical_name(unescape_name(*name), true).value_or(*name);
    query.type = get_u16(packet, offset);
    if (get_u16(packet, offset + 2) != 1) { // class IN only
        rcode = notimp;
        return std::nullopt;
    }
    offset += 4;
    query.question = packet.substr(header_size, offset - header_size);
    for (std::uint16_t i = 0, count = get_u16(packet, 10); i < count; ++i) {
        if (!skip_name(packet, offset) || offset + 10 > packet.size())
            return std::nullopt;
        std::uint16_t type = get_u16(packet, offset);
        if (type == type_opt) {
            query.edns = true;
            query.edns_udp_size = std::max<std::uint16_t>(get_u16(packet, offset + 2), 512);
            query.edns_version = std::uint8_t(packet[offset + 5]);
        }
        offset += 10 + get_u16(packet, offset + 8);
        if (offset > packet.size())
            return std::nullopt;
    }
    rcode = noerror;
    return query;
}

std::string header(std::uint16_t id, bool recursion_desired, Rcode rcode, bool truncated,
                   std::uint16_t questions, std::uint16_t answers, std::uint16_t additional,
                   std::uint16_t authorities = 0) {
    std::string out;
    put_u16(out, id);
    // QR, AA, RA always; RD copied from the query.
    put_u16(out, std::uint16_t(0x8000 | 0x0400 | (truncated ? 0x0200 : 0) |
                               (recursion_desired ? 0x0100 : 0) | 0x0080 | rcode));
    put_u16(out, questions);
    put_u16(out, answers);
    put_u16(out, authorities);
    put_u16(out, additional);
    return out;
}

bool append_record(std::string& out, const std::string& owner, std::uint16_t type,
                   std::uint32_t ttl, const std::string& rdata) {
    if (!encode_name(owner, out))
        return false;
    put_u16(out, type);
    put_u16(out, 1);
    put_u32(out, ttl);
    put_u16(out, std::uint16_t(rdata.size()));
    out += rdata;
    return true;
}

std::string rdata_of(const ZoneRecord& record) {
    std::string rdata;
    unsigned char address[16];
    switch (record.type) {
    case RrType::a:
        inet_pton(AF_INET, record.text.c_str(), address);
        return std::string(reinterpret_cast<char*>(address), 4);
    case RrType::aaaa:
        inet_pton(AF_INET6, record.text.c_str(), address);
        return std::string(reinterpret_cast<char*>(address), 16);
    case RrType::txt:
    case RrType::spf:
        for (const std::string& piece : record.strings)
            rdata += char(piece.size()) + piece; // the parser capped each at 255
        return rdata;
    case RrType::soa:
        encode_name(record.text, rdata);
        encode_name(record.strings.at(0), rdata);
        for (const std::uint32_t value : record.soa_values)
            put_u32(rdata, value);
        return rdata;
    case RrType::mx:
        put_u16(rdata, record.preference);
        [[fallthrough]];
    default:
        encode_name(record.text, rdata);
        return rdata;
    }
}

class Responder {
public:
    explicit Responder(Zone zone) : zone_(std::move(zone)) {}

    // The reply to one packet, or std::nullopt to send nothing.
    std::optional<std::string> respond(const std::string& packet, bool over_tcp) {
        if (packet.size() < header_size || (packet[2] & 0x80))
            return std::nullopt; // too short to answer, or a response: drop
        Rcode rcode = noerror;
        auto query = parse_query(packet, rcode);
        if (!query)
            return header(get_u16(packet, 0), packet[2] & 1, rcode, false, 0, 0, 0);
        std::uint16_t answers = 0, authorities = 0;
        std::string body;
        if (query->edns && query->edns_version != 0) {
            rcode = noerror; // BADVERS is signalled in the OPT record below
        } else if (query->name.ends_with(count_suffix) && query->type == 16) {
            std::string counted = query->name.substr(0, query->name.size() - count_suffix.size());
            std::string count = std::to_string(query_counts_[counted]);
            answers = 1;
            append_record(body, query->name, 16, 0, char(count.size()) + count);
        } else {
            ++query_counts_[query->name];
            ZoneAnswer found = zone_.lookup(query->name, RrType(query->type));
            if (found.status == Status::timeout)
                return std::nullopt;
            rcode = found.status == Status::nxdomain   ? nxdomain
                    : found.status == Status::servfail ? servfail
                                                       : noerror;
            for (const ZoneRecord* record : found.records)
                answers += append_record(body, record->owner, std::uint16_t(record->type),
                                         record->ttl, rdata_of(*record));
            if (found.soa) // a negative answer's TTL (RFC 2308)
                authorities += append_record(body, found.soa->owner, std::uint16_t(RrType::soa),
                                             found.soa->ttl, rdata_of(*found.soa));
        }
        std::string opt;
        if (query->edns) {
            opt += '\0';
            put_u16(opt, type_opt);
            put_u16(opt, our_udp_size);
            put_u32(opt, query->edns_version != 0 ? 0x01000000 : 0); // extended rcode BADVERS
            put_u16(opt, 0);
        }
        std::size_t limit = over_tcp ? 65535 : query->edns ? query->edns_udp_size : 512;
        std::uint16_t additional = query->edns ? 1 : 0;
        std::string reply = header(query->id, query->recursion_desired, rcode, false, 1, answers,
                                   additional, authorities) +
                            query->question + body + opt;
        if (reply.size() <= limit)
            return reply;
        Rcode too_big = over_tcp ? servfail : rcode;
        return header(query->id, query->recursion_desired, too_big, !over_tcp, 1, 0, additional) +
               query->question + opt;
    }

private:
    Zone zone_;
    std::map<std::string, std::uint64_t> query_counts_; // by query name; one thread only
};

void serve_udp(udp::socket& socket, Responder& responder) {
    auto buffer = std::make_shared<std::array<char, 65535>>();
    auto peer = std::make_shared<udp::endpoint>();
    socket.async_receive_from(
        asio::buffer(*buffer), *peer,
        [&socket, &responder, buffer, peer](boost::system::error_code error, std::size_t size) {
            if (error == asio::error::operation_aborted)
                return;
            if (!error) {
                if (auto reply = responder.respond(std::string(buffer->data(), size), false)) {
                    boost::system::error_code ignored;
                    socket.send_to(asio::buffer(*reply), *peer, 0, ignored);
                }
            }
            serve_udp(socket, responder);
        });
}

// One TCP connection: length-prefixed messages until the peer closes or sends garbage.
class TcpSession : public std::enable_shared_from_this<TcpSession> {
public:
    TcpSession(tcp::socket socket, Responder& responder)
        : socket_(std::move(socket)), responder_(responder) {}

    void read_length() {
        asio::async_read(socket_, asio::buffer(length_),
                         [self = shared_from_this()](boost::system::error_code error, std::size_t) {
                             if (!error)
                                 self->read_message();
                         });
    }

private:
    void read_message() {
        message_.resize((std::uint8_t(length_[0]) << 8) | std::uint8_t(length_[1]));
        asio::async_read(socket_, asio::buffer(message_),
                         [self = shared_from_this()](boost::system::error_code error, std::size_t) {
                             if (!error)
                                 self->answer();
                         });
    }

    void answer() {
        auto reply = responder_.respond(message_, true);
        if (!reply) {
            read_length(); // TIMEOUT: stay silent but keep the connection
            return;
        }
        reply_.clear();
        put_u16(reply_, std::uint16_t(reply->size()));
        reply_ += *reply;
        asio::async_write(
            socket_, asio::buffer(reply_),
            [self = shared_from_this()](boost::system::error_code error, std::size_t) {
                if (!error)
                    self->read_length();
            });
    }

    tcp::socket socket_;
    Responder& responder_;
    std::array<char, 2> length_{};
    std::string message_;
    std::string reply_;
};

void serve_tcp(tcp::acceptor& acceptor, Responder& responder) {
    acceptor.async_accept(
        [&acceptor, &responder](boost::system::error_code error, tcp::socket socket) {
            if (error == asio::error::operation_aborted)
                return;
            if (!error)
                std::make_shared<TcpSession>(std::move(socket), responder)->read_length();
            serve_tcp(acceptor, responder);
        });
}

// Writes `content` to `path` atomically, so a harness polling for the file reads it whole.
bool write_file(const std::string& path, const std::string& content) {
    std::string temporary = path + ".tmp";
    {
        std::ofstream file(temporary, std::ios::trunc);
        if (!(file << content << '\n'))
            return false;
    }
    return std::rename(temporary.c_str(), path.c_str()) == 0;
}

struct Options {
    unsigned short port = 0;
    std::string port_file;
    std::string pid_file;
    std::vector<std::string> zone_files;
};

std::optional<Options> parse_options(int argc, char** argv) {
    Options options;
    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (i + 1 >= argc)
            return std::nullopt;
        std::string value = argv[++i];
        if (arg == "-p" || arg == "--port") {
            unsigned long port = value.find_first_not_of("0123456789") == std::string::npos &&
                                         !value.empty() && value.size() < 6
                                     ? std::stoul(value)
                                     : 65536;
            if (port > 65535)
                return std::nullopt;
            options.port = static_cast<unsigned short>(port);
        } else if (arg == "--port-file") {
            options.port_file = value;
        } else if (arg == "--pid-file") {
            options.pid_file = value;
        } else if (arg == "-z" || arg == "--zone") {
            options.zone_files.push_back(value);
        } else {
            return std::nullopt;
        }
    }
    return options;
}

// Binds UDP and TCP to the same loopback port; with port 0, retries until both get one.
bool bind_sockets(unsigned short port, udp::socket& udp_socket, tcp::acceptor& acceptor) {
    auto loopback = asio::ip::address_v4::loopback();
    for (int attempt = 0; attempt < 50; ++attempt) {
        boost::system::error_code error;
        if (udp_socket.is_open())
            udp_socket.close();
        if (acceptor.is_open())
            acceptor.close();
        udp_socket.open(udp::v4(), error);
        if (!error)
            udp_socket.bind({loopback, port}, error);
        if (error)
            return false;
        unsigned short bound = udp_socket.local_endpoint().port();
        acceptor.open(tcp::v4(), error);
        if (!error)
            acceptor.set_option(tcp::acceptor::reuse_address(true), error);
        if (!error)
            acceptor.bind({loopback, bound}, error);
        if (!error)
            acceptor.listen(asio::socket_base::max_listen_connections, error);
        if (!error)
            return true;
        if (port != 0)
            return false;
    }
    return false;
}

} // namespace

int main(int argc, char** argv) {
    auto options = parse_options(argc, argv);
    if (!options || options->zone_files.empty()) {
        std::cerr << "usage: mw-testdnsd [-p PORT] [--port-file FILE] [--pid-file FILE] "
                     "-z ZONEFILE...\n";
        return 2;
    }
    Zone zone;
    for (const std::string& file : options->zone_files) {
        if (auto error = zone.add_file(file)) {
            std::cerr << "mw-testdnsd: " << *error << "\n";
            return 2;
        }
    }
    Responder responder(std::move(zone));
    asio::io_context io;
    udp::socket udp_socket(io);
    tcp::acceptor acceptor(io);
    if (!bind_sockets(options->port, udp_socket, acceptor)) {
        std::cerr << "mw-testdnsd: cannot bind 127.0.0.1 port " << options->port << "\n";
        return 1;
    }
    unsigned short port = udp_socket.local_endpoint().port();
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&io](boost::system::error_code, int) { io.stop(); });
    if ((!options->pid_file.empty() && !write_file(options->pid_file, std::to_string(getpid()))) ||
        (!options->port_file.empty() && !write_file(options->port_file, std::to_string(port)))) {
        std::cerr << "mw-testdnsd: cannot write the pid or port file\n";
        return 1;
    }
    std::cerr << "mw-testdnsd: serving on 127.0.0.1 port " << port << "\n";
    serve_udp(udp_socket, responder);
    serve_tcp(acceptor, responder);
    io.run();
    return 0;
}
