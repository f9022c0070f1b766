// See spf_syntax.hh. Follows the ABNF of RFC 7208 §12 rule by rule.
#include "auth/spf_syntax.hh"
#include "util/ascii.hh"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <vector>

namespace mailwarden::auth {

namespace {

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_alphanum(char c) {
    return is_alpha(c) || is_digit(c);
}

// macro-expand at text[at]: advances at past it. allow_crt: c, r and t only in exp text.
bool macro_expand(std::string_view text, std::size_t& at, bool allow_crt) {
    if (at + 1 >= text.size() || text[at] != '%')
        return false;
    const char next = text[at + 1];
    if (next == '%' || next == '_' || next == '-') {
        at += 2;
        return true;
    }
    if (next != '{' || at + 2 >= text.size())
        return false;
    std::size_t i = at + 2;
    const char letter = util::ascii_lower(text[i]);
    const std::string_view letters = allow_crt ? "slodiphcrtv" : "slodiphv";
    if (letters.find(letter) == std::string_view::npos)
        return false;
    ++i;
    while (i < text.size() && is_digit(text[i]))
        ++i;
    if (i < text.size() && (text[i] == 'r' || text[i] == 'R'))
        ++i;
    while (i < text.size() && std::string_view(".-+,/_=").find(text[i]) != std::string_view::npos)
        ++i;
    if (i >= text.size() || text[i] != '}')
        return false;
    at = i + 1;
    return true;
}

// macro-string: macro-expand / macro-literal (%x21-24 / %x26-7E), up to the end of text.
bool macro_string(std::string_view text, bool allow_crt) {
    for (std::size_t at = 0; at < text.size();) {
        const auto c = static_cast<unsigned char>(text[at]);
        if (c == '%') {
            if (!macro_expand(text, at, allow_crt))
                return false;
        } else if (c >= 0x21 && c <= 0x7e) {
            ++at;
        } else {
            return false;
        }
    }
    return true;
}

// toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
bool toplabel(std::string_view label) {
    if (label.empty() || !is_alphanum(label.front()) || !is_alphanum(label.back()))
        return false;
    if (!std::all_of(label.begin(), label.end(), [](char c) { return is_alphanum(c) || c == '-'; }))
        return false;
    return std::any_of(label.begin(), label.end(), [](char c) { return is_alpha(c); }) ||
           label.find('-') != std::string_view::npos;
}

// domain-spec = macro-string domain-end; domain-end = ( "." toplabel [ "." ] ) / macro-expand
bool domain_spec(std::string_view text) {
    if (text.empty() || !macro_string(text, false))
        return false;
    if (text.back() == '}') { // ends in a macro-expand
        const auto open = text.rfind("%{");
        std::size_t at = open == std::string_view::npos ? text.size() : open;
        return open != std::string_view::npos && macro_expand(text, at, false) && at == text.size();
    }
    std::string_view body = text;
    if (body.back() == '.')
        body.remove_suffix(1);
    const auto dot = body.rfind('.');
    if (dot == std::string_view::npos)
        return false;
    return toplabel(body.substr(dot + 1));
}

// cidr length: "0" / %x31-39 *DIGIT, value <= max.
bool cidr_length(std::string_view digits, int max) {
    if (digits.empty() || digits.size() > 3 || !std::all_of(digits.begin(), digits.end(), is_digit))
        return false;
    if (digits.size() > 1 && digits.front() == '0')
        return false;
    return std::stoi(std::string(digits)) <= max;
}

// Splits a trailing "/DIGITS" off text into *digits; false when there is none.
bool split_cidr_suffix(std::string_view& text, std::string_view& digits) {
    const auto slash = text.rfind('/');
    if (slash == std::string_view::npos || slash + 1 == text.size())
        return false;
    const std::string_view tail = text.substr(slash + 1);
    if (!std::all_of(tail.begin(), tail.end(), is_digit))
        return false;
    digits = tail;
    text = text.substr(0, slash);
    return true;
}

// dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ], split off the end of text
// (a domain-spec may itself hold '/' and ':', so only a trailing "/DIGITS" is a length).
bool split_dual_cidr(std::string_view& text) {
    std::string_view digits;
    if (!split_cidr_suffix(text, digits))
        return true;
    if (!text.empty() && text.back() == '/') { // "//N": the IPv6 length
        text.remove_suffix(1);
        if (!cidr_length(digits, 128))
            return false;
        std::string_view ip4_digits;
        return !split_cidr_suffix(text, ip4_digits) || cidr_length(ip4_digits, 32);
    }
    return cidr_length(digits, 32);
}

bool ip4_network(std::string_view text) {
    int parts = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto dot = std::min(text.find('.', start), text.size());
        if (!cidr_length(text.substr(start, dot - start), 255))
            return false;
        ++parts;
        start = dot + 1;
    }
    return parts == 4;
}

std::optional<std::string> mechanism(std::string_view term) {
    const auto colon = term.find(':');
    const auto slash = term.find('/');
    const std::string name = util::ascii_lowered(term.substr(0, std::min(colon, slash)));
    std::string_view argument = colon == std::string_view::npos || colon > slash
                                    ? std::string_view()
                                    : term.substr(colon + 1);
    const bool has_argument = colon != std::string_view::npos && colon < slash;
    if (name == "all")
        return term.size() == 3 ? std::nullopt : std::optional<std::string>("invalid all");
    if (name == "include" || name == "exists")
        return has_argument && domain_spec(argument)
                   ? std::nullopt
                   : std::optional<std::string>("invalid " + name);
    if (name == "a" || name == "mx") {
        std::string_view rest = has_argument ? argument : term.substr(name.size());
        if (!split_dual_cidr(rest))
            return "invalid cidr length";
        if (has_argument ? !domain_spec(rest) : !rest.empty())
            return "invalid " + name;
        return std::nullopt;
    }
    if (name == "ptr")
        return (!has_argument && term.size() == 3) || (has_argument && domain_spec(argument))
                   ? std::nullopt
                   : std::optional<std::string>("invalid ptr");
    if (name == "ip4" || name == "ip6") {
        if (!has_argument)
            return "invalid " + name;
        const auto cidr = argument.find('/');
        const std::string network(argument.substr(0, cidr));
        if (cidr != std::string_view::npos &&
            !cidr_length(argument.substr(cidr + 1), name == "ip4" ? 32 : 128))
            return "invalid cidr length";
        unsigned char address[16];
        const bool valid = name == "ip4" ? ip4_network(network)
                                         : inet_pton(AF_INET6, network.c_str(), address) == 1;
        return valid ? std::nullopt : std::optional<std::string>("invalid " + name + " network");
    }
    return "unknown mechanism";
}

// One rewritten a/mx/ip term (without its qualifier), or the term itself.
std::string rewrite_term(std::string_view term, bool client_is_ipv6) {
    const std::string name = util::ascii_lowered(term.substr(0, term.find_first_of(":/")));
    if (name == "ip4" || name == "ip6") {
        const auto slash = term.rfind('/');
        if (slash != std::string_view::npos && term.substr(slash + 1) == "0")
            return name == "ip4" ? "ip4:0.0.0.0/1 ip4:128.0.0.0/1" : "ip6:::/1 ip6:8000::/1";
        return std::string(term);
    }
    if (name != "a" && name != "mx")
        return std::string(term);
    std::string_view domain = term.substr(name.size());
    std::string_view ip4_length, ip6_length;
    std::string_view digits;
    if (split_cidr_suffix(domain, digits)) {
        if (!domain.empty() && domain.back() == '/') {
            domain.remove_suffix(1);
            ip6_length = digits;
            if (split_cidr_suffix(domain, digits))
                ip4_length = digits;
        } else {
            ip4_length = digits;
        }
    }
    const std::string_view own_length = client_is_ipv6 ? ip6_length : ip4_length;
    if (name == "a" && !client_is_ipv6 && own_length == "0")
        return "exists" + (domain.empty() ? std::string(":%{d}") : std::string(domain));
    std::string rewritten = name + std::string(domain);
    if (!own_length.empty())
        rewritten += (client_is_ipv6 ? "//" : "/") + std::string(own_length);
    return rewritten;
}

} // namespace

std::string spf_record_for_libspf2(std::string_view record, bool client_is_ipv6) {
    std::vector<std::string> terms;
    bool has_all = false;
    for (std::size_t at = 6; at < record.size();) {
        const auto end = std::min(record.find(' ', at), record.size());
        if (end > at)
            terms.emplace_back(record.substr(at, end - at));
        at = end + 1;
    }
    for (const auto& term : terms) {
        std::string_view mechanism = term;
        if (!mechanism.empty() &&
            std::string_view("+-~?").find(mechanism.front()) != std::string_view::npos)
            mechanism.remove_prefix(1);
        has_all = has_all || util::ascii_lowered(mechanism) == "all";
    }
    std::string out = "v=spf1";
    for (const auto& term : terms) {
        const auto equals = term.find('=');
        if (equals != std::string::npos && equals == term.find_first_of(":/=")) { // modifier
            const std::string name = util::ascii_lowered(std::string_view(term).substr(0, equals));
            if (name == "exp" || (name == "redirect" && !has_all))
                out += " " + term;
            continue;
        }
        std::string_view body = term;
        std::string qualifier;
        if (std::string_view("+-~?").find(body.front()) != std::string_view::npos) {
            qualifier = body.front();
            body.remove_prefix(1);
        }
        std::string rewritten = rewrite_term(body, client_is_ipv6);
        // A term that became two keeps its qualifier on both.
        if (const auto space = rewritten.find(' '); space != std::string::npos)
            rewritten.insert(space + 1, qualifier);
        out += " " + qualifier + rewritten;
    }
    return out;
}

bool is_spf_record(std::string_view text) {
    return text.size() >= 6 && util::ascii_lowered(text.substr(0, 6)) == "v=spf1" &&
           (text.size() == 6 || text[6] == ' ');
}

std::optional<std::string> spf_syntax_error(std::string_view record) {
    if (!is_spf_record(record))
        return "not an SPF record";
    bool redirect_seen = false, exp_seen = false;
    std::size_t at = 6;
    while (at < record.size()) {
        if (record[at] != ' ')
            return "terms must be separated by spaces";
        while (at < record.size() && record[at] == ' ')
            ++at;
        if (at == record.size())
            break;
        const auto end = std::min(record.find(' ', at), record.size());
        std::string_view term = record.substr(at, end - at);
        at = end;
        const auto equals = term.find('=');
        const auto name_end = term.find_first_of(":/=");
        if (equals != std::string_view::npos && equals == name_end) { // modifier
            const std::string name = util::ascii_lowered(term.substr(0, equals));
            const std::string_view value = term.substr(equals + 1);
            if (name.empty() || !is_alpha(name.front()) ||
                !std::all_of(name.begin(), name.end(), [](char c) {
                    return is_alphanum(c) || c == '-' || c == '_' || c == '.';
                }))
                return "invalid modifier name";
            if (name == "redirect" || name == "exp") {
                bool& seen = name == "redirect" ? redirect_seen : exp_seen;
                if (seen)
                    return name + "= twice";
                seen = true;
                if (!domain_spec(value))
                    return "invalid " + name + "=";
            } else if (!macro_string(value, false)) {
                return "invalid modifier value";
            }
            continue;
        }
        if (std::string_view("+-~?").find(term.front()) != std::string_view::npos)
            term.remove_prefix(1);
        if (term.empty())
            return "empty mechanism";
        if (auto problem = mechanism(term))
            return problem;
    }
    return std::nullopt;
}

} // namespace mailwarden::auth
