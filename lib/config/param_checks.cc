// See param_checks.hh.
#include "config/param_checks.hh"

#include "auth/dkim_key_table.hh"
#include "auth/idna.hh"
#include "auth/spf_syntax.hh"
#include "config/rate_limit.hh"
#include "util/cidr.hh"
#include "util/parse.hh"
#include "util/socket_spec.hh"

#include <algorithm>
#include <array>
#include <string_view>

namespace mailwarden::config::param_checks {

namespace {

using namespace std::string_view_literals;

bool all_of(std::string_view text, bool (*accept)(char)) {
    for (char character : text) {
        if (!accept(character))
            return false;
    }
    return true;
}

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

} // namespace

std::string check_absolute_path(std::string_view value) {
    if (value.empty() || value.front() != '/')
        return "not an absolute path: '" + std::string(value) + "'";
    return "";
}

// inet:PORT@ADDR, inet6:PORT@ADDR, unix:/path or local:/path (the milter/Postfix spelling).
std::string check_socket(std::string_view value) {
    std::string error;
    return util::parse_socket_spec(value, &error) ? "" : error;
}

std::string check_octal_mode(std::string_view value) {
    if (value.size() < 3 || value.size() > 4 ||
        !all_of(value, [](char c) { return c >= '0' && c <= '7'; }))
        return "expected an octal file mode such as 0660";
    return "";
}

std::string check_user(std::string_view value) {
    if (value.empty() || value.size() > 32 || value.front() == '-' || !all_of(value, is_name_char))
        return "not a valid user name: '" + std::string(value) + "'";
    return "";
}

// "", USER, USER:GROUP or :GROUP.
std::string check_owner(std::string_view value) {
    const std::size_t colon = value.find(':');
    const std::string_view user = value.substr(0, colon);
    const std::string_view group =
        colon == std::string_view::npos ? std::string_view() : value.substr(colon + 1);
    if ((!user.empty() && !check_user(user).empty()) ||
        (colon != std::string_view::npos && !check_user(group).empty()))
        return "not USER, USER:GROUP or :GROUP: '" + std::string(value) + "'";
    return "";
}

std::string check_dkim_sign_key(std::string_view value) {
    std::string error;
    return auth::parse_key_table_line(value, &error) ? "" : error;
}

// A header field name (RFC 5322 §3.6.8): printable ASCII other than ':', no spaces.
std::string check_header_name(std::string_view value) {
    if (value.empty() || value.size() > 100 ||
        !all_of(value, [](char c) { return c > 0x20 && c < 0x7f && c != ':'; }))
        return "not a header field name: '" + std::string(value) + "'";
    return "";
}

std::string check_rate_limit(std::string_view value) {
    std::string error;
    return parse_rate_limit(value, &error) ? "" : error;
}

// An access(5) action word, or a 4xx/5xx reply; printable ASCII.
std::string check_policy_action(std::string_view value) {
    static constexpr std::array words{
        "DUNNO"sv, "OK"sv, "DEFER"sv, "DEFER_IF_PERMIT"sv, "DEFER_IF_REJECT"sv, "REJECT"sv};
    const std::string_view first = value.substr(0, value.find(' '));
    const bool reply =
        first.size() == 3 && (first[0] == '4' || first[0] == '5') &&
        std::all_of(first.begin(), first.end(), [](char c) { return c >= '0' && c <= '9'; });
    const bool printable =
        std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
    if (!printable || (!reply && std::find(words.begin(), words.end(), first) == words.end()))
        return "not an access(5) action (DUNNO, DEFER, REJECT ... or 4xx/5xx text): '" +
               std::string(value) + "'";
    return "";
}

std::string check_authserv_id(std::string_view value) {
    if (value.size() > 255 || !all_of(value, is_name_char))
        return "not a valid host name: '" + std::string(value) + "'";
    return "";
}

std::string check_mail_domain(std::string_view value) {
    if (!auth::has_non_ascii(value))
        return check_authserv_id(value);
    const auto ascii = auth::domain_to_ascii(value);
    if (!ascii || ascii->empty() || !check_authserv_id(*ascii).empty())
        return "not a valid internationalized domain name (IDNA2008): '" + std::string(value) + "'";
    return "";
}

// HOST:PORT, HOST, [IPV6]:PORT or /PATH.
std::string check_redis_server(std::string_view value) {
    std::string error;
    return util::parse_endpoint(value, 6379, &error) ? "" : error;
}

// Printable ASCII without spaces; the key names that follow it are the same.
std::string check_redis_prefix(std::string_view value) {
    if (value.size() > 64 || !all_of(value, [](char c) { return c > 0x20 && c < 0x7f; }))
        return "expected at most 64 printable characters without spaces";
    return "";
}

// Printable ASCII, spaces allowed (the value is sent as one AUTH argument).
std::string check_secret(std::string_view value) {
    if (value.size() > 512 || !all_of(value, [](char c) { return c >= 0x20 && c < 0x7f; }))
        return "expected at most 512 printable characters";
    return "";
}

// "" or LOCAL@DOMAIN: printable ASCII without spaces, quotes or brackets, one @, a domain of
// name characters. It becomes a header and a sendmail argument.
std::string check_report_address(std::string_view value) {
    const std::size_t at = value.rfind('@');
    const bool ok = value.empty() || (value.size() <= 254 && at != std::string_view::npos &&
                                      at > 0 && value.front() != '-' && at + 1 < value.size() &&
                                      all_of(value.substr(at + 1), is_name_char) &&
                                      all_of(value.substr(0, at), [](char c) {
                                          return c > 0x20 && c < 0x7f && c != '"' && c != '<' &&
                                                 c != '>' && c != '@' && c != ',';
                                      }));
    return ok ? ""
              : "not an address such as dmarc-reports@example.org: '" + std::string(value) + "'";
}

// Printable ASCII (spaces allowed), at most 200 bytes: it goes into report XML and headers.
std::string check_report_text(std::string_view value) {
    if (value.size() > 200 || !all_of(value, [](char c) { return c >= 0x20 && c < 0x7f; }))
        return "expected at most 200 printable characters";
    return "";
}

// An absolute program path, optionally followed by arguments; printable ASCII.
std::string check_command(std::string_view value) {
    if (value.empty() || value.front() != '/' || value.size() > 512 ||
        !all_of(value, [](char c) { return c >= 0x20 && c < 0x7f; }))
        return "expected an absolute program path and its arguments: '" + std::string(value) + "'";
    return "";
}

std::string check_redaction(std::string_view value) {
    if (value != "local_part" && value != "body")
        return "expected local_part or body, not '" + std::string(value) + "'";
    return "";
}

// ADDR or ADDR@PORT, ADDR an IPv4 or IPv6 literal (unbound's forward-addr spelling).
std::string check_dns_server(std::string_view value) {
    std::string error;
    return util::parse_server_address(value, &error) ? "" : error;
}

// An RFC 7208 explain-string (§7.1): the SPF verifier's own check, so `config check` refuses
// exactly what the daemons would refuse at start.
std::string check_spf_explanation(std::string_view value) {
    if (!all_of(value, [](char c) { return c >= ' ' && c <= '~'; }))
        return "only printable ASCII is allowed";
    if (!auth::is_spf_explain_string(value))
        return "'%' must start %%, %_, %- or a macro such as %{d} or %{l1r-} (RFC 7208 "
               "section 7: letters slodiphcrtv, a nonzero digit, r, delimiters .-+,/_=)";
    return "";
}

} // namespace mailwarden::config::param_checks
