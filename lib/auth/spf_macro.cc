// See spf_macro.hh. Syntax is checked by the same rule as record parsing
// (spf_detail::macro_expand), so expansion never sees a macro the parser refused.
#include "auth/spf_macro.hh"

#include "auth/spf_syntax.hh"
#include "util/ascii.hh"

#include <algorithm>
#include <array>
#include <vector>

namespace mailwarden::auth {

namespace {

constexpr std::string_view delimiters = ".-+,/_=";

bool is_unreserved(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

void append_url_escaped(std::string& out, std::string_view text) {
    static constexpr char hex[] = "0123456789ABCDEF";
    for (const char c : text) {
        if (is_unreserved(c)) {
            out += c;
        } else {
            const auto byte = static_cast<unsigned char>(c);
            out += '%';
            out += hex[byte >> 4];
            out += hex[byte & 0x0f];
        }
    }
}

struct Transformers {
    std::size_t keep = 0; // right-hand parts to keep; 0 = all
    bool reverse = false;
    std::string_view split_on; // "" = no transformation asked for
};

// The part of a "%{...}" macro after its letter, without the closing brace.
Transformers transformers(std::string_view spec) {
    Transformers parsed;
    std::size_t at = 0;
    bool any = false;
    // More parts than a value can have (it is shorter than a DNS message) means "all".
    constexpr std::size_t all_parts = 1'000'000;
    for (; at < spec.size() && spec[at] >= '0' && spec[at] <= '9'; ++at) {
        any = true;
        parsed.keep =
            std::min(parsed.keep * 10 + static_cast<std::size_t>(spec[at] - '0'), all_parts);
    }
    if (at < spec.size() && (spec[at] == 'r' || spec[at] == 'R')) {
        parsed.reverse = true;
        any = true;
        ++at;
    }
    parsed.split_on = spec.substr(at);
    if (parsed.split_on.empty() && any)
        parsed.split_on = ".";
    return parsed;
}

// §7.3: split on the delimiters, reverse, keep the right-hand parts, join with ".".
void append_transformed(std::string& out, std::string_view value, const Transformers& how,
                        bool url_escape) {
    if (how.split_on.empty()) {
        url_escape ? append_url_escaped(out, value) : void(out += value);
        return;
    }
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= value.size(); ++i) {
        if (i == value.size() || how.split_on.find(value[i]) != std::string_view::npos) {
            parts.push_back(value.substr(start, i - start));
            start = i + 1;
        }
    }
    if (how.reverse)
        std::reverse(parts.begin(), parts.end());
    const std::size_t first =
        how.keep == 0 || how.keep >= parts.size() ? 0 : parts.size() - how.keep;
    for (std::size_t i = first; i < parts.size(); ++i) {
        if (i > first)
            out += '.';
        url_escape ? append_url_escaped(out, parts[i]) : void(out += parts[i]);
    }
}

std::string macro_value(char letter, const SpfMacroValues& values) {
    switch (letter) {
    case 's':
        return std::string(values.sender);
    case 'l':
        return std::string(values.local_part);
    case 'o':
        return std::string(values.sender_domain);
    case 'd':
        return std::string(values.domain);
    case 'h':
        return std::string(values.helo);
    case 'r':
        return values.receiver.empty() ? "unknown" : std::string(values.receiver);
    case 't':
        return std::to_string(values.now);
    case 'p':
        return values.validated_name ? values.validated_name() : "unknown";
    case 'i':
        return values.client ? spf_dotted_address(*values.client) : "";
    case 'c':
        return values.client ? values.client->to_string() : "";
    case 'v':
        return values.client && values.client->is_v6 ? "ip6" : "in-addr";
    default:
        return "";
    }
}

} // namespace

std::string spf_dotted_address(const util::IpAddress& address) {
    if (!address.is_v6)
        return address.to_string();
    static constexpr char hex[] = "0123456789abcdef";
    std::string dotted;
    dotted.reserve(63);
    for (const auto byte : address.bytes) {
        if (!dotted.empty())
            dotted += '.';
        dotted += hex[byte >> 4];
        dotted += '.';
        dotted += hex[byte & 0x0f];
    }
    return dotted;
}

std::optional<std::string> expand_spf_macros(std::string_view text, SpfMacroUse use,
                                             const SpfMacroValues& values) {
    const bool explanation = use == SpfMacroUse::explanation;
    std::string out;
    out.reserve(text.size() + 32);
    for (std::size_t at = 0; at < text.size();) {
        const char c = text[at];
        if (c != '%') {
            const auto byte = static_cast<unsigned char>(c);
            if (byte < 0x20 || byte > 0x7e || (byte == ' ' && !explanation))
                return std::nullopt;
            out += c;
            ++at;
            continue;
        }
        const std::size_t start = at;
        if (!spf_detail::macro_expand(text, at, explanation))
            return std::nullopt;
        const char kind = text[start + 1];
        if (kind == '%') {
            out += '%';
        } else if (kind == '_') {
            out += ' ';
        } else if (kind == '-') {
            out += "%20";
        } else { // "%{" letter transformers delimiters "}"
            const char letter = text[start + 2];
            const auto how = transformers(text.substr(start + 3, at - 1 - (start + 3)));
            const std::string value = macro_value(util::ascii_lower(letter), values);
            append_transformed(out, value, how, letter >= 'A' && letter <= 'Z');
        }
    }
    if (!explanation && !out.empty() && out.back() == '.')
        out.pop_back();
    return out;
}

} // namespace mailwarden::auth
