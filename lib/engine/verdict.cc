// Verdict constructors and the mapping to mailwarden check's exit status.
#include "engine/verdict.hh"

#include <algorithm>

namespace mailwarden::engine {

namespace {

bool all_digits(std::string_view text) {
    return !text.empty() && text.find_first_not_of("0123456789") == std::string_view::npos;
}

// RFC 3463: class "." subject "." detail, subject and detail of 1 to 3 digits.
bool valid_status(std::string_view status, char reply_class) {
    if (status.size() < 5 || status[0] != reply_class || status[1] != '.')
        return false;
    const std::string_view rest = status.substr(2);
    const std::size_t dot = rest.find('.');
    if (dot == std::string_view::npos)
        return false;
    const std::string_view subject = rest.substr(0, dot), detail = rest.substr(dot + 1);
    return all_digits(subject) && subject.size() <= 3 && all_digits(detail) && detail.size() <= 3;
}

bool valid_code(std::string_view code, char reply_class) {
    return code.size() == 3 && code[0] == reply_class && all_digits(code);
}

constexpr std::size_t max_reply_text = 400; // well inside the 512-byte SMTP reply line

// Non-empty printable ASCII of a length any SMTP reply line holds.
bool printable_ascii(std::string_view text) {
    return !text.empty() && text.size() <= max_reply_text &&
           std::ranges::all_of(text, [](char c) { return c >= 0x20 && c <= 0x7e; });
}

Verdict make(Action action, std::string code, std::string status, std::string text,
             std::string reason) {
    Verdict verdict;
    verdict.action = action;
    verdict.code = std::move(code);
    verdict.status = std::move(status);
    verdict.text = std::move(text);
    verdict.reason = std::move(reason);
    return verdict;
}

} // namespace

Verdict Verdict::accept(std::string reason) {
    Verdict verdict;
    verdict.reason = std::move(reason);
    return verdict;
}

Verdict Verdict::reject(std::string status, std::string text, std::string reason) {
    return make(Action::reject, "550", std::move(status), std::move(text), std::move(reason));
}

Verdict Verdict::tempfail(std::string status, std::string text, std::string reason) {
    return make(Action::tempfail, "451", std::move(status), std::move(text), std::move(reason));
}

Verdict Verdict::quarantine(std::string text, std::string reason) {
    return make(Action::quarantine, "250", "2.0.0", std::move(text), std::move(reason));
}

SmtpReply smtp_reply(const Verdict& verdict) {
    const bool temporary = verdict.action != Action::reject;
    const char reply_class = temporary ? '4' : '5';
    if (valid_code(verdict.code, reply_class) && valid_status(verdict.status, reply_class) &&
        printable_ascii(verdict.text))
        return {verdict.code, verdict.status, verdict.text};
    if (temporary)
        return {"451", "4.3.0", "Temporary failure, please try again later"};
    return {"550", "5.7.1", "Message rejected by policy"};
}

std::string_view verdict_action_name(const Verdict& verdict) {
    return config::action_name(verdict.action);
}

int exit_status(const Verdict& verdict) {
    switch (verdict.action) {
    case Action::reject:
        return 1;
    case Action::tempfail:
        return 2;
    case Action::quarantine:
        return 3;
    default:
        return 0;
    }
}

} // namespace mailwarden::engine
