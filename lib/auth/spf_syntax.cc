// See spf_syntax.hh. Follows the ABNF of RFC 7208 §12 rule by rule.
#include "auth/spf_syntax.hh"
#include "util/ascii.hh"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

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

// macro-string: macro-expand / macro-literal (%x21-24 / %x26-7E), up to the end of text.
bool macro_string(std::string_view text, bool allow_crt) {
    for (std::size_t at = 0; at < text.size();) {
        const auto c = static_cast<unsigned char>(text[at]);
        if (c == '%') {
            if (!spf_detail::macro_expand(text, at, allow_crt))
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
        return open != std::string_view::npos && spf_detail::macro_expand(text, at, false) &&
               at == text.size();
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
std::optional<std::uint8_t> cidr_length(std::string_view digits, int max) {
    if (digits.empty() || digits.size() > 3 || !std::all_of(digits.begin(), digits.end(), is_digit))
        return std::nullopt;
    if (digits.size() > 1 && digits.front() == '0')
        return std::nullopt;
    int value = 0;
    for (const char digit : digits)
        value = value * 10 + (digit - '0');
    if (value > max)
        return std::nullopt;
    return static_cast<std::uint8_t>(value);
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
bool split_dual_cidr(std::string_view& text, SpfMechanism& mechanism) {
    std::string_view digits;
    if (!split_cidr_suffix(text, digits))
        return true;
    if (!text.empty() && text.back() == '/') { // "//N": the IPv6 length
        text.remove_suffix(1);
        const auto ip6 = cidr_length(digits, 128);
        if (!ip6)
            return false;
        mechanism.ip6_length = *ip6;
        if (!split_cidr_suffix(text, digits))
            return true;
    }
    const auto ip4 = cidr_length(digits, 32);
    if (ip4)
        mechanism.ip4_length = *ip4;
    return ip4.has_value();
}

bool ip4_network(std::string_view text, util::IpAddress& address) {
    std::size_t start = 0;
    for (int part = 0; part < 4; ++part) {
        const auto dot = std::min(text.find('.', start), text.size());
        const auto value = cidr_length(text.substr(start, dot - start), 255);
        if (!value || (part < 3) != (dot < text.size()))
            return false;
        address.bytes[static_cast<std::size_t>(part)] = *value;
        start = dot + 1;
    }
    address.is_v6 = false;
    return true;
}

bool ip6_network(std::string_view text, util::IpAddress& address) {
    char literal[64];
    if (text.size() >= sizeof literal)
        return false;
    std::memcpy(literal, text.data(), text.size());
    literal[text.size()] = '\0';
    address.is_v6 = true;
    return inet_pton(AF_INET6, literal, address.bytes.data()) == 1;
}

std::optional<SpfMechanismKind> mechanism_kind(std::string_view name) {
    static constexpr std::pair<std::string_view, SpfMechanismKind> names[] = {
        {"all", SpfMechanismKind::all}, {"include", SpfMechanismKind::include},
        {"a", SpfMechanismKind::a},     {"mx", SpfMechanismKind::mx},
        {"ptr", SpfMechanismKind::ptr}, {"ip4", SpfMechanismKind::ip4},
        {"ip6", SpfMechanismKind::ip6}, {"exists", SpfMechanismKind::exists},
    };
    for (const auto& [spelling, kind] : names)
        if (util::equal_ignoring_ascii_case(name, spelling))
            return kind;
    return std::nullopt;
}

// One directive without its qualifier; "" when valid, else the problem.
std::string_view mechanism(std::string_view term, SpfMechanism& parsed) {
    const auto colon = term.find(':');
    const auto slash = term.find('/');
    const auto kind = mechanism_kind(term.substr(0, std::min(colon, slash)));
    if (!kind)
        return "unknown mechanism";
    parsed.kind = *kind;
    const bool has_argument = colon != std::string_view::npos && colon < slash;
    std::string_view argument = has_argument ? term.substr(colon + 1) : std::string_view();
    switch (*kind) {
    case SpfMechanismKind::all:
        return term.size() == 3 ? "" : "invalid all";
    case SpfMechanismKind::include:
    case SpfMechanismKind::exists:
        parsed.domain_spec = argument;
        return has_argument && domain_spec(argument) ? "" : "invalid include or exists";
    case SpfMechanismKind::ptr:
        parsed.domain_spec = argument;
        return (!has_argument && term.size() == 3) || (has_argument && domain_spec(argument))
                   ? ""
                   : "invalid ptr";
    case SpfMechanismKind::a:
    case SpfMechanismKind::mx: {
        std::string_view rest = has_argument ? argument : term.substr(std::min(slash, term.size()));
        if (!split_dual_cidr(rest, parsed))
            return "invalid cidr length";
        if (has_argument ? !domain_spec(rest) : !rest.empty())
            return "invalid a or mx";
        parsed.domain_spec = has_argument ? rest : std::string_view();
        return "";
    }
    case SpfMechanismKind::ip4:
    case SpfMechanismKind::ip6: {
        const bool ip4 = *kind == SpfMechanismKind::ip4;
        if (!has_argument)
            return "invalid ip4 or ip6";
        const auto cidr = argument.find('/');
        if (cidr != std::string_view::npos) {
            const auto length = cidr_length(argument.substr(cidr + 1), ip4 ? 32 : 128);
            if (!length)
                return "invalid cidr length";
            (ip4 ? parsed.ip4_length : parsed.ip6_length) = *length;
        }
        const std::string_view network = argument.substr(0, cidr);
        const bool valid =
            ip4 ? ip4_network(network, parsed.network) : ip6_network(network, parsed.network);
        return valid ? "" : "invalid ip4 or ip6 network";
    }
    }
    return "unknown mechanism";
}

bool modifier_name(std::string_view name) {
    return !name.empty() && is_alpha(name.front()) &&
           std::all_of(name.begin(), name.end(),
                       [](char c) { return is_alphanum(c) || c == '-' || c == '_' || c == '.'; });
}

// One modifier ("name=value"); "" when valid, else the problem.
std::string_view modifier(std::string_view term, std::size_t equals, SpfRecord& record) {
    const std::string_view name = term.substr(0, equals);
    const std::string_view value = term.substr(equals + 1);
    if (!modifier_name(name))
        return "invalid modifier name";
    const bool redirect = util::equal_ignoring_ascii_case(name, "redirect");
    if (redirect || util::equal_ignoring_ascii_case(name, "exp")) {
        std::string_view& slot = redirect ? record.redirect : record.explanation;
        if (!slot.empty())
            return redirect ? "redirect= twice" : "exp= twice";
        if (!domain_spec(value))
            return redirect ? "invalid redirect=" : "invalid exp=";
        slot = value;
        return "";
    }
    return macro_string(value, false) ? "" : "invalid modifier value";
}

} // namespace

namespace spf_detail {

// macro-expand = ( "%{" macro-letter transformers *delimiter "}" ) / "%%" / "%_" / "%-"
// transformers = *DIGIT [ "r" ]; a DIGIT value of zero is refused (§7.3: it MUST be nonzero).
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
    const std::size_t digits = i;
    bool nonzero = false;
    for (; i < text.size() && is_digit(text[i]); ++i)
        nonzero = nonzero || text[i] != '0';
    if (i > digits && !nonzero)
        return false;
    if (i < text.size() && (text[i] == 'r' || text[i] == 'R'))
        ++i;
    while (i < text.size() && std::string_view(".-+,/_=").find(text[i]) != std::string_view::npos)
        ++i;
    if (i >= text.size() || text[i] != '}')
        return false;
    at = i + 1;
    return true;
}

} // namespace spf_detail

bool is_spf_record(std::string_view text) {
    return text.size() >= 6 && util::equal_ignoring_ascii_case(text.substr(0, 6), "v=spf1") &&
           (text.size() == 6 || text[6] == ' ');
}

SpfParse parse_spf_record(std::string_view text) {
    if (!is_spf_record(text))
        return {std::nullopt, "not an SPF record"};
    SpfRecord record;
    std::size_t at = 6;
    while (at < text.size()) {
        if (text[at] != ' ')
            return {std::nullopt, "terms must be separated by spaces"};
        while (at < text.size() && text[at] == ' ')
            ++at;
        if (at == text.size())
            break;
        const auto end = std::min(text.find(' ', at), text.size());
        std::string_view term = text.substr(at, end - at);
        at = end;
        const auto equals = term.find('=');
        if (equals != std::string_view::npos && equals == term.find_first_of(":/=")) {
            if (const auto problem = modifier(term, equals, record); !problem.empty())
                return {std::nullopt, std::string(problem)};
            continue;
        }
        SpfMechanism parsed;
        if (std::string_view("+-~?").find(term.front()) != std::string_view::npos) {
            parsed.qualifier = term.front();
            term.remove_prefix(1);
        }
        if (term.empty())
            return {std::nullopt, "empty mechanism"};
        if (const auto problem = mechanism(term, parsed); !problem.empty())
            return {std::nullopt, std::string(problem)};
        record.mechanisms.push_back(parsed);
    }
    return {std::move(record), ""};
}

std::optional<std::string> spf_syntax_error(std::string_view record) {
    SpfParse parse = parse_spf_record(record);
    if (parse.record)
        return std::nullopt;
    return std::move(parse.error);
}

bool is_spf_explain_string(std::string_view text) {
    for (std::size_t at = 0; at < text.size();) {
        const auto c = static_cast<unsigned char>(text[at]);
        if (c == '%') {
            if (!spf_detail::macro_expand(text, at, true))
                return false;
        } else if (c >= 0x20 && c <= 0x7e) { // macro-literal or SP
            ++at;
        } else {
            return false;
        }
    }
    return true;
}

} // namespace mailwarden::auth
