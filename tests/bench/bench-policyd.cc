// bench-policyd: a load client for mailwarden-policyd. Opens C connections to a running daemon
// (unix socket), each sending RCPT requests one after the other (a new message instance each
// time, so every request evaluates SPF - from the resolver's warm cache - and the rate limits
// in the state store) for S seconds, and reports requests per second, latency percentiles and
// its own CPU time per request (the client's share of the machine).
// Bounded: at most 60 s and 10 million requests. tests/bench/policyd-bench.sh starts the daemon.
//
// With --idle-gap-ms G, each connection waits G ms between requests, so that every request
// meets an idle connection and an idle server: the latency of one request, not throughput.
//
// usage: bench-policyd --socket PATH [--connections C] [--seconds S] [--idle-gap-ms G]
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) try {
    std::string socket_path;
    int connections = 100;
    double seconds = 5;
    std::chrono::milliseconds idle_gap{0};
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string name = argv[i];
        if (name == "--socket")
            socket_path = argv[i + 1];
        else if (name == "--connections")
            connections = std::clamp(std::stoi(argv[i + 1]), 1, 1000);
        else if (name == "--seconds")
            seconds = std::clamp(std::stod(argv[i + 1]), 0.5, 60.0);
        else if (name == "--idle-gap-ms")
            idle_gap = std::chrono::milliseconds(std::clamp(std::stoi(argv[i + 1]), 0, 1000));
        else
            throw std::invalid_argument("unknown option " + name);
    }
    if (socket_path.empty())
        throw std::invalid_argument("--socket PATH is required");

    std::atomic<long> total{0};
    std::atomic<bool> failed{false};
    std::mutex latencies_lock;
    std::vector<double> latencies; // microseconds
    const auto stop = Clock::now() + std::chrono::duration<double>(seconds);
    std::vector<std::thread> clients;
    for (int c = 0; c < connections; ++c)
        clients.emplace_back([&, c] {
            asio::io_context io;
            asio::local::stream_protocol::socket socket(io);
            socket.connect(asio::local::stream_protocol::endpoint(socket_path));
            asio::streambuf buffer;
            std::vector<double> mine;
            for (long n = 0; Clock::now() < stop && total < 10'000'000; ++n) {
                if (idle_gap.count() > 0)
                    std::this_thread::sleep_for(idle_gap);
                const std::string request =
                    "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
                    "client_address=192.0.2." +
                    std::to_string(c % 250) +
                    "\nclient_name=mx.client.test\nhelo_name=mx.client.test\n"
                    "sender=a@pass.test\nrecipient=b" +
                    std::to_string(n) + "@x.test\ninstance=" + std::to_string(c) + "." +
                    std::to_string(n) + "\n\n";
                const auto start = Clock::now();
                asio::write(socket, asio::buffer(request));
                const std::size_t length = asio::read_until(socket, buffer, "\n\n");
                const std::string reply(asio::buffers_begin(buffer.data()),
                                        asio::buffers_begin(buffer.data()) + length);
                buffer.consume(length);
                mine.push_back(
                    std::chrono::duration<double, std::micro>(Clock::now() - start).count());
                if (!reply.starts_with("action=PREPEND Received-SPF: pass"))
                    failed = true;
                ++total;
            }
            const std::lock_guard lock(latencies_lock);
            latencies.insert(latencies.end(), mine.begin(), mine.end());
        });
    const auto start = Clock::now();
    for (auto& client : clients)
        client.join();
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    std::sort(latencies.begin(), latencies.end());
    auto percentile = [&](double p) {
        return latencies.empty()
                   ? 0.0
                   : latencies[std::min(latencies.size() - 1,
                                        static_cast<std::size_t>(p * latencies.size()))];
    };
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    const double client_cpu =
        static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
        static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
    std::printf("policyd: %ld requests in %.2f s over %d connections: %.0f requests/s; latency "
                "p50 %.0f us, p99 %.0f us, max %.0f us%s\n",
                total.load(), elapsed, connections, total / elapsed, percentile(0.50),
                percentile(0.99), latencies.empty() ? 0.0 : latencies.back(),
                failed ? " (SOME ANSWERS WERE NOT 'PREPEND Received-SPF: pass')" : "");
    std::printf("client CPU: %.1f us per request\n",
                total > 0 ? 1e6 * client_cpu / static_cast<double>(total.load()) : 0.0);
    return failed ? 1 : 0;
} catch (const std::exception& error) {
    std::fprintf(stderr, "bench-policyd: %s\n", error.what());
    return 2;
}
