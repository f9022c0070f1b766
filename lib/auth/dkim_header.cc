// See dkim_header.hh. Where libopendkim (2.11) reads RFC 6376 its own way we follow it, so
// that its verdicts and ours agree on every message the fast path takes:
//   - relaxed header canonicalization: after the colon SP, HTAB, CR and LF are skipped;
//     later every run of C-locale white space (SP HTAB CR LF VT FF) becomes one SP when a
//     byte follows, so a value that starts with VT or FF keeps one SP; bytes above 0x7f
//     are ordinary bytes (measured on Debian 12's 2.11.0~beta2, which differs here from
//     the upstream source);
//   - header selection: every field of the message is a candidate for a name in h=,
//     DKIM-Signature fields included; names compare case-insensitively; h= with its white
//     space removed;
//   - the signature's own field: everything after "b=" up to the next ';' (or the end) is
//     left out, white space around the value included.
#include "auth/dkim_header.hh"

#include "auth/dkim_key.hh"
#include "auth/idna.hh"
#include "util/ascii.hh"
#include "util/utf8.hh"

#include <openssl/evp.h>

#include <algorithm>

namespace mailwarden::auth {

namespace {

bool is_wsp(char c) {
    return c == ' ' || c == '\t';
}

bool is_fws_byte(char c) {
    return is_wsp(c) || c == '\r' || c == '\n';
}

// isspace() in the C locale, as libopendkim's relaxed canonicalizer uses it.
bool is_c_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// d=, s= and the domain of i=: letters, digits, '-', '_', '.'.
bool plain_name(std::string_view text, std::size_t max_bytes) {
    return !text.empty() && text.size() <= max_bytes &&
           std::all_of(text.begin(), text.end(), [](char c) {
               return is_alpha(c) || is_digit(c) || c == '-' || c == '_' || c == '.';
           });
}

// d=, s=, the domain of i=: a plain name as written, or one in U-labels (an internationalized
// message, RFC 8616 §4) as its A-labels, the form of the key lookup, the results and
// DMARC alignment. False when neither.
bool take_name(std::string_view text, std::string& name) {
    if (!has_non_ascii(text)) {
        name = text;
        return plain_name(text, 253);
    }
    auto ascii = domain_to_ascii(text);
    if (!ascii || !plain_name(*ascii, 253))
        return false;
    name = std::move(*ascii);
    return true;
}

// Printable ASCII, SP and HTAB, and CR only in CRLF followed by SP or HTAB (folding); UTF-8
// (RFC 6532), which only d=, s= and i= then take (as U-labels, RFC 8616 §4).
bool plain_header_value(std::string_view value) {
    static constexpr auto plain = [] {
        std::array<bool, 256> table{};
        for (int byte = 0x20; byte < 0x7f; ++byte)
            table[byte] = true;
        for (int byte = 0x80; byte < 0x100; ++byte)
            table[byte] = true;
        table['\t'] = true;
        return table;
    }();
    if (has_non_ascii(value) && !util::valid_utf8(value))
        return false;
    for (std::size_t at = 0; at < value.size(); ++at) {
        if (plain[static_cast<unsigned char>(value[at])])
            continue;
        if (value[at] != '\r' || at + 2 >= value.size() || value[at + 1] != '\n' ||
            !is_wsp(value[at + 2]))
            return false;
        ++at; // the LF
    }
    return true;
}

std::string_view trim_fws(std::string_view text) {
    while (!text.empty() && is_fws_byte(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && is_fws_byte(text.back()))
        text.remove_suffix(1);
    return text;
}

std::string without_fws(std::string_view text) {
    std::string compact;
    compact.reserve(text.size());
    for (const char c : text)
        if (!is_fws_byte(c))
            compact += c;
    return compact;
}

bool set_canons(std::string_view text, FastSignature& signature) {
    using Canon = DkimBodyHash::Canon;
    const auto canon_of = [](std::string_view name) -> std::optional<Canon> {
        if (name == "simple")
            return Canon::simple;
        if (name == "relaxed")
            return Canon::relaxed;
        return std::nullopt;
    };
    const std::size_t slash = text.find('/');
    const auto header = canon_of(text.substr(0, slash));
    const auto body = slash == std::string_view::npos ? std::optional(Canon::simple)
                                                      : canon_of(text.substr(slash + 1));
    if (!header || !body)
        return false;
    signature.header_canon = *header;
    signature.body_canon = *body;
    return true;
}

// h=: names separated by ':', white space anywhere removed (as libopendkim does); every
// name non-empty; From among them.
bool set_names(std::string_view text, FastSignature& signature) {
    const std::string compact = without_fws(text);
    if (compact.empty() || compact.size() > max_fast_signed_names_bytes)
        return false;
    bool from = false;
    std::string_view rest = compact;
    while (true) {
        const std::size_t colon = rest.find(':');
        const std::string_view name = rest.substr(0, colon);
        if (!plain_field_name(name))
            return false;
        from = from || util::equal_ignoring_ascii_case(name, "from");
        signature.names.emplace_back(name);
        if (colon == std::string_view::npos)
            break;
        rest.remove_prefix(colon + 1);
    }
    return from;
}

// Seconds since the epoch written as 1 to 12 digits; 0 for anything else.
std::uint64_t plain_seconds(std::string_view text) {
    if (text.empty() || text.size() > 12 || !std::all_of(text.begin(), text.end(), is_digit))
        return 0;
    std::uint64_t seconds = 0;
    for (const char c : text)
        seconds = seconds * 10 + static_cast<std::uint64_t>(c - '0');
    return seconds;
}

// t=: not in the future (libopendkim subtracts its drift from t= unsigned, so a smaller t=
// would be "in the future" for it).
bool plain_timestamp(std::uint64_t seconds, std::uint64_t now) {
    return seconds >= dkim_clock_drift_seconds && seconds <= now;
}

// i=: [local-part]@domain, the domain d= (A-labels) or below it, nothing to decode; the
// local part may be UTF-8 and the domain U-labels (RFC 8616 §4).
bool plain_identity(std::string_view text, std::string_view domain) {
    const std::size_t at = text.find('@');
    if (at == std::string_view::npos || text.size() > 200)
        return false;
    const std::string_view local = text.substr(0, at);
    std::string host;
    if (!std::all_of(local.begin(), local.end(),
                     [](char c) {
                         return is_alpha(c) || is_digit(c) || c == '.' || c == '-' || c == '_' ||
                                c == '+' || static_cast<unsigned char>(c) >= 0x80;
                     }) ||
        !take_name(text.substr(at + 1), host))
        return false;
    if (util::equal_ignoring_ascii_case(host, domain))
        return true;
    return host.size() > domain.size() && host[host.size() - domain.size() - 1] == '.' &&
           util::equal_ignoring_ascii_case(host.substr(host.size() - domain.size()), domain);
}

enum Tag : unsigned {
    tag_v = 1,
    tag_a = 2,
    tag_b = 4,
    tag_bh = 8,
    tag_c = 16,
    tag_d = 32,
    tag_h = 64,
    tag_s = 128,
    tag_t = 256,
    tag_q = 512,
    tag_i = 1024,
    tag_x = 2048
};
constexpr unsigned required_tags = tag_v | tag_a | tag_b | tag_bh | tag_d | tag_h | tag_s;

unsigned tag_of(std::string_view name) {
    static constexpr std::pair<std::string_view, Tag> known[] = {
        {"v", tag_v}, {"a", tag_a}, {"b", tag_b}, {"bh", tag_bh}, {"c", tag_c}, {"d", tag_d},
        {"h", tag_h}, {"s", tag_s}, {"t", tag_t}, {"q", tag_q},   {"i", tag_i}, {"x", tag_x}};
    for (const auto& [text, tag] : known)
        if (name == text)
            return tag;
    return 0;
}

// One tag's value (white space around it already removed, `raw` as written); false when
// the fast path does not take it.
bool take_tag(unsigned tag, std::string_view raw, std::string_view text, std::uint64_t now,
              FastSignature& signature, std::string_view& identity) {
    const auto spaced = [text] { return std::any_of(text.begin(), text.end(), is_fws_byte); };
    switch (tag) {
    case tag_v:
        return text == "1";
    case tag_a:
        if (text != "rsa-sha256" && text != "ed25519-sha256")
            return false;
        signature.algorithm = text;
        return true;
    case tag_c:
        return !spaced() && set_canons(text, signature);
    case tag_d:
        return take_name(text, signature.domain);
    case tag_s:
        return take_name(text, signature.selector);
    case tag_h:
        return set_names(raw, signature);
    case tag_t:
        signature.timestamp = plain_seconds(text);
        return plain_timestamp(signature.timestamp, now);
    case tag_x:
        // Not expired for libopendkim whatever its drift (expired: now >= x + drift); after
        // any t= we take, which is at most now (RFC 6376 §3.5: x= greater than t=).
        signature.expires = plain_seconds(text);
        return signature.expires > now;
    case tag_q:
        return text == "dns/txt";
    case tag_i:
        identity = text; // checked against d= at the end
        return !spaced();
    case tag_bh: {
        auto decoded = decode_canonical_base64(raw);
        if (!decoded || decoded->empty())
            return false;
        signature.body_hash = std::move(*decoded);
        return true;
    }
    case tag_b: {
        auto decoded = decode_base64(raw);
        if (!decoded || decoded->empty())
            return false;
        signature.signature = std::move(*decoded);
        return true;
    }
    default:
        return false;
    }
}

void canonical_field(std::string& out, DkimBodyHash::Canon canon, std::string_view name,
                     std::string_view value) {
    if (canon == DkimBodyHash::Canon::simple) {
        out += name;
        out += ':';
        out += value;
        return;
    }
    for (const char c : name)
        out += util::ascii_lower(c);
    out += ':';
    std::size_t at = 0;
    while (at < value.size() && is_fws_byte(value[at]))
        ++at;
    bool space = false;
    while (at < value.size()) {
        if (is_c_space(value[at])) {
            space = true;
            ++at;
            continue;
        }
        std::size_t end = at; // a word, appended whole
        while (end < value.size() && !is_c_space(value[end]))
            ++end;
        if (space)
            out += ' ';
        space = false;
        out.append(value.data() + at, end - at);
        at = end;
    }
}

} // namespace

bool plain_field_name(std::string_view name) {
    return !name.empty() && name.size() <= 998 && std::all_of(name.begin(), name.end(), [](char c) {
        return c > ' ' && c < 0x7f && c != ':' && c != ';';
    });
}

std::optional<FastSignature> read_fast_signature(std::string_view value, std::uint64_t now) {
    if (value.size() > max_fast_signature_bytes || !plain_header_value(value))
        return std::nullopt;
    FastSignature signature;
    std::string_view identity;
    unsigned seen = 0;
    std::size_t at = 0;
    while (true) {
        while (at < value.size() && is_fws_byte(value[at]))
            ++at;
        if (at == value.size())
            break;
        const std::size_t name_begin = at;
        if (!is_alpha(value[at]))
            return std::nullopt;
        while (at < value.size() &&
               (is_alpha(value[at]) || is_digit(value[at]) || value[at] == '_'))
            ++at;
        const unsigned tag = tag_of(value.substr(name_begin, at - name_begin));
        if (tag == 0 || (seen & tag) != 0 || at == value.size() || value[at] != '=')
            return std::nullopt; // unknown or repeated tag, or "name =" (libopendkim keeps
                                 // such a b= value in the hash)
        seen |= tag;
        const std::size_t value_begin = at + 1;
        const std::size_t end = std::min(value.find(';', value_begin), value.size());
        const std::string_view raw = value.substr(value_begin, end - value_begin);
        if (!take_tag(tag, raw, trim_fws(raw), now, signature, identity))
            return std::nullopt;
        if (tag == tag_b) {
            signature.b_value_begin = value_begin;
            signature.b_value_end = end;
        }
        if (end == value.size())
            break;
        at = end + 1;
    }
    if ((seen & required_tags) != required_tags)
        return std::nullopt;
    if ((seen & tag_i) != 0 && !plain_identity(identity, signature.domain))
        return std::nullopt;
    return signature;
}

std::optional<std::array<unsigned char, 32>> dkim_header_hash(std::span<const HeaderField> fields,
                                                              std::span<const std::string> names,
                                                              DkimBodyHash::Canon canon,
                                                              const HeaderField& signature_field) {
    thread_local std::string canonical;
    canonical.clear();
    thread_local std::vector<bool> used;
    used.assign(fields.size(), false);
    for (const auto& name : names) {
        // The last field of that name not used yet (RFC 6376 §5.4.2).
        for (std::size_t index = fields.size(); index-- > 0;) {
            if (used[index] || !util::equal_ignoring_ascii_case(fields[index].name, name))
                continue;
            used[index] = true;
            canonical_field(canonical, canon, fields[index].name, fields[index].value);
            canonical += "\r\n";
            break;
        }
    }
    canonical_field(canonical, canon, signature_field.name, signature_field.value);
    std::array<unsigned char, 32> digest{};
    unsigned length = 0;
    if (EVP_Digest(canonical.data(), canonical.size(), digest.data(), &length, sha256_method(),
                   nullptr) != 1 ||
        length != digest.size())
        return std::nullopt;
    return digest;
}

std::optional<std::array<unsigned char, 32>> dkim_header_hash(std::span<const HeaderField> fields,
                                                              std::size_t signature_index,
                                                              const FastSignature& signature) {
    const HeaderField& own = fields[signature_index];
    std::string emptied(own.value.substr(0, signature.b_value_begin));
    emptied += own.value.substr(std::min(signature.b_value_end, own.value.size()));
    return dkim_header_hash(fields, signature.names, signature.header_canon, {own.name, emptied});
}

} // namespace mailwarden::auth
