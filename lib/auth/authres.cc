// Authentication-Results (RFC 8601) build, fold, parse and forgery triage; see authres.hh
// for the contract. Parsing unfolds the value (bounded by max_authres_bytes), then reads it
// with a small cursor that skips CFWS; every step returns nullopt on the first deviation.
#include "auth/authres.hh"
#include "util/ascii.hh"

#include <algorithm>
#include <iterator>
#include <stdexcept>

namespace mailwarden::auth {
namespace {

bool is_wsp(char c) {
    return c == ' ' || c == '\t';
}

bool is_control(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7F;
}

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

using util::ascii_lower;

// RFC 2045 token character: printable US-ASCII except SPACE and tspecials.
bool is_token_char(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte > 0x20 && byte < 0x7F &&
           std::string_view{"()<>@,;:\\\"/[]?="}.find(c) == std::string_view::npos;
}

bool is_token(std::string_view text) {
    return !text.empty() && std::all_of(text.begin(), text.end(), is_token_char);
}

// RFC 8601 Keyword = ldh-str (RFC 5321): letters, digits, hyphens; no trailing hyphen.
bool is_keyword(std::string_view text) {
    return !text.empty() && is_alnum(text.front()) && text.back() != '-' &&
           std::all_of(text.begin(), text.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

bool is_atext_ascii(char c) {
    return is_alnum(c) || std::string_view{"!#$%&'*+-/=?^_`{|}~"}.find(c) != std::string_view::npos;
}

bool is_dot_atom(std::string_view text) {
    if (text.empty() || text.front() == '.' || text.back() == '.' ||
        text.find("..") != std::string_view::npos) {
        return false;
    }
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return c == '.' || is_atext_ascii(c); });
}

// A value as written by us: control bytes dropped, then a token or a quoted string.
std::string without_controls(std::string_view text) {
    std::string out;
    std::copy_if(text.begin(), text.end(), std::back_inserter(out),
                 [](char c) { return !is_control(c) || c == '\t'; });
    return out;
}

std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        if (c == '"' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

std::string value_text(std::string_view raw) {
    const std::string clean = without_controls(raw);
    return is_token(clean) ? clean : quoted(clean);
}

// pvalue may also be [local-part] "@" domain unquoted (RFC 8601 §2.2), as is customary for
// smtp.mailfrom and header.i; anything else that is not a token is quoted.
std::string pvalue_text(std::string_view raw) {
    const std::string clean = without_controls(raw);
    if (is_token(clean)) {
        return clean;
    }
    const std::size_t at = clean.rfind('@');
    if (at != std::string::npos) {
        const std::string_view local = std::string_view(clean).substr(0, at);
        const std::string_view domain = std::string_view(clean).substr(at + 1);
        if ((local.empty() || is_dot_atom(local)) && is_token(domain) &&
            domain.find('@') == std::string_view::npos) {
            return clean;
        }
    }
    return quoted(clean);
}

void require_keyword(std::string_view text, const char* what) {
    if (!is_keyword(text)) {
        throw std::invalid_argument(std::string("authres: ") + what + " is not a Keyword");
    }
}

void append_result(std::string& out, const AuthResult& result) {
    require_keyword(result.method, "method");
    require_keyword(result.result, "result");
    out += "; ";
    out += result.method;
    if (result.method_version) {
        if (*result.method_version < 0) {
            throw std::invalid_argument("authres: negative method version");
        }
        out += "/" + std::to_string(*result.method_version);
    }
    out += "=" + result.result;
    if (!result.reason.empty()) {
        out += " reason=" + value_text(result.reason);
    }
    for (const auto& [name, value] : result.properties) {
        const std::size_t dot = name.find('.');
        if (dot == std::string::npos) {
            throw std::invalid_argument("authres: property name is not ptype.property");
        }
        require_keyword(std::string_view(name).substr(0, dot), "ptype");
        require_keyword(std::string_view(name).substr(dot + 1), "property");
        out += " " + name + "=" + pvalue_text(value);
    }
}

} // namespace

std::string build_authentication_results(const AuthenticationResults& header) {
    std::string out = value_text(header.authserv_id);
    if (header.version) {
        if (*header.version < 0) {
            throw std::invalid_argument("authres: negative version");
        }
        out += " " + std::to_string(*header.version);
    }
    if (header.results.empty()) {
        out += "; none";
    }
    for (const AuthResult& result : header.results) {
        append_result(out, result);
    }
    return out;
}

namespace {

// A word of a header value between spaces outside quoted strings (possibly empty, where two
// spaces meet); starts_result: the word before it ends a result (";").
struct FoldWord {
    std::string_view text;
    bool starts_result = false;
};

std::vector<FoldWord> fold_words(std::string_view value) {
    std::vector<FoldWord> words;
    bool in_quotes = false;
    std::size_t start = 0;
    const auto add = [&](std::size_t end) {
        const bool after_semicolon = !words.empty() && words.back().text.ends_with(';');
        words.push_back({value.substr(start, end - start), after_semicolon});
        start = end + 1;
    };
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\\' && in_quotes)
            ++i; // the quoted character never splits or ends the string
        else if (value[i] == '"')
            in_quotes = !in_quotes;
        else if (value[i] == ' ' && !in_quotes)
            add(i);
    }
    add(value.size());
    return words;
}

// The width of the result that starts at words[first]: up to the next word that starts one.
std::size_t result_width(const std::vector<FoldWord>& words, std::size_t first) {
    std::size_t width = words[first].text.size();
    for (std::size_t i = first + 1; i < words.size() && !words[i].starts_result; ++i)
        width += 1 + words[i].text.size();
    return width;
}

} // namespace

std::string fold_header_value(std::string_view value, std::size_t name_length, std::size_t width,
                              std::string_view line_break) {
    const std::vector<FoldWord> words = fold_words(value);
    std::string out;
    out.reserve(value.size() + value.size() / 16);
    std::size_t column = name_length; // octets on the current line (a TAB is one)
    bool result_folded = false;       // the current result spans lines: the next one starts one
    for (std::size_t i = 0; i < words.size(); ++i) {
        const FoldWord& word = words[i];
        bool fold = false;
        if (i > 0 && !word.text.empty()) {
            if (word.starts_result)
                fold = result_folded || column + 1 + result_width(words, i) > width;
            else
                fold = column + 1 + word.text.size() > width;
        }
        if (word.starts_result)
            result_folded = false;
        if (fold) {
            out += line_break;
            out += '\t';
            column = 1;
            result_folded = result_folded || !word.starts_result;
        } else if (i > 0) {
            out += ' ';
            ++column;
        }
        out += word.text;
        column += word.text.size();
    }
    return out;
}

namespace {

// Undoes folding; any other CR or LF, or a value over max_authres_bytes, is nullopt.
std::optional<std::string> unfold(std::string_view value) {
    std::string out;
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\r' || value[i] == '\n') {
            std::size_t next = i + 1;
            if (value[i] == '\r' && next < value.size() && value[next] == '\n') {
                ++next;
            }
            if (next >= value.size() || !is_wsp(value[next])) {
                return std::nullopt;
            }
            i = next - 1;
            continue;
        }
        if (out.size() == max_authres_bytes) {
            return std::nullopt;
        }
        out.push_back(value[i]);
    }
    return out;
}

// Cursor over one unfolded value. Each read_* skips nothing before it and returns nullopt
// (leaving the cursor anywhere) when the text there is not what was asked for.
class Reader {
public:
    explicit Reader(std::string_view text) : text_(text) {}

    bool at_end() const { return pos_ >= text_.size(); }
    bool at(char c) const { return !at_end() && text_[pos_] == c; }
    bool at_digit() const { return !at_end() && text_[pos_] >= '0' && text_[pos_] <= '9'; }

    // Consumes c if it is next.
    bool take(char c) {
        if (!at(c)) {
            return false;
        }
        ++pos_;
        return true;
    }

    // Skips whitespace (CR and LF count: authserv_id_of reads raw values) and comments.
    // False on an unclosed or too deeply nested comment, or a control byte in one.
    bool skip_cfws() {
        while (!at_end()) {
            const char c = text_[pos_];
            if (is_wsp(c) || c == '\r' || c == '\n') {
                ++pos_;
            } else if (c == '(') {
                if (!skip_comment()) {
                    return false;
                }
            } else {
                break;
            }
        }
        return true;
    }

    // RFC 2045 value: token or quoted-string (content returned unescaped).
    std::optional<std::string> read_value() {
        if (at('"')) {
            return read_quoted_string();
        }
        std::string token;
        while (!at_end() && is_token_char(text_[pos_])) {
            token.push_back(text_[pos_++]);
        }
        return token.empty() ? std::nullopt : std::optional(token);
    }

    std::optional<std::string> read_keyword() {
        std::string keyword;
        while (!at_end() && (is_alnum(text_[pos_]) || text_[pos_] == '-')) {
            keyword.push_back(ascii_lower(text_[pos_++]));
        }
        return is_keyword(keyword) ? std::optional(keyword) : std::nullopt;
    }

    // 1*DIGIT, at most 9 digits so it fits an int.
    std::optional<int> read_number() {
        int number = 0;
        std::size_t digits = 0;
        while (at_digit()) {
            if (++digits > 9) {
                return std::nullopt;
            }
            number = number * 10 + (text_[pos_++] - '0');
        }
        return digits == 0 ? std::nullopt : std::optional(number);
    }

    // pvalue: quoted-string, or a run of printable non-space bytes other than ; ( ) " \.
    std::optional<std::string> read_pvalue() {
        if (at('"')) {
            return read_quoted_string();
        }
        std::string value;
        while (!at_end()) {
            const char c = text_[pos_];
            if (is_control(c) || c == ' ' ||
                std::string_view{";()\"\\"}.find(c) != std::string_view::npos) {
                break;
            }
            value.push_back(c);
            ++pos_;
        }
        return value.empty() ? std::nullopt : std::optional(value);
    }

private:
    bool skip_comment() {
        std::size_t depth = 0;
        while (!at_end()) {
            const char c = text_[pos_++];
            if (c == '\\') {
                if (at_end()) {
                    return false;
                }
                ++pos_;
            } else if (c == '(' && ++depth > max_authres_comment_depth) {
                return false;
            } else if (c == ')' && --depth == 0) {
                return true;
            } else if (is_control(c) && !is_wsp(c) && c != '\r' && c != '\n') {
                return false;
            }
        }
        return false;
    }

    std::optional<std::string> read_quoted_string() {
        std::string content;
        ++pos_;
        while (!at_end()) {
            char c = text_[pos_++];
            if (c == '"') {
                return content;
            }
            if (c == '\\') {
                if (at_end()) {
                    return std::nullopt;
                }
                c = text_[pos_++];
            }
            if (is_control(c) && c != '\t') {
                return std::nullopt;
            }
            content.push_back(c);
        }
        return std::nullopt;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

// After "reason" or a ptype keyword: the rest of reasonspec or propspec.
bool read_reason_or_property(Reader& reader, const std::string& name, AuthResult& result) {
    if (name == "reason" && result.reason.empty() && result.properties.empty() &&
        reader.take('=')) {
        if (!reader.skip_cfws()) {
            return false;
        }
        const auto reason = reader.read_value();
        result.reason = reason.value_or("");
        return reason.has_value();
    }
    if (!reader.take('.') || !reader.skip_cfws()) {
        return false;
    }
    const auto property = reader.read_keyword();
    if (!property || !reader.skip_cfws() || !reader.take('=') || !reader.skip_cfws()) {
        return false;
    }
    const auto value = reader.read_pvalue();
    if (!value || result.properties.size() == max_authres_properties) {
        return false;
    }
    result.properties.emplace_back(name + "." + *property, *value);
    return true;
}

// resinfo after its method keyword: [/version] = result [reason=...] *(ptype.prop=value).
std::optional<AuthResult> read_resinfo(Reader& reader, std::string method) {
    AuthResult result;
    result.method = std::move(method);
    if (!reader.skip_cfws()) {
        return std::nullopt;
    }
    if (reader.take('/')) {
        if (!reader.skip_cfws() || !(result.method_version = reader.read_number()) ||
            !reader.skip_cfws()) {
            return std::nullopt;
        }
    }
    if (!reader.take('=') || !reader.skip_cfws()) {
        return std::nullopt;
    }
    const auto result_word = reader.read_keyword();
    if (!result_word) {
        return std::nullopt;
    }
    result.result = *result_word;
    while (true) {
        if (!reader.skip_cfws()) {
            return std::nullopt;
        }
        if (reader.at_end() || reader.at(';')) {
            return result;
        }
        const auto name = reader.read_keyword();
        if (!name || !reader.skip_cfws() || !read_reason_or_property(reader, *name, result)) {
            return std::nullopt;
        }
    }
}

std::string normalized_id(std::string_view id) {
    std::string out = util::ascii_lowered(id);
    if (!out.empty() && out.back() == '.') {
        out.pop_back();
    }
    return out;
}

} // namespace

std::optional<AuthenticationResults> parse_authentication_results(std::string_view value) {
    const auto unfolded = unfold(value);
    if (!unfolded) {
        return std::nullopt;
    }
    Reader reader(*unfolded);
    AuthenticationResults header;
    if (!reader.skip_cfws()) {
        return std::nullopt;
    }
    auto id = reader.read_value();
    if (!id || !reader.skip_cfws()) {
        return std::nullopt;
    }
    header.authserv_id = std::move(*id);
    if (reader.at_digit() && (!(header.version = reader.read_number()) || !reader.skip_cfws())) {
        return std::nullopt;
    }
    do {
        if (!reader.take(';') || !reader.skip_cfws()) {
            return std::nullopt;
        }
        auto method = reader.read_keyword();
        if (!method || header.results.size() == max_authres_results) {
            return std::nullopt;
        }
        if (!reader.skip_cfws()) {
            return std::nullopt;
        }
        if (*method == "none" && header.results.empty() && reader.at_end()) {
            return header;
        }
        auto result = read_resinfo(reader, std::move(*method));
        if (!result) {
            return std::nullopt;
        }
        header.results.push_back(std::move(*result));
    } while (!reader.at_end());
    return header;
}

std::optional<std::string> authserv_id_of(std::string_view value) {
    Reader reader(value);
    if (!reader.skip_cfws()) {
        return std::nullopt;
    }
    return reader.read_value();
}

AuthResTriage triage_authentication_results(std::span<const std::string_view> values,
                                            std::string_view our_authserv_id,
                                            std::span<const std::string> trusted_ids) {
    AuthResTriage triage;
    const std::string ours = normalized_id(our_authserv_id);
    for (std::size_t i = 0; i < values.size(); ++i) {
        const auto id = authserv_id_of(values[i]);
        if (!id) {
            continue;
        }
        const std::string theirs = normalized_id(*id);
        if (!ours.empty() && theirs == ours) {
            triage.remove.push_back(i + 1);
        } else if (std::any_of(trusted_ids.begin(), trusted_ids.end(), [&](const std::string& t) {
                       return !theirs.empty() && normalized_id(t) == theirs;
                   })) {
            triage.trusted.push_back(i + 1);
        }
    }
    std::reverse(triage.remove.begin(), triage.remove.end());
    return triage;
}

} // namespace mailwarden::auth
