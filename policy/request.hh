// The Postfix policy delegation protocol (SMTPD_POLICY_README), server side, as pure
// functions: RequestParser turns the bytes of one connection into requests - "name=value"
// lines ended by an empty line - and format_reply() turns an action into "action=...\n\n".
// Unknown attributes are ignored (Postfix adds new ones over time). Bounds: a line of at most
// max_line_bytes, at most max_attributes lines per request; beyond them, or on a line that is
// not name=value, the parser reports an error and the server answers the configured default
// action and closes that connection. Never throws, never reads past what it was given.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace mailwarden::policy {

inline constexpr std::size_t max_line_bytes = 4096; // Postfix's own values stay far below
inline constexpr std::size_t max_attributes = 100;  // Postfix 3.7 sends about 40

// The attributes mailwarden uses, by name; anything else Postfix sends is dropped.
struct PolicyRequest {
    std::map<std::string, std::string, std::less<>> attributes;
    const std::string& get(std::string_view name) const; // "" when absent
};

class RequestParser {
public:
    enum class Status { need_more, complete, error };

    // Consumes bytes from the front of input (at most up to the end of one request). On
    // complete, *request holds it and the parser is ready for the next one; on error, *error
    // says why ("line too long", ...) and the connection must be closed.
    Status feed(std::string_view& input, PolicyRequest* request, std::string* error);

    // Bytes of the current line held (for the server's read buffer bound).
    std::size_t pending_bytes() const { return line_.size(); }
    // Whether a request has begun and not ended (its timeout runs).
    bool in_request() const { return !line_.empty() || lines_ > 0; }

private:
    Status finish_line(PolicyRequest* request, std::string* error);
    Status take_line(std::string_view line, PolicyRequest* request, std::string* error);

    std::string line_;
    PolicyRequest current_;
    std::size_t lines_ = 0;
};

// "action=TEXT\n\n", TEXT with CR, LF and other control bytes replaced by spaces.
std::string format_reply(std::string_view action);

} // namespace mailwarden::policy
