// Handing a report mail to the local MTA through its sendmail program (Postfix, Sendmail and
// Exim all ship one): `COMMAND -i -f SENDER -- RECIPIENT...` with the message on stdin. The
// MTA then queues, signs (its own milters) and delivers like any other mail.
//
// Failure is a value. A sendmail that exits 0 queued the mail (sent); one that exits non-zero
// did not (failed: the caller may try again later); one that dies of a signal or outlives the
// timeout (then killed) may or may not have queued it (unknown: the caller must not send the
// same report again). Recipients are addresses we validated (dmarc_record.hh); "--" ends the
// options all the same. The program's output (first 512 bytes) is kept for the log.
#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace mailwarden::report {

enum class Delivery { sent, failed, unknown };

struct DeliveryResult {
    Delivery status = Delivery::failed;
    std::string detail; // e.g. "exit 75: postdrop: warning: ...", for the log (escape it)
};

class Mailer {
public:
    virtual ~Mailer() = default;
    virtual DeliveryResult send(const std::string& sender,
                                const std::vector<std::string>& recipients,
                                const std::string& message) = 0;
};

class SendmailMailer final : public Mailer {
public:
    // command: the program and its first arguments, separated by spaces
    // (e.g. "/usr/sbin/sendmail" or "/usr/sbin/sendmail -C /etc/postfix-out").
    SendmailMailer(std::string command, std::chrono::milliseconds timeout);
    DeliveryResult send(const std::string& sender, const std::vector<std::string>& recipients,
                        const std::string& message) override;

private:
    std::vector<std::string> command_;
    std::chrono::milliseconds timeout_;
};

} // namespace mailwarden::report
