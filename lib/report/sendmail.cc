// See sendmail.hh.
#include "report/sendmail.hh"

#include "util/parse.hh"

#include <cerrno>
#include <csignal>
#include <fcntl.h>
#include <optional>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

namespace mailwarden::report {

namespace {

constexpr std::size_t max_output_kept = 512;

struct Pipe {
    int read = -1, write = -1;
    bool open() {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            return false;
        read = fds[0];
        write = fds[1];
        return true;
    }
    static void close(int& fd) {
        if (fd >= 0)
            ::close(fd);
        fd = -1;
    }
    ~Pipe() {
        close(read);
        close(write);
    }
};

// Feeds the message and collects output until both pipes are done (each closed and set to
// -1 when done) or the deadline passes.
bool exchange(int& input, int& output, const std::string& message, std::string& collected,
              std::chrono::steady_clock::time_point deadline) {
    std::size_t written = 0;
    ::fcntl(input, F_SETFL, O_NONBLOCK);
    while (input >= 0 || output >= 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return false;
        pollfd fds[2] = {{input, POLLOUT, 0}, {output, POLLIN, 0}};
        if (::poll(fds, 2, static_cast<int>(left.count())) < 0 && errno != EINTR)
            return false;
        if (input >= 0 && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
            const ssize_t n = ::write(input, message.data() + written, message.size() - written);
            if (n > 0)
                written += static_cast<std::size_t>(n);
            if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == message.size())
                Pipe::close(input);
        }
        if (output >= 0 && (fds[1].revents & (POLLIN | POLLERR | POLLHUP))) {
            char buffer[512];
            const ssize_t n = ::read(output, buffer, sizeof buffer);
            if (n > 0 && collected.size() < max_output_kept)
                collected.append(buffer, std::min<std::size_t>(static_cast<std::size_t>(n),
                                                               max_output_kept - collected.size()));
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                Pipe::close(output);
        }
    }
    return true;
}

// The child's exit status once it ended before the deadline; nullopt after killing it.
std::optional<int> wait_for(pid_t child, std::chrono::steady_clock::time_point deadline) {
    while (true) {
        int status = 0;
        const pid_t done = ::waitpid(child, &status, WNOHANG);
        if (done == child)
            return status;
        if (done < 0 && errno != EINTR)
            return std::nullopt;
        if (std::chrono::steady_clock::now() >= deadline) {
            ::kill(child, SIGKILL);
            ::waitpid(child, &status, 0);
            return std::nullopt;
        }
        ::usleep(5000);
    }
}

} // namespace

SendmailMailer::SendmailMailer(std::string command, std::chrono::milliseconds timeout)
    : timeout_(timeout) {
    for (const std::string_view word : util::split_words(command))
        command_.emplace_back(word);
    // A sendmail that exits early must be an error value, not a SIGPIPE that ends us.
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL)
        std::signal(SIGPIPE, SIG_IGN);
}

DeliveryResult SendmailMailer::send(const std::string& sender,
                                    const std::vector<std::string>& recipients,
                                    const std::string& message) {
    if (command_.empty() || recipients.empty())
        return {Delivery::failed, command_.empty() ? "no sendmail program" : "no recipient"};
    std::vector<std::string> arguments = command_;
    arguments.insert(arguments.end(), {"-i", "-f", sender, "--"});
    arguments.insert(arguments.end(), recipients.begin(), recipients.end());
    std::vector<char*> argv;
    for (std::string& argument : arguments)
        argv.push_back(argument.data());
    argv.push_back(nullptr);
    Pipe input, output;
    if (!input.open() || !output.open())
        return {Delivery::failed, "cannot create pipes"};
    const auto deadline = std::chrono::steady_clock::now() + timeout_;
    const pid_t child = ::fork();
    if (child < 0)
        return {Delivery::failed, "cannot fork"};
    if (child == 0) {
        ::dup2(input.read, 0);
        ::dup2(output.write, 1);
        ::dup2(output.write, 2);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    Pipe::close(input.read);
    Pipe::close(output.write);
    std::string collected;
    exchange(input.write, output.read, message, collected, deadline);
    Pipe::close(input.write); // end of the message, if the deadline came first
    const std::optional<int> status = wait_for(child, deadline);
    if (!status)
        return {Delivery::unknown, "timed out, killed: " + collected};
    if (WIFSIGNALED(*status))
        return {Delivery::unknown,
                "killed by signal " + std::to_string(WTERMSIG(*status)) + ": " + collected};
    if (WEXITSTATUS(*status) != 0)
        return {Delivery::failed,
                "exit " + std::to_string(WEXITSTATUS(*status)) + ": " + collected};
    return {Delivery::sent, collected};
}

} // namespace mailwarden::report
