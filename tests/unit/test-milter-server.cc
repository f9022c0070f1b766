// mailwarden-milter's protocol server against clients that miltertest cannot play: a header
// field of 100 KB in one packet (miltertest overflows its stack past 8 KB), hostile frames,
// silent connections, the connection limit, a stop with connections open. The daemon runs from
// the build directory on a unix socket with a private test DNS server; the client here speaks
// the framing by hand (milter/frame.hh), as Postfix does.
#include "child_process.hh"
#include "dkim_test_signer.hh"
#include "dns_test_server.hh"
#include "milter/frame.hh"
#include "milter_frames.hh"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace mailwarden;
using namespace mailwarden::milter;
using test::ChildProcess;
using test::eventually;
using test::frame;
using test::strings;
using test::u32;

namespace {

// One MTA connection to the daemon's unix socket.
class MtaConnection {
public:
    explicit MtaConnection(const std::string& path) {
        fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path.c_str());
        connected_ =
            ::connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
    }
    ~MtaConnection() { ::close(fd_); }
    MtaConnection(const MtaConnection&) = delete;
    MtaConnection& operator=(const MtaConnection&) = delete;

    bool connected() const { return connected_; }
    bool send(std::string_view bytes) {
        while (!bytes.empty()) {
            const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (sent <= 0)
                return false;
            bytes.remove_prefix(static_cast<std::size_t>(sent));
        }
        return true;
    }
    // The next reply frame, or none when the daemon closed the connection or sent nothing
    // within `timeout`.
    std::optional<Frame> reply(std::chrono::milliseconds timeout = 10s) {
        Frame frame;
        while (reader_.next(frame) != FrameReader::Status::frame) {
            if (!readable(timeout))
                return std::nullopt;
            const auto space = reader_.input_space();
            const ssize_t received = ::recv(fd_, space.data(), space.size(), 0);
            if (received <= 0)
                return std::nullopt;
            reader_.commit(static_cast<std::size_t>(received));
        }
        return frame;
    }
    // True when the daemon closes the connection within `timeout` (whatever it sent before).
    bool closed_within(std::chrono::milliseconds timeout) {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        char buffer[4096];
        while (std::chrono::steady_clock::now() < deadline) {
            if (!readable(std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())))
                return false;
            if (::recv(fd_, buffer, sizeof buffer, 0) <= 0)
                return true;
        }
        return false;
    }
    // Negotiates as Postfix does; true when the daemon answered.
    bool negotiate(std::chrono::milliseconds timeout = 10s) {
        if (!send(frame(command::negotiate, u32(6) + u32(0x1ff) + u32(0x1fffff))))
            return false;
        const auto answer = reply(timeout);
        return answer && answer->command == reply::negotiate;
    }

private:
    bool readable(std::chrono::milliseconds timeout) {
        pollfd watched{fd_, POLLIN, 0};
        return ::poll(&watched, 1, static_cast<int>(timeout.count())) == 1;
    }

    int fd_ = -1;
    bool connected_ = false;
    FrameReader reader_;
};

struct ServerFixture {
    ServerFixture() {
        char pattern[] = "/tmp/mw-milter-server-XXXXXX";
        dir = ::mkdtemp(pattern);
        ::chmod(dir.c_str(), 0755);
        const std::string key_record = "v=DKIM1; k=rsa; p=" + dkim_test::rsa_2048().public_base64;
        dns = test::DnsTestServer::with_zone(
            "example.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
            "_dmarc.example.test TXT \"v=DMARC1; p=reject\"\n" +
            dkim_test::txt_line("s1._domainkey.example.test", key_record) +
            // bücher.test, for internationalized mail (RFC 8616): DNS knows its A-labels only.
            "xn--bcher-kva.test TXT \"v=spf1 ip4:192.0.2.0/24 -all\"\n"
            "_dmarc.xn--bcher-kva.test TXT \"v=DMARC1; p=reject\"\n" +
            dkim_test::txt_line("s1._domainkey.xn--bcher-kva.test", key_record));
    }
    ~ServerFixture() {
        milter.reset();
        fs::remove_all(dir);
    }

    void start(const std::string& milter_lines = "") {
        std::ofstream(dir + "/mailwarden.conf")
            << "[general]\nuser = nobody\nallow_root = " << (::geteuid() == 0 ? "no" : "yes")
            << "\nauthserv_id = mx.test\ninternal_networks =\n"
            << "milter_pid_file = " << dir << "/milter.pid\n"
            << "[milter]\nmilter_socket = unix:" << socket_path() << "\n"
            << milter_lines << "[dns]\ndns_servers = " << dns->address() << "\n"
            << "[state]\nstate_path = " << dir << "/state/state.mdb\n";
        milter = std::make_unique<ChildProcess>(
            std::vector<std::string>{
                (test::build_directory() / "milter/mailwarden-milter").string(), "-f", "-c",
                dir + "/mailwarden.conf"},
            dir + "/milter.log");
        BOOST_REQUIRE_MESSAGE(
            eventually([&] { return MtaConnection(socket_path()).connected(); }, 20s),
            "mailwarden-milter does not listen:\n"
                << milter->output());
    }

    std::string socket_path() const { return dir + "/milter.sock"; }
    std::string log() const { return milter->output(); }

    // Connect and HELO as Postfix sends them, after negotiate().
    static std::string connect_and_helo() {
        return frame(command::connect, strings({"mx.client.test"}) + "4" + std::string(2, '\0') +
                                           strings({"192.0.2.10"})) +
               frame(command::helo, strings({"mx.client.test"}));
    }

    struct Delivery {
        std::string replies;  // the reply commands after MAIL, in order
        std::string inserted; // the header the milter inserted, if any
    };

    // One message after negotiate(), connect and HELO: MAIL with `mail_arguments` (the address,
    // then ESMTP parameters, as Postfix sends them), one RCPT, the DATA step, the header fields
    // and the body, as Postfix sends them; the replies up to the end of the message.
    Delivery deliver(MtaConnection& mta, std::initializer_list<std::string_view> mail_arguments,
                     const dkim_test::Message& message) const {
        Delivery delivery;
        BOOST_REQUIRE(mta.send(frame(command::mail, strings(mail_arguments))));
        const auto mail = mta.reply();
        BOOST_REQUIRE_MESSAGE(mail, "no answer to MAIL\n" << log());
        delivery.replies += mail->command;
        if (mail->command != reply::continue_)
            return delivery;
        std::string stream =
            frame(command::recipient, strings({"<bob@example.net>"})) + frame(command::data);
        for (const auto& [name, value] : message.headers) // with SMFIP_HDR_LEADSPC: value as is
            stream += frame(command::header, strings({name, value}));
        BOOST_REQUIRE(mta.send(stream));
        BOOST_REQUIRE_MESSAGE(mta.reply(), "no answer to DATA\n" << log()); // the DATA step
        BOOST_REQUIRE(mta.send(frame(command::end_of_headers) + frame(command::body, message.body) +
                               frame(command::end_of_body)));
        for (auto answer = mta.reply(); answer; answer = mta.reply()) {
            delivery.replies += answer->command;
            if (answer->command == reply::insert_header)
                delivery.inserted = std::string(answer->data);
            if (answer->command != reply::insert_header && answer->command != reply::add_header &&
                answer->command != reply::change_header)
                break; // the final answer
        }
        return delivery;
    }

    std::string dir;
    std::unique_ptr<test::DnsTestServer> dns;
    std::unique_ptr<ChildProcess> milter;
};

} // namespace

BOOST_FIXTURE_TEST_SUITE(milter_server, ServerFixture)

// Issue 13, item 6: libmilter's 64 KB packet limit dropped the connection on a longer header
// field, and the MTA's milter_default_action applied to the message.
BOOST_AUTO_TEST_CASE(a_header_field_of_100_kb_in_one_packet_is_taken) {
    start();
    dkim_test::Message message = dkim_test::sample_message();
    dkim_test::sign(message, {.key = &dkim_test::rsa_2048(), .selector = "s1"});
    std::string large; // 1060 folded lines, over 100 KB
    for (int line = 0; line < 1060; ++line)
        large += (line == 0 ? "" : "\n\t") + std::string(96, static_cast<char>('a' + line % 26));
    BOOST_REQUIRE(large.size() > 100 * 1024U);
    message.headers.emplace_back("X-Large", " " + large); // after signing

    MtaConnection mta(socket_path());
    BOOST_REQUIRE(mta.negotiate());
    BOOST_REQUIRE(mta.send(connect_and_helo()));
    const Delivery delivery = deliver(mta, {"<alice@example.test>"}, message);
    BOOST_TEST(delivery.replies == "cic", delivery.replies << "\n" << log());
    BOOST_TEST(delivery.inserted.find("dkim=pass header.d=example.test") != std::string::npos,
               delivery.inserted);
    BOOST_TEST(log().find("dkim=pass:example.test dmarc=pass") != std::string::npos, log());
}

// Issue 15, item 8 (RFC 6531, 6532, 8616): an SMTPUTF8 envelope and a From: in U-labels are
// authenticated as their A-labels (SPF, DMARC discovery, alignment with SPF and DKIM d=),
// and the header we add names A-labels only. A From: domain that is not UTF-8 is malformed:
// SPF none for such a sender, from_invalid_domain for the author.
BOOST_AUTO_TEST_CASE(an_smtputf8_envelope_and_a_u_label_author_are_authenticated) {
    start();
    const std::string u_domain = "b\xc3\xbc"
                                 "cher.test";
    dkim_test::Message message = dkim_test::sample_message("Info <info@" + u_domain + ">");
    message.headers.emplace_back("Subject", " Gr\xc3\xbc\xc3\x9f"
                                            "e"); // RFC 6532 UTF-8
    dkim_test::sign(
        message, {.key = &dkim_test::rsa_2048(), .selector = "s1", .domain = "xn--bcher-kva.test"});
    MtaConnection mta(socket_path());
    BOOST_REQUIRE(mta.negotiate());
    BOOST_REQUIRE(mta.send(connect_and_helo()));
    const std::string sender = "<j\xc3\xb6rg@" + u_domain + ">";
    const Delivery good = deliver(mta, {sender, "SMTPUTF8", "BODY=8BITMIME"}, message);
    BOOST_TEST(good.replies == "cic", good.replies << "\n" << log());
    BOOST_TEST(good.inserted.find("spf=pass smtp.mailfrom=xn--bcher-kva.test;") !=
                   std::string::npos,
               good.inserted);
    BOOST_TEST(good.inserted.find("dkim=pass header.d=xn--bcher-kva.test") != std::string::npos,
               good.inserted);
    BOOST_TEST(good.inserted.find("dmarc=pass ") != std::string::npos, good.inserted);
    BOOST_TEST(good.inserted.find(" header.from=xn--bcher-kva.test") != std::string::npos,
               good.inserted);
    BOOST_TEST(std::none_of(good.inserted.begin(), good.inserted.end(),
                            [](char c) { return static_cast<unsigned char>(c) >= 0x80; }),
               good.inserted);

    const dkim_test::Message latin1 = dkim_test::sample_message("Info <info@b\xfc"
                                                                "cher.test>");
    const Delivery refused = deliver(mta,
                                     {"<info@b\xfc"
                                      "cher.test>",
                                      "SMTPUTF8"},
                                     latin1);
    BOOST_TEST(refused.replies == "cy", refused.replies << "\n" << log());
    BOOST_TEST(log().find("spf=none") != std::string::npos, log());
    BOOST_TEST(log().find("reason=from_invalid_domain") != std::string::npos, log());
}

BOOST_AUTO_TEST_CASE(a_hostile_frame_ends_its_connection_and_the_daemon_serves_on) {
    start();
    const std::vector<std::pair<const char*, std::string>> hostile = {
        {"length 0", u32(0) + "O"},
        {"length 2 GB", u32(0x7fffffff) + "L" + std::string(1000, 'x')},
        {"MAIL before negotiation", frame(command::mail, strings({"<a@b>"}))},
        {"unknown command", frame('Z', "x")},
        {"header without its NUL", frame(command::negotiate, u32(6) + u32(0x1ff) + u32(0x1fffff)) +
                                       frame(command::header, "From")},
    };
    for (const auto& [what, bytes] : hostile) {
        MtaConnection mta(socket_path());
        BOOST_REQUIRE(mta.connected());
        BOOST_TEST(mta.send(bytes), what);
        BOOST_TEST(mta.closed_within(5s), what);
    }
    MtaConnection mta(socket_path());
    BOOST_TEST(mta.negotiate(), log());
    BOOST_TEST(milter->running());
    BOOST_TEST(log().find("milter protocol error, closing the connection") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_silent_connection_is_closed_after_milter_timeout) {
    start("milter_timeout = 1s\n");
    MtaConnection idle(socket_path());
    BOOST_REQUIRE(idle.negotiate());
    MtaConnection half(socket_path());
    BOOST_REQUIRE(half.send(u32(100) + "L" + std::string(10, 'x'))); // 10 of 100 octets
    BOOST_TEST(idle.closed_within(5s));
    BOOST_TEST(half.closed_within(5s));
    BOOST_TEST(log().find("milter connection silent for milter_timeout") != std::string::npos,
               log());
    MtaConnection next(socket_path());
    BOOST_TEST(next.negotiate());
}

BOOST_AUTO_TEST_CASE(at_milter_max_connections_a_new_connection_waits_its_turn) {
    start("milter_max_connections = 2\n");
    auto first = std::make_unique<MtaConnection>(socket_path());
    MtaConnection second(socket_path());
    BOOST_REQUIRE(first->negotiate());
    BOOST_REQUIRE(second.negotiate());
    MtaConnection third(socket_path()); // waits in the listen queue
    BOOST_REQUIRE(third.connected());
    BOOST_REQUIRE(third.send(frame(command::negotiate, u32(6) + u32(0x1ff) + u32(0x1fffff))));
    BOOST_TEST(!third.reply(1500ms));
    first.reset(); // one ends: the third is served
    const auto answer = third.reply(5s);
    BOOST_TEST((answer && answer->command == reply::negotiate), log());
    BOOST_TEST(log().find("milter_max_connections reached") != std::string::npos, log());
}

BOOST_AUTO_TEST_CASE(sigterm_with_idle_connections_open_stops_at_once) {
    start();
    std::vector<std::unique_ptr<MtaConnection>> open;
    for (int i = 0; i < 5; ++i) {
        open.push_back(std::make_unique<MtaConnection>(socket_path()));
        BOOST_REQUIRE(open.back()->negotiate());
        BOOST_REQUIRE(open.back()->send(connect_and_helo()));
    }
    milter->signal(SIGTERM);
    const auto status = milter->wait_exit(10s);
    BOOST_TEST((status && *status == 0), log());
    for (auto& connection : open)
        BOOST_TEST(connection->closed_within(1s));
}

BOOST_AUTO_TEST_SUITE_END()
