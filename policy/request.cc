// See request.hh.
#include "policy/request.hh"

#include <algorithm>
#include <array>

namespace mailwarden::policy {

namespace {

// SMTPD_POLICY_README's attributes that mailwarden reads.
constexpr std::array<std::string_view, 14> used_attributes{
    "request",        "protocol_state", "protocol_name",       "helo_name",
    "queue_id",       "sender",         "recipient",           "recipient_count",
    "client_address", "client_name",    "reverse_client_name", "sasl_username",
    "size",           "instance"};

bool used(std::string_view name) {
    return std::ranges::find(used_attributes, name) != used_attributes.end();
}

} // namespace

const std::string& PolicyRequest::get(std::string_view name) const {
    static const std::string absent;
    const auto found = attributes.find(name);
    return found == attributes.end() ? absent : found->second;
}

RequestParser::Status RequestParser::feed(std::string_view& input, PolicyRequest* request,
                                          std::string* error) {
    while (!input.empty()) {
        const std::size_t newline = input.find('\n');
        const std::string_view part = input.substr(0, newline);
        if (line_.size() + part.size() > max_line_bytes) {
            *error = "line longer than " + std::to_string(max_line_bytes) + " bytes";
            return Status::error;
        }
        line_.append(part);
        if (newline == std::string_view::npos) {
            input = {};
            return Status::need_more;
        }
        input.remove_prefix(newline + 1);
        if (const Status status = finish_line(request, error); status != Status::need_more)
            return status;
    }
    return Status::need_more;
}

RequestParser::Status RequestParser::finish_line(PolicyRequest* request, std::string* error) {
    std::string_view line = line_;
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    const Status status = take_line(line, request, error);
    line_.clear(); // keeps its capacity for the next line
    return status;
}

RequestParser::Status RequestParser::take_line(std::string_view line, PolicyRequest* request,
                                               std::string* error) {
    if (line.empty()) {
        if (lines_ == 0)
            return Status::need_more; // stray empty line between requests
        *request = std::move(current_);
        current_ = {};
        lines_ = 0;
        return Status::complete;
    }
    if (++lines_ > max_attributes) {
        *error = "more than " + std::to_string(max_attributes) + " attributes";
        return Status::error;
    }
    const std::size_t equals = line.find('=');
    if (equals == std::string_view::npos || equals == 0) {
        *error = "not a name=value line";
        return Status::error;
    }
    // Postfix sends about 40 attributes; only the ones used cost an allocation.
    if (const std::string_view name = line.substr(0, equals); used(name))
        current_.attributes.insert_or_assign(std::string(name),
                                             std::string(line.substr(equals + 1)));
    return Status::need_more;
}

std::string format_reply(std::string_view action) {
    std::string reply = "action=";
    for (const char c : action)
        reply += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
    reply += "\n\n";
    return reply;
}

} // namespace mailwarden::policy
