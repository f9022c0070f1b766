// See protocol.hh.
#include "milter/protocol.hh"

#include <algorithm>

namespace mailwarden::milter {

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

} // namespace

std::string envelope_address(std::string_view argument) {
    const auto blank = [](char c) { return c == ' ' || c == '\t'; };
    while (!argument.empty() && blank(argument.front()))
        argument.remove_prefix(1);
    while (!argument.empty() && blank(argument.back()))
        argument.remove_suffix(1);
    if (argument.size() >= 2 && argument.front() == '<' && argument.back() == '>')
        argument = argument.substr(1, argument.size() - 2);
    return std::string(argument);
}

std::string header_value_as_received(std::string_view value, bool leading_space_kept) {
    std::string out;
    out.reserve(value.size() + 8);
    if (!leading_space_kept && !value.empty())
        out += ' ';
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
            out += '\r';
        out += value[i];
    }
    return out;
}

Reply reply_for(const engine::Verdict& verdict) {
    const bool temporary = verdict.action != engine::Action::reject;
    const char reply_class = temporary ? '4' : '5';
    if (valid_code(verdict.code, reply_class) && valid_status(verdict.status, reply_class) &&
        printable_ascii(verdict.text)) {
        std::string text; // libmilter reads the text as a format: '%' doubled
        for (const char c : verdict.text)
            text.append(c == '%' ? 2 : 1, c);
        return {verdict.code, verdict.status, std::move(text)};
    }
    if (temporary)
        return {"451", "4.3.0", "Temporary failure, please try again later"};
    return {"550", "5.7.1", "Message rejected by policy"};
}

std::string quarantine_reason(const engine::Verdict& verdict) {
    return printable_ascii(verdict.text) ? verdict.text : "mailwarden: " + verdict.reason;
}

std::string folded_header_value(std::string_view name, std::string_view value,
                                std::size_t max_line) {
    std::string out;
    out.reserve(value.size() + 16);
    std::size_t line = name.size() + 2; // "Name: "
    bool quoted = false, escaped = false;
    std::size_t i = 0;
    while (i < value.size()) {
        // The next piece: up to and including the next "; " outside a quoted string.
        std::size_t end = i;
        for (; end < value.size(); ++end) {
            const char c = value[end];
            if (escaped)
                escaped = false;
            else if (quoted && c == '\\')
                escaped = true;
            else if (c == '"')
                quoted = !quoted;
            else if (!quoted && c == ';' && end + 2 < value.size() && value[end + 1] == ' ')
                break;
        }
        const bool separator = end < value.size();
        const std::string_view piece = value.substr(i, end - i + (separator ? 1 : 0));
        if (!out.empty() && line + 1 + piece.size() > max_line) {
            out += "\n\t";
            line = 8;
        } else if (!out.empty()) {
            out += ' ';
            ++line;
        }
        out += piece;
        line += piece.size();
        i = separator ? end + 2 : end;
    }
    return out;
}

} // namespace mailwarden::milter
