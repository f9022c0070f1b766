// See server.hh. One coroutine-free read loop per connection: read lines until the empty
// line that ends a request, answer, repeat; the connection stays open for the next request.
#include "policy/server.hh"

#include "util/log.hh"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <map>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace mailwarden::policy {

namespace asio = boost::asio;

namespace {

using Attributes = std::map<std::string, std::string, std::less<>>;

std::string attribute(const Attributes& attributes, std::string_view name) {
    const auto it = attributes.find(name);
    return it == attributes.end() ? std::string() : it->second;
}

void log_request(const Attributes& attributes, std::string_view action) {
    std::string queue_id = attribute(attributes, "queue_id");
    util::LogRecord(util::Severity::info)
        .text((queue_id.empty() ? std::string("NOQUEUE") : queue_id) + ":")
        .kv("state", attribute(attributes, "protocol_state"))
        .kv("client", attribute(attributes, "client_name") + "[" +
                          attribute(attributes, "client_address") + "]")
        .kv("from", "<" + attribute(attributes, "sender") + ">")
        .kv("to", "<" + attribute(attributes, "recipient") + ">")
        .kv("action", action);
}

template <typename Socket>
class Connection : public std::enable_shared_from_this<Connection<Socket>> {
public:
    explicit Connection(Socket socket) : socket_(std::move(socket)), input_(max_request_bytes) {}

    void read_line() {
        asio::async_read_until(
            socket_, input_, '\n',
            [self = this->shared_from_this()](boost::system::error_code error, std::size_t length) {
                self->on_line(error, length);
            });
    }

private:
    void on_line(boost::system::error_code error, std::size_t length) {
        if (error) {
            if (error == asio::error::not_found)
                util::LogRecord(util::Severity::warning)
                    .text("request too large, closing connection")
                    .kv("limit", max_request_bytes);
            return; // the connection closes when the last handler drops it
        }
        std::string line(asio::buffers_begin(input_.data()),
                         asio::buffers_begin(input_.data()) + length);
        input_.consume(length);
        line.pop_back();
        if (!line.empty() && line.back() == '\r')
            line.pop_back();
        if (!line.empty()) {
            const auto equals = line.find('=');
            if (equals != std::string::npos)
                attributes_[line.substr(0, equals)] = line.substr(equals + 1);
            read_line();
            return;
        }
        answer("DUNNO");
    }

    void answer(std::string_view action) {
        log_request(attributes_, action);
        attributes_.clear();
        reply_ = "action=" + std::string(action) + "\n\n";
        asio::async_write(
            socket_, asio::buffer(reply_),
            [self = this->shared_from_this()](boost::system::error_code error, std::size_t) {
                if (!error)
                    self->read_line();
            });
    }

    Socket socket_;
    asio::streambuf input_;
    Attributes attributes_;
    std::string reply_;
};

template <typename Acceptor> void accept_loop(Acceptor& acceptor) {
    acceptor.async_accept([&acceptor](boost::system::error_code error, auto socket) {
        if (error == asio::error::operation_aborted)
            return;
        if (!error)
            std::make_shared<Connection<decltype(socket)>>(std::move(socket))->read_line();
        accept_loop(acceptor);
    });
}

} // namespace

struct Server::Impl {
    explicit Impl(asio::io_context& io) : tcp(io), local(io) {}
    asio::ip::tcp::acceptor tcp;
    asio::local::stream_protocol::acceptor local;
    std::string unix_path;
};

Server::Server(asio::io_context& io, const util::SocketSpec& spec,
               const config::ConfigHolder& /*holder*/)
    : impl_(std::make_unique<Impl>(io)) {
    if (spec.kind == util::SocketSpec::Kind::unix_path) {
        ::unlink(spec.path.c_str()); // a stale socket from an earlier run
        impl_->local = asio::local::stream_protocol::acceptor(
            io, asio::local::stream_protocol::endpoint(spec.path));
        impl_->unix_path = spec.path;
        accept_loop(impl_->local);
        return;
    }
    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(spec.address), spec.port);
    impl_->tcp = asio::ip::tcp::acceptor(io, endpoint, /*reuse_address=*/true);
    accept_loop(impl_->tcp);
}

Server::~Server() {
    if (!impl_->unix_path.empty())
        ::unlink(impl_->unix_path.c_str());
}

} // namespace mailwarden::policy
