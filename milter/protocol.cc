// See protocol.hh.
#include "milter/protocol.hh"

#include "auth/authres.hh"

#include <algorithm>

namespace mailwarden::milter {

namespace {

constexpr std::size_t max_reply_text = 400; // as engine::smtp_reply

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
    const engine::SmtpReply valid = engine::smtp_reply(verdict);
    std::string text; // the MTA reads the text as a format: '%' doubled
    for (const char c : valid.text)
        text.append(c == '%' ? 2 : 1, c);
    return {valid.code, valid.status, std::move(text)};
}

std::string quarantine_reason(const engine::Verdict& verdict) {
    return printable_ascii(verdict.text) ? verdict.text : "mailwarden: " + verdict.reason;
}

std::string folded_header_value(std::string_view name, std::string_view value,
                                std::size_t max_line) {
    std::string out;
    out.reserve(value.size() + 16);
    if (value.find("\r\n") != std::string_view::npos) { // folded by the engine: kept as it is
        for (std::size_t at = 0; at < value.size(); ++at)
            if (value[at] != '\r' || at + 1 == value.size() || value[at + 1] != '\n')
                out += value[at];
        return out;
    }
    return auth::fold_header_value(value, name.size() + 2, max_line, "\n");
}

} // namespace mailwarden::milter
