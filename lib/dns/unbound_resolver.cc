// make_unbound_resolver(): the production Resolver on one shared libunbound context.
// Parameters: dns_servers (UnboundOptions::servers, forwarders "ADDR" or "ADDR@PORT"; empty =
// /etc/resolv.conf), dns_timeout (UnboundOptions::timeout), dnssec (+ trust_anchor_file).
// Threads: callers submit with ub_resolve_async; one event thread (started by the first
// query, so that a daemon may fork to detach after making its resolver) polls ub_fd(), runs
// ub_process() (which calls our callback) and cancels queries past their deadline, so every
// `done` runs on that thread, exactly once. Failures: bad options throw std::runtime_error at
// construction; everything after that is an Answer status, never an exception.
// timeout vs servfail: Status::timeout means our deadline passed first. libunbound reports a
// forwarder that never answers as SERVFAIL (rcode 2, indistinguishable from an upstream
// SERVFAIL) once its own retries are exhausted (about 17 s with 1.17's defaults, so only
// when dns_timeout is longer than that) and, for a short while, after repeated timeouts for
// the same name. Callers treat both as the same failure class (on_dns_error).
#include "dns/answer_cache.hh"
#include "dns/resolver.hh"
#include "dns/wire.hh"
#include "util/socket_spec.hh"

#include <poll.h>
#include <sys/eventfd.h>
#include <unbound.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstdio>

#include <condition_variable>
#include <future>
#include <list>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>
#include <utility>

namespace mailwarden::dns {
namespace {

struct ContextDeleter {
    void operator()(ub_ctx* context) const { ub_ctx_delete(context); }
};
struct ResultDeleter {
    void operator()(ub_result* result) const { ub_resolve_free(result); }
};
using ContextPtr = std::unique_ptr<ub_ctx, ContextDeleter>;
using ResultPtr = std::unique_ptr<ub_result, ResultDeleter>;
using Clock = std::chrono::steady_clock;

class FileDescriptor {
public:
    explicit FileDescriptor(int fd = -1) : fd_(fd) {}
    FileDescriptor(FileDescriptor&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
    FileDescriptor& operator=(FileDescriptor&&) = delete;
    ~FileDescriptor() {
        if (fd_ >= 0)
            ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

void set_option(ub_ctx* context, const char* option, const std::string& value) {
    if (int err = ub_ctx_set_option(context, option, value.c_str()); err != 0)
        throw std::runtime_error(std::string("libunbound rejected option ") + option + " " + value +
                                 ": " + ub_strerror(err));
}

ContextPtr make_context(const UnboundOptions& options) {
    if (options.timeout <= std::chrono::milliseconds(0))
        throw std::runtime_error("dns_timeout must be positive");
    for (const std::string& server : options.servers)
        if (!util::parse_server_address(server))
            throw std::runtime_error("dns_servers: '" + server.substr(0, 100) +
                                     "' is not an IP address with optional @PORT "
                                     "(e.g. 192.0.2.53 or 127.0.0.1@5353)");
    ContextPtr context(ub_ctx_create());
    if (!context)
        throw std::runtime_error("libunbound: cannot create a context");
    if (int err = ub_ctx_async(context.get(), 1); err != 0)
        throw std::runtime_error(std::string("libunbound: ub_ctx_async: ") + ub_strerror(err));
    // Forwarders on loopback (a local cache, the test responder) must be reachable.
    set_option(context.get(), "do-not-query-localhost:", "no");
    // A forwarder that ignores one name must not be treated as down for all the others.
    // Measured with libunbound 1.17 against mw-testdnsd (TIMEOUT directive): with the
    // defaults, normal queries keep answering at once after many cancelled timeouts. Do NOT
    // lower infra-cache-max-rtt to our timeout: the forwarder's RTO then reaches the cap
    // after a few timeouts, unbound marks it unusable and SERVFAILs unrelated names.
    // infra-keep-probing makes unbound keep probing a forwarder it believes down instead of
    // failing every query for infra-host-ttl (900 s); with a single forwarder that is the
    // only sensible choice.
    set_option(context.get(), "infra-keep-probing:", "yes");
    // Answers keep the server's record order: libunbound otherwise rotates cached RRsets,
    // and SPF's "first 10 PTR names" (RFC 7208 §4.6.4) would change from query to query.
    set_option(context.get(), "rrset-roundrobin:", "no");
    // "transparent" with no local data resolves normally; "nodefault" is ignored when set
    // through ub_ctx_set_option (libunbound 1.17).
    if (options.forward_documentation_zones) {
        for (const char* zone : {"test.", "2.0.192.in-addr.arpa.", "100.51.198.in-addr.arpa.",
                                 "113.0.203.in-addr.arpa.", "8.b.d.0.1.0.0.2.ip6.arpa.",
                                 "10.in-addr.arpa.", "168.192.in-addr.arpa."})
            set_option(context.get(), "local-zone:", std::string(zone) + " transparent");
        for (int octet = 16; octet <= 31; ++octet) // 172.16.0.0/12 (RFC 1918)
            set_option(context.get(),
                       "local-zone:", std::to_string(octet) + ".172.in-addr.arpa. transparent");
    }
    if (options.dnssec) {
        set_option(context.get(), "module-config:", "validator iterator");
        // libunbound only reads the file when the first query finalizes the context.
        if (::access(options.trust_anchor_file.c_str(), R_OK) != 0)
            throw std::runtime_error("dnssec: cannot read trust anchor file '" +
                                     options.trust_anchor_file + "'");
        if (int err = ub_ctx_add_ta_file(context.get(), options.trust_anchor_file.c_str()))
            throw std::runtime_error("dnssec: cannot use trust anchor file '" +
                                     options.trust_anchor_file + "': " + ub_strerror(err));
    } else {
        set_option(context.get(), "module-config:", "iterator");
    }
    for (const std::string& server : options.servers)
        if (int err = ub_ctx_set_fwd(context.get(), server.c_str()); err != 0)
            throw std::runtime_error("dns_servers: libunbound rejected '" + server +
                                     "': " + ub_strerror(err));
    if (options.servers.empty())
        if (int err = ub_ctx_resolvconf(context.get(), nullptr); err != 0)
            throw std::runtime_error(std::string("dns_servers is empty and the system "
                                                 "resolver configuration cannot be read: ") +
                                     ub_strerror(err));
    return context;
}

// Status and records from libunbound's result. DNSSEC-bogus counts as servfail, like a
// validating resolver would answer; REFUSED and other rcodes too, with the rcode in the text.
Answer answer_from_result(const ub_result& result, RrType type) {
    Answer answer;
    answer.secure = result.secure != 0;
    if (result.bogus) {
        answer.status = Status::servfail;
        answer.error_text = "DNSSEC validation failed: " +
                            escape_for_log(result.why_bogus ? result.why_bogus : "bogus");
        return answer;
    }
    // libunbound's own TTL of a negative answer is arbitrary without an SOA in the reply
    // (32768 s was seen), so the negative TTL is read from the reply's SOA (RFC 2308).
    const auto soa_ttl = [&result] {
        const auto ttl = negative_ttl(static_cast<const unsigned char*>(result.answer_packet),
                                      std::size_t(std::max(result.answer_len, 0)));
        return std::chrono::seconds(ttl.value_or(0));
    };
    if (result.rcode == 3 || result.nxdomain) {
        answer.status = Status::nxdomain;
        answer.error_text = "name does not exist";
        answer.ttl = soa_ttl();
        return answer;
    }
    if (result.rcode != 0) {
        answer.status = Status::servfail;
        answer.error_text = "server failure (rcode " + std::to_string(result.rcode) + ")";
        return answer;
    }
    if (!result.havedata || !result.data || !result.len) {
        answer.status = Status::nodata;
        answer.error_text = "no records of this type";
        answer.ttl = soa_ttl();
        return answer;
    }
    for (std::size_t i = 0; result.data[i] != nullptr; ++i) {
        std::string why;
        auto record = decode_rdata(type, reinterpret_cast<const unsigned char*>(result.data[i]),
                                   std::size_t(std::max(result.len[i], 0)), why);
        if (!record) {
            answer.status = Status::error;
            answer.records.clear();
            answer.error_text = "malformed " + rr_type_name(type) + " record: " + why;
            return answer;
        }
        answer.records.push_back(std::move(*record));
    }
    answer.status = Status::ok;
    answer.ttl = std::chrono::seconds(std::max(result.ttl, 0));
    return answer;
}

// One submitted query. Owned by the engine's list until `done` has been called.
struct Pending {
    std::string name;
    RrType type;
    std::function<void(Answer)> done;
    Clock::time_point deadline;
    std::optional<int> async_id; // set once ub_resolve_async returned
    class Engine* engine = nullptr;
};

class Engine {
public:
    explicit Engine(const UnboundOptions& options)
        : context_(make_context(options)), timeout_(options.timeout),
          wake_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
        if (wake_.get() < 0)
            throw std::runtime_error("dns resolver: eventfd failed");
    }
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    ~Engine() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake();
        if (thread_.joinable())
            thread_.join();
        // Whatever is still outstanding is answered now, so `done` still runs exactly once.
        for (Pending& pending : pending_) {
            if (pending.async_id)
                ub_cancel(context_.get(), *pending.async_id);
            pending.done(failure(Status::error, "resolver shut down"));
        }
    }

    void submit(std::string_view name, RrType type, std::function<void(Answer)> done);
    std::chrono::milliseconds timeout() const { return timeout_; }

private:
    static void on_result(void* argument, int err, ub_result* raw_result);
    static Answer failure(Status status, std::string why) {
        Answer answer;
        answer.status = status;
        answer.error_text = std::move(why);
        return answer;
    }
    void wake() {
        std::uint64_t one = 1;
        [[maybe_unused]] auto ignored = ::write(wake_.get(), &one, sizeof one);
    }
    void run();
    int poll_timeout_ms();
    void expire_overdue();
    void finish(Pending* pending, Answer answer);

    ContextPtr context_;
    std::chrono::milliseconds timeout_;
    FileDescriptor wake_;
    std::mutex mutex_;
    std::list<Pending> pending_; // guarded by mutex_; stable addresses for the callback arg
    bool stopping_ = false;      // guarded by mutex_
    std::thread thread_;         // started under mutex_ by the first submit()
};

// libunbound parses the name as presentation text: bytes other than letters, digits, '-',
// '_' and the dots between labels (spaces, '%', '"', ';'... legal in DNS labels and used by
// SPF macro expansion) are written as \DDD.
std::string presentation_name(std::string_view name) {
    std::string text;
    text.reserve(name.size());
    for (char c : name) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) || c == '-' || c == '_' || c == '.') {
            text += c;
        } else {
            char escaped[8];
            std::snprintf(escaped, sizeof escaped, "\\%03u", byte);
            text += escaped;
        }
    }
    return text;
}

void Engine::submit(std::string_view name, RrType type, std::function<void(Answer)> done) {
    Pending* pending = nullptr;
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            done(failure(Status::error, "resolver shut down"));
            return;
        }
        pending_.push_back({std::string(name), type, std::move(done), Clock::now() + timeout_,
                            std::nullopt, this});
        pending = &pending_.back();
        // Started by the first query, not with the resolver: a daemon makes its resolver and
        // then detaches (fork), which would leave a thread started earlier in the parent and
        // every query of the detached process without an answer.
        if (!thread_.joinable())
            thread_ = std::thread([this] { run(); });
    }
    // The name is passed as text to libunbound, which parses it; our copy stays for logs.
    int async_id = 0;
    const std::string wire_text = presentation_name(pending->name);
    int err = ub_resolve_async(context_.get(), wire_text.c_str(), int(type), 1 /* IN */, pending,
                               &Engine::on_result, &async_id);
    std::unique_lock lock(mutex_);
    if (err != 0) {
        auto it = std::find_if(pending_.begin(), pending_.end(),
                               [&](const Pending& p) { return &p == pending; });
        auto callback = std::move(it->done);
        pending_.erase(it);
        lock.unlock();
        callback(failure(Status::error, std::string("cannot submit query: ") + ub_strerror(err)));
        return;
    }
    // The answer may already have come back and `pending` be gone.
    if (std::any_of(pending_.begin(), pending_.end(),
                    [&](const Pending& p) { return &p == pending; }))
        pending->async_id = async_id;
    lock.unlock();
    wake(); // the event thread recomputes its poll timeout
}

void Engine::finish(Pending* pending, Answer answer) {
    std::function<void(Answer)> done;
    {
        std::lock_guard lock(mutex_);
        auto it = std::find_if(pending_.begin(), pending_.end(),
                               [&](const Pending& p) { return &p == pending; });
        if (it == pending_.end())
            return; // already answered
        done = std::move(it->done);
        pending_.erase(it);
    }
    done(std::move(answer));
}

void Engine::on_result(void* argument, int err, ub_result* raw_result) {
    ResultPtr result(raw_result);
    auto* pending = static_cast<Pending*>(argument);
    Answer answer = err != 0
                        ? failure(Status::error, std::string("libunbound: ") + ub_strerror(err))
                        : answer_from_result(*result, pending->type);
    pending->engine->finish(pending, std::move(answer));
}

int Engine::poll_timeout_ms() {
    std::lock_guard lock(mutex_);
    if (pending_.empty())
        return -1;
    auto earliest = pending_.front().deadline; // same timeout for all: oldest expires first
    auto left = std::chrono::ceil<std::chrono::milliseconds>(earliest - Clock::now());
    // At least 1 ms: an overdue query whose answer is already on its way (cancel failed)
    // must not turn this loop into a busy spin.
    return int(std::max<long>(left.count(), 1));
}

void Engine::expire_overdue() {
    std::vector<std::function<void(Answer)>> expired;
    {
        std::lock_guard lock(mutex_);
        auto now = Clock::now();
        for (auto it = pending_.begin(); it != pending_.end() && it->deadline <= now;) {
            // Not yet submitted (no id), or libunbound already holds the answer for us
            // (cancel fails): then the callback comes shortly; leave it.
            if (!it->async_id || ub_cancel(context_.get(), *it->async_id) != 0) {
                ++it;
                continue;
            }
            expired.push_back(std::move(it->done));
            it = pending_.erase(it);
        }
    }
    for (auto& done : expired)
        done(failure(Status::timeout,
                     "no answer within dns_timeout (" + std::to_string(timeout_.count()) + " ms)"));
}

void Engine::run() {
    for (;;) {
        {
            std::lock_guard lock(mutex_);
            if (stopping_)
                return;
        }
        pollfd fds[2] = {{ub_fd(context_.get()), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
        int ready = ::poll(fds, 2, poll_timeout_ms());
        if (ready > 0 && (fds[1].revents & POLLIN)) {
            std::uint64_t count = 0;
            [[maybe_unused]] auto ignored = ::read(wake_.get(), &count, sizeof count);
        }
        if (ready > 0 && (fds[0].revents & POLLIN))
            ub_process(context_.get());
        expire_overdue();
    }
}

class UnboundResolver final : public Resolver {
public:
    explicit UnboundResolver(const UnboundOptions& options)
        : engine_(std::make_unique<Engine>(options)) {}
    UnboundResolver(UnboundResolver&&) noexcept = default;
    UnboundResolver& operator=(UnboundResolver&&) noexcept = default;

    Answer query(std::string_view name, RrType type) override {
        auto promise = std::make_shared<std::promise<Answer>>();
        auto future = promise->get_future();
        engine_->submit(name, type,
                        [promise](Answer answer) { promise->set_value(std::move(answer)); });
        // The event thread enforces the deadline; the margin only guards against a stall.
        if (future.wait_for(engine_->timeout() + std::chrono::milliseconds(500)) !=
            std::future_status::ready) {
            Answer answer;
            answer.status = Status::timeout;
            answer.error_text = "resolver event loop did not answer in time";
            return answer;
        }
        return future.get();
    }

    void query_async(std::string_view name, RrType type,
                     std::function<void(Answer)> done) override {
        engine_->submit(name, type, std::move(done));
    }

private:
    std::unique_ptr<Engine> engine_; // behind a pointer: its thread holds its address
};

} // namespace

std::unique_ptr<Resolver> make_unbound_resolver(const UnboundOptions& options) {
    auto resolver = std::make_unique<UnboundResolver>(options);
    if (!options.cache.enabled())
        return resolver;
    return make_caching_resolver(std::move(resolver), options.cache);
}

} // namespace mailwarden::dns
