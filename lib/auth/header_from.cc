// RFC 5322 From: parsing for DMARC; see header_from.hh for the contract and the decisions.
// Three passes over one value: unfold (bounded by max_header_from_bytes), lex into atoms,
// quoted strings, domain literals and specials with comments dropped, then a recursive
// descent over the tokens for mailbox-list / group / name-addr / addr-spec. Each pass
// returns the first FromProblem it meets; nothing here throws except std::bad_alloc.
#include "auth/header_from.hh"
#include "auth/idna.hh"
#include "util/ascii.hh"

#include "util/utf8.hh"

#include <optional>

namespace mailwarden::auth {
namespace {

enum class TokenKind { atom, quoted, literal, special };

struct Token {
    TokenKind kind;
    std::string text; // atom text, quoted-string content (unescaped), or the special char
    bool eight_bit = false;
};

struct Mailbox {
    std::string local_part;
    std::string domain;
};

bool is_wsp(char c) {
    return c == ' ' || c == '\t';
}

bool is_eight_bit(char c) {
    return static_cast<unsigned char>(c) >= 0x80;
}

// C0 controls other than HTAB, and DEL: never allowed, not even quoted.
bool is_forbidden_control(char c) {
    const auto byte = static_cast<unsigned char>(c);
    return (byte < 0x20 && c != '\t') || byte == 0x7F;
}

bool is_atext(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return std::string_view{"!#$%&'*+-/=?^_`{|}~"}.find(c) != std::string_view::npos ||
           is_eight_bit(c);
}

bool is_special(char c) {
    return std::string_view{"<>:;@,."}.find(c) != std::string_view::npos;
}

using util::valid_utf8;

using util::ascii_lower;

bool is_ldh_label(std::string_view label) {
    if (label.empty() || label.size() > max_label_bytes || label.front() == '-' ||
        label.back() == '-') {
        return false;
    }
    for (const char c : label) {
        const bool ldh =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ldh) {
            return false;
        }
    }
    return true;
}

// Hostname as in header_from.hh; domain has no trailing dot here.
bool valid_hostname(std::string_view domain) {
    if (domain.empty() || domain.size() > max_domain_bytes) {
        return false;
    }
    std::size_t labels = 0;
    std::string_view last;
    std::size_t start = 0;
    while (true) {
        const std::size_t dot = domain.find('.', start);
        last = domain.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (!is_ldh_label(last)) {
            return false;
        }
        ++labels;
        if (dot == std::string_view::npos) {
            break;
        }
        start = dot + 1;
    }
    const bool numeric_tld = last.find_first_not_of("0123456789") == std::string_view::npos;
    return labels >= 2 && !numeric_tld;
}

// Undoes folding. CR/LF not followed by WSP, or a result over the bound, is invalid_syntax.
FromProblem unfold(std::string_view value, std::string& out) {
    out.clear();
    for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\r' || value[i] == '\n') {
            std::size_t next = i + 1;
            if (value[i] == '\r' && next < value.size() && value[next] == '\n') {
                ++next;
            }
            if (next >= value.size() || !is_wsp(value[next])) {
                return FromProblem::invalid_syntax;
            }
            i = next - 1; // the WSP itself is kept
            continue;
        }
        if (out.size() == max_header_from_bytes) {
            return FromProblem::invalid_syntax;
        }
        out.push_back(value[i]);
    }
    return FromProblem::none;
}

// Turns one unfolded value into tokens; comments and whitespace are dropped.
class Lexer {
public:
    explicit Lexer(std::string_view text) : text_(text) {}

    FromProblem run(std::vector<Token>& tokens) {
        while (pos_ < text_.size()) {
            const char c = text_[pos_];
            FromProblem problem = FromProblem::none;
            if (is_wsp(c)) {
                ++pos_;
            } else if (c == '(') {
                problem = skip_comment();
            } else if (c == '"') {
                problem = read_delimited(tokens, TokenKind::quoted, '"');
            } else if (c == '[') {
                problem = read_delimited(tokens, TokenKind::literal, ']');
            } else if (c == ')' || c == ']') {
                problem = FromProblem::unbalanced;
            } else if (is_special(c)) {
                tokens.push_back({TokenKind::special, std::string(1, c)});
                ++pos_;
            } else if (is_atext(c)) {
                read_atom(tokens);
            } else {
                problem = FromProblem::invalid_syntax; // controls, NUL, stray backslash
            }
            if (problem != FromProblem::none) {
                return problem;
            }
        }
        return FromProblem::none;
    }

private:
    void read_atom(std::vector<Token>& tokens) {
        Token atom{TokenKind::atom, {}};
        while (pos_ < text_.size() && is_atext(text_[pos_])) {
            atom.eight_bit = atom.eight_bit || is_eight_bit(text_[pos_]);
            atom.text.push_back(text_[pos_++]);
        }
        tokens.push_back(std::move(atom));
    }

    // Next character of a quoted string, comment or literal, resolving one quoted-pair.
    // Returns nullopt at the end of the text (the caller's construct is unbalanced).
    std::optional<char> next_content_char(bool& quoted_pair, FromProblem& problem) {
        quoted_pair = false;
        if (pos_ >= text_.size()) {
            return std::nullopt;
        }
        if (text_[pos_] == '\\') {
            if (++pos_ >= text_.size()) {
                return std::nullopt;
            }
            quoted_pair = true;
        }
        const char c = text_[pos_++];
        if (is_forbidden_control(c)) {
            problem = FromProblem::invalid_syntax;
        }
        return c;
    }

    FromProblem skip_comment() {
        std::size_t depth = 0;
        FromProblem problem = FromProblem::none;
        bool quoted_pair = false;
        while (const auto c = next_content_char(quoted_pair, problem)) {
            if (problem != FromProblem::none) {
                return problem;
            }
            if (quoted_pair) {
                continue;
            }
            if (*c == '(' && ++depth > max_comment_depth) {
                return FromProblem::invalid_syntax;
            }
            if (*c == ')' && --depth == 0) {
                return FromProblem::none;
            }
        }
        return FromProblem::unbalanced;
    }

    // Quoted string ("...") or domain literal ([...]); pos_ is at the opening character.
    FromProblem read_delimited(std::vector<Token>& tokens, TokenKind kind, char close) {
        Token token{kind, {}};
        ++pos_;
        FromProblem problem = FromProblem::none;
        bool quoted_pair = false;
        while (const auto c = next_content_char(quoted_pair, problem)) {
            if (problem != FromProblem::none) {
                return problem;
            }
            if (!quoted_pair && *c == close) {
                tokens.push_back(std::move(token));
                return FromProblem::none;
            }
            if (!quoted_pair && kind == TokenKind::literal && *c == '[') {
                return FromProblem::invalid_syntax;
            }
            token.eight_bit = token.eight_bit || is_eight_bit(*c);
            token.text.push_back(*c);
        }
        return FromProblem::unbalanced;
    }

    std::string_view text_;
    std::size_t pos_ = 0;
};

// Angle brackets must pair up outside quotes and comments (the lexer did the others).
bool angles_balanced(const std::vector<Token>& tokens) {
    int depth = 0;
    for (const Token& token : tokens) {
        if (token.kind == TokenKind::special && token.text == "<") {
            ++depth;
        } else if (token.kind == TokenKind::special && token.text == ">" && --depth < 0) {
            return false;
        }
    }
    return depth == 0;
}

std::string quote_local_part(std::string_view content) {
    std::string quoted = "\"";
    for (const char c : content) {
        if (c == '"' || c == '\\') {
            quoted.push_back('\\');
        }
        quoted.push_back(c);
    }
    quoted.push_back('"');
    return quoted;
}

} // namespace

namespace {

// Recursive descent over the tokens of one From value: mailbox-list with RFC 6854 groups.
class MailboxListParser {
public:
    explicit MailboxListParser(const std::vector<Token>& tokens) : tokens_(tokens) {}

    FromProblem parse(std::vector<Mailbox>& mailboxes) {
        if (tokens_.empty()) {
            return FromProblem::missing;
        }
        while (true) {
            if (const FromProblem problem = parse_address(mailboxes, false);
                problem != FromProblem::none) {
                return problem;
            }
            if (at_end()) {
                break;
            }
            if (!at_special(',')) {
                return FromProblem::invalid_syntax; // trailing garbage
            }
            ++pos_;
        }
        return mailboxes.empty() ? FromProblem::no_domain : FromProblem::none;
    }

private:
    bool at_end() const { return pos_ >= tokens_.size(); }

    bool at_kind(TokenKind kind) const { return !at_end() && tokens_[pos_].kind == kind; }

    bool at_special(char c) const {
        return at_kind(TokenKind::special) && tokens_[pos_].text.front() == c;
    }

    bool at_word() const { return at_kind(TokenKind::atom) || at_kind(TokenKind::quoted); }

    // What ends a mailbox: the list separator, a group's end, or the end of the value.
    bool at_mailbox_end() const { return at_end() || at_special(',') || at_special(';'); }

    // address = mailbox / group; the phrase before the first non-word decides which.
    FromProblem parse_address(std::vector<Mailbox>& mailboxes, bool in_group) {
        const std::size_t start = pos_;
        while (at_word() || at_special('.')) {
            ++pos_;
        }
        const bool has_phrase = pos_ > start;
        if (at_special('<')) {
            ++pos_;
            return parse_angle_addr(mailboxes);
        }
        if (at_special('@')) {
            pos_ = start;
            return parse_addr_spec(mailboxes);
        }
        if (at_special(':')) {
            if (in_group || !has_phrase) {
                return FromProblem::invalid_syntax;
            }
            ++pos_;
            return parse_group(mailboxes);
        }
        if (has_phrase && (at_mailbox_end() || at_special('>'))) {
            return FromProblem::no_domain; // "From: alice"
        }
        return FromProblem::invalid_syntax; // empty list element, literal, stray special
    }

    FromProblem parse_group(std::vector<Mailbox>& mailboxes) {
        if (at_special(';')) {
            ++pos_;
            return FromProblem::none;
        }
        while (true) {
            if (const FromProblem problem = parse_address(mailboxes, true);
                problem != FromProblem::none) {
                return problem;
            }
            if (at_special(';')) {
                ++pos_;
                return FromProblem::none;
            }
            if (!at_special(',')) {
                return FromProblem::invalid_syntax; // also a group without its ';'
            }
            ++pos_;
        }
    }

    // After '<': addr-spec '>'; "<>" has no domain, obs-route is refused.
    FromProblem parse_angle_addr(std::vector<Mailbox>& mailboxes) {
        if (at_special('>')) {
            ++pos_;
            return FromProblem::no_domain;
        }
        if (const FromProblem problem = parse_addr_spec(mailboxes); problem != FromProblem::none) {
            return problem;
        }
        if (!at_special('>')) {
            return FromProblem::invalid_syntax;
        }
        ++pos_;
        return FromProblem::none;
    }

    FromProblem parse_addr_spec(std::vector<Mailbox>& mailboxes) {
        Mailbox mailbox;
        if (const FromProblem problem = parse_local_part(mailbox.local_part);
            problem != FromProblem::none) {
            return problem;
        }
        if (!at_special('@')) {
            return at_mailbox_end() || at_special('>') ? FromProblem::no_domain
                                                       : FromProblem::invalid_syntax;
        }
        ++pos_;
        if (const FromProblem problem = parse_domain(mailbox.domain);
            problem != FromProblem::none) {
            return problem;
        }
        mailboxes.push_back(std::move(mailbox));
        return FromProblem::none;
    }

    // local-part = word *("." word); quoted words keep their quotes in the result.
    FromProblem parse_local_part(std::string& local_part) {
        while (true) {
            if (!at_word()) {
                return FromProblem::invalid_syntax; // "@x.org", "a.@x.org", ".a@x.org"
            }
            const Token& word = tokens_[pos_++];
            if (word.eight_bit && !valid_utf8(word.text)) {
                return FromProblem::invalid_syntax;
            }
            local_part += word.kind == TokenKind::quoted ? quote_local_part(word.text) : word.text;
            if (local_part.size() > max_local_part_bytes) {
                return FromProblem::invalid_syntax;
            }
            if (!at_special('.')) {
                return FromProblem::none;
            }
            local_part.push_back('.');
            ++pos_;
        }
    }

    // domain = atom *("." atom) ["."], then validated as a hostname and lower-cased.
    FromProblem parse_domain(std::string& domain) {
        if (at_kind(TokenKind::literal)) {
            return FromProblem::invalid_domain;
        }
        if (!at_kind(TokenKind::atom)) {
            return at_mailbox_end() || at_special('>') ? FromProblem::no_domain
                                                       : FromProblem::invalid_syntax;
        }
        while (at_kind(TokenKind::atom)) {
            if (domain.size() > max_idna_input_bytes) {
                return FromProblem::invalid_domain;
            }
            for (const char c : tokens_[pos_++].text) {
                domain.push_back(ascii_lower(c));
            }
            if (!at_special('.')) {
                break;
            }
            ++pos_; // a dot not followed by an atom is the one allowed trailing dot
            if (at_kind(TokenKind::atom)) {
                domain.push_back('.');
            }
        }
        // RFC 8616 §5: U-labels become A-labels before DMARC discovery and alignment.
        auto ascii = domain_to_ascii(domain);
        if (!ascii || !valid_hostname(*ascii)) {
            return FromProblem::invalid_domain;
        }
        domain = std::move(*ascii);
        return FromProblem::none;
    }

    const std::vector<Token>& tokens_;
    std::size_t pos_ = 0;
};

} // namespace

std::string_view from_problem_name(FromProblem problem) {
    switch (problem) {
    case FromProblem::none:
        return "none";
    case FromProblem::missing:
        return "missing";
    case FromProblem::multiple_headers:
        return "multiple_headers";
    case FromProblem::multiple_addresses:
        return "multiple_addresses";
    case FromProblem::no_domain:
        return "no_domain";
    case FromProblem::unbalanced:
        return "unbalanced";
    case FromProblem::invalid_syntax:
        return "invalid_syntax";
    case FromProblem::invalid_domain:
        return "invalid_domain";
    }
    return "unknown";
}

HeaderFrom parse_header_from_value(std::string_view value) {
    HeaderFrom result;
    std::string unfolded;
    std::vector<Token> tokens;
    std::vector<Mailbox> mailboxes;
    result.problem = unfold(value, unfolded);
    if (result.problem == FromProblem::none) {
        result.problem = Lexer(unfolded).run(tokens);
    }
    if (result.problem == FromProblem::none && !angles_balanced(tokens)) {
        result.problem = FromProblem::unbalanced;
    }
    if (result.problem == FromProblem::none) {
        result.problem = MailboxListParser(tokens).parse(mailboxes);
    }
    if (result.problem != FromProblem::none) {
        return result;
    }
    result.address = mailboxes.front().local_part + "@" + mailboxes.front().domain;
    result.domain = mailboxes.front().domain;
    for (Mailbox& mailbox : mailboxes) {
        result.domains.push_back(std::move(mailbox.domain));
    }
    if (mailboxes.size() > 1) {
        result.problem = FromProblem::multiple_addresses;
    }
    return result;
}

HeaderFrom parse_header_from(std::span<const std::string_view> values) {
    if (values.empty()) {
        return HeaderFrom{FromProblem::missing, {}, {}, {}};
    }
    HeaderFrom first = parse_header_from_value(values.front());
    if (values.size() == 1) {
        return first;
    }
    HeaderFrom result{FromProblem::multiple_headers, {}, {}, {}};
    if (first.problem == FromProblem::none) {
        result.address = first.address;
        result.domain = first.domain;
    }
    bool each_one_mailbox = true;
    for (std::size_t i = 0; i < values.size(); ++i) {
        HeaderFrom one = i == 0 ? std::move(first) : parse_header_from_value(values[i]);
        each_one_mailbox = each_one_mailbox && one.problem == FromProblem::none;
        if (each_one_mailbox) {
            result.domains.push_back(std::move(one.domain));
        }
    }
    if (!each_one_mailbox) {
        result.domains.clear();
    }
    return result;
}

} // namespace mailwarden::auth
