// See server.hh. Each connection chains its own operations (read, decide, write, read...), so
// it needs no strand: at most one of its handlers is pending at any time.
#include "policy/server.hh"

#include "util/log.hh"

#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>
#include <deque>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

namespace mailwarden::policy {

namespace asio = boost::asio;

namespace {

// The configured answer to a request that breaks the protocol.
std::string default_action(const engine::EngineHolder& engines) {
    return engines.current()->config().string("policy_default_action");
}

void log_protocol_error(const std::string& error) {
    util::LogRecord(util::Severity::warning)
        .text("policy request refused, closing the connection")
        .kv("error", error);
}

template <typename Socket>
class Connection : public std::enable_shared_from_this<Connection<Socket>> {
public:
    Connection(Socket socket, const engine::EngineHolder& engines, asio::thread_pool& pool)
        : socket_(std::move(socket)), engines_(engines), pool_(pool), session_(engines) {}

    void read() {
        socket_.async_read_some(
            asio::buffer(buffer_),
            [self = this->shared_from_this()](boost::system::error_code error, std::size_t length) {
                if (!error) // a client gone mid-request leaves nothing behind
                    self->on_data(std::string_view(self->buffer_.data(), length));
            });
    }

private:
    void on_data(std::string_view data) {
        while (!data.empty()) {
            PolicyRequest request;
            std::string error;
            const auto status = parser_.feed(data, &request, &error);
            if (status == RequestParser::Status::error) {
                log_protocol_error(error);
                closing_ = true;
                pending_.clear();
                write(format_reply(default_action(engines_)));
                return;
            }
            if (status == RequestParser::Status::complete)
                pending_.push_back(std::move(request));
        }
        next();
    }

    // Decides the next pending request on the pool, or reads more.
    void next() {
        if (pending_.empty())
            return read();
        asio::post(pool_, [self = this->shared_from_this()] {
            PolicyRequest request = std::move(self->pending_.front());
            self->pending_.pop_front();
            const PolicyAnswer answer = self->session_.answer(request);
            log_answer(request, answer);
            asio::post(self->socket_.get_executor(),
                       [self, reply = format_reply(answer.action)]() mutable {
                           self->write(std::move(reply));
                       });
        });
    }

    void write(std::string reply) {
        reply_ = std::move(reply);
        asio::async_write(
            socket_, asio::buffer(reply_),
            [self = this->shared_from_this()](boost::system::error_code error, std::size_t) {
                if (!error && !self->closing_)
                    self->next();
            });
    }

    Socket socket_;
    const engine::EngineHolder& engines_;
    asio::thread_pool& pool_;
    PolicySession session_;
    RequestParser parser_;
    std::array<char, 8192> buffer_{};
    std::deque<PolicyRequest> pending_;
    std::string reply_;
    bool closing_ = false;
};

template <typename Acceptor>
void accept_loop(Acceptor& acceptor, const engine::EngineHolder& engines, asio::thread_pool& pool) {
    acceptor.async_accept(
        [&acceptor, &engines, &pool](boost::system::error_code error, auto socket) {
            if (error == asio::error::operation_aborted)
                return;
            if (!error)
                std::make_shared<Connection<decltype(socket)>>(std::move(socket), engines, pool)
                    ->read();
            accept_loop(acceptor, engines, pool);
        });
}

std::string first_word(std::string_view text) {
    return std::string(text.substr(0, text.find(' ')));
}

} // namespace

void log_answer(const PolicyRequest& request, const PolicyAnswer& answer) {
    const std::string queue_id = request.get("queue_id");
    util::LogRecord record(util::Severity::info);
    record.text((queue_id.empty() ? std::string("NOQUEUE") : queue_id) + ":")
        .kv("state", request.get("protocol_state"))
        .kv("client", request.get("client_name") + "[" + request.get("client_address") + "]")
        .kv("from", "<" + request.get("sender") + ">")
        .kv("to", "<" + request.get("recipient") + ">");
    if (!answer.spf.empty())
        record.kv("spf", answer.spf);
    if (!answer.rate.empty())
        record.kv("rate", answer.rate);
    record.kv("action", first_word(answer.action)).kv("reason", answer.verdict.reason);
    record.kv("ms", engine::timing_field(answer.ms, answer.timing));
}

struct Server::Impl {
    explicit Impl(asio::io_context& io) : tcp(io), local(io), pool(decision_threads) {}
    asio::ip::tcp::acceptor tcp;
    asio::local::stream_protocol::acceptor local;
    asio::thread_pool pool;
    std::string unix_path;
};

Server::Server(asio::io_context& io, const util::SocketSpec& spec,
               const engine::EngineHolder& engines)
    : impl_(std::make_unique<Impl>(io)) {
    if (spec.kind == util::SocketSpec::Kind::unix_path) {
        ::unlink(spec.path.c_str()); // a stale socket from an earlier run
        impl_->local = asio::local::stream_protocol::acceptor(
            io, asio::local::stream_protocol::endpoint(spec.path));
        impl_->unix_path = spec.path;
        accept_loop(impl_->local, engines, impl_->pool);
        return;
    }
    const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(spec.address), spec.port);
    impl_->tcp = asio::ip::tcp::acceptor(io, endpoint, /*reuse_address=*/true);
    accept_loop(impl_->tcp, engines, impl_->pool);
}

Server::~Server() {
    if (!impl_->unix_path.empty())
        ::unlink(impl_->unix_path.c_str());
}

void Server::join() {
    impl_->pool.join();
}

namespace {

bool write_all(int fd, std::string_view text) {
    while (!text.empty()) {
        const ssize_t written = ::write(fd, text.data(), text.size());
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return false;
        text.remove_prefix(static_cast<std::size_t>(written));
    }
    return true;
}

} // namespace

int serve_stream(int in_fd, int out_fd, const engine::EngineHolder& engines) {
    RequestParser parser;
    PolicySession session(engines);
    std::array<char, 8192> buffer{};
    for (;;) {
        const ssize_t length = ::read(in_fd, buffer.data(), buffer.size());
        if (length < 0 && errno == EINTR)
            continue;
        if (length <= 0)
            return 0;
        std::string_view data(buffer.data(), static_cast<std::size_t>(length));
        while (!data.empty()) {
            PolicyRequest request;
            std::string error;
            const auto status = parser.feed(data, &request, &error);
            if (status == RequestParser::Status::error) {
                log_protocol_error(error);
                (void)write_all(out_fd, format_reply(default_action(engines)));
                return 1;
            }
            if (status == RequestParser::Status::complete) {
                const PolicyAnswer answer = session.answer(request);
                log_answer(request, answer);
                if (!write_all(out_fd, format_reply(answer.action)))
                    return 1;
            }
        }
    }
}

} // namespace mailwarden::policy
