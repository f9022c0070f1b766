// Zone-file parser and in-zone lookup; see zone_file.hh for the format. Errors are values
// ("SOURCE:LINE: why"); nothing here throws except std::bad_alloc.
#include "dns/zone_file.hh"
#include "util/ascii.hh"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace mailwarden::dns {
namespace {

constexpr std::size_t max_character_string = 255;
constexpr int max_cname_hops = 8;

struct Token {
    std::string text;
    bool quoted = false;
};

// Splits a line into bare words and unescaped "quoted" strings; stops at a comment.
std::optional<std::string> tokenize(std::string_view line, std::vector<Token>& tokens) {
    std::size_t i = 0;
    while (i < line.size()) {
        char c = line[i];
        if (c == ' ' || c == '\t' || c == '\r') {
            ++i;
        } else if (c == ';' || c == '#') {
            break;
        } else if (c == '"') {
            Token token{"", true};
            ++i;
            for (;;) {
                if (i >= line.size())
                    return "unterminated quoted string";
                c = line[i++];
                if (c == '"')
                    break;
                if (c != '\\') {
                    token.text += c;
                    continue;
                }
                if (i >= line.size())
                    return "backslash at end of line";
                if (line[i] >= '0' && line[i] <= '9') {
                    unsigned value = 0;
                    for (int digit = 0; digit < 3; ++digit, ++i) {
                        if (i >= line.size() || line[i] < '0' || line[i] > '9')
                            return "\\DDD escape needs three digits";
                        value = value * 10 + unsigned(line[i] - '0');
                    }
                    if (value > 255)
                        return "\\DDD escape above 255";
                    token.text += char(value);
                } else {
                    token.text += line[i++];
                }
            }
            if (i < line.size() && line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
                return "text directly after a closing quote";
            tokens.push_back(std::move(token));
        } else {
            std::size_t end = line.find_first_of(" \t\r;#\"", i);
            if (end == std::string_view::npos)
                end = line.size();
            tokens.push_back({std::string(line.substr(i, end - i)), false});
            i = end;
        }
    }
    return std::nullopt;
}

std::optional<std::uint32_t> parse_number(std::string_view text, std::uint32_t max) {
    std::uint32_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() || value > max)
        return std::nullopt;
    return value;
}

std::optional<RrType> parse_type(std::string type) {
    std::transform(type.begin(), type.end(), type.begin(),
                   [](unsigned char c) { return char(std::toupper(c)); });
    static const std::map<std::string, RrType> types = {
        {"A", RrType::a},     {"AAAA", RrType::aaaa},   {"MX", RrType::mx},
        {"TXT", RrType::txt}, {"SPF", RrType::spf},     {"PTR", RrType::ptr},
        {"NS", RrType::ns},   {"CNAME", RrType::cname}, {"SOA", RrType::soa},
    };
    auto found = types.find(type);
    if (found == types.end())
        return std::nullopt;
    return found->second;
}

// Fills the type-specific fields of `record` from the tokens after the type.
std::optional<std::string> parse_rdata(ZoneRecord& record, const std::vector<Token>& rdata) {
    auto bare = [&](std::size_t count) {
        return rdata.size() == count &&
               std::none_of(rdata.begin(), rdata.end(), [](const Token& t) { return t.quoted; });
    };
    switch (record.type) {
    case RrType::a:
    case RrType::aaaa: {
        int family = record.type == RrType::a ? AF_INET : AF_INET6;
        unsigned char address[16];
        char text[INET6_ADDRSTRLEN];
        if (!bare(1) || inet_pton(family, rdata[0].text.c_str(), address) != 1 ||
            !inet_ntop(family, address, text, sizeof text))
            return family == AF_INET ? "A needs one IPv4 address" : "AAAA needs one IPv6 address";
        record.text = text;
        return std::nullopt;
    }
    case RrType::mx: {
        std::optional<std::uint32_t> preference;
        if (bare(2))
            preference = parse_number(rdata[0].text, 65535);
        if (!preference)
            return "MX needs a preference (0-65535) and a name";
        record.preference = std::uint16_t(*preference);
        auto target = rdata[1].text == "." ? std::optional<std::string>("") // null MX
                                           : canonical_name(rdata[1].text);
        if (!target)
            return "MX target is not a valid name";
        record.text = *target;
        return std::nullopt;
    }
    case RrType::txt:
    case RrType::spf:
        if (rdata.empty())
            return "TXT/SPF needs at least one quoted string";
        for (const Token& token : rdata) {
            if (!token.quoted)
                return "TXT/SPF data must be \"quoted\" strings";
            if (token.text.size() > max_character_string)
                return "a TXT/SPF string is longer than 255 bytes; split it";
            record.strings.push_back(token.text);
        }
        return std::nullopt;
    case RrType::soa: {
        std::optional<std::string> mname, rname;
        if (bare(7)) {
            mname = canonical_name(rdata[0].text);
            rname = canonical_name(rdata[1].text);
        }
        for (std::size_t i = 0; mname && rname && i < 5; ++i) {
            const auto value = parse_number(rdata[2 + i].text, 0xffffffff);
            if (!value)
                return "SOA needs MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM";
            record.soa_values[i] = *value;
        }
        if (!mname || !rname)
            return "SOA needs MNAME RNAME SERIAL REFRESH RETRY EXPIRE MINIMUM";
        record.text = *mname;
        record.strings = {*rname};
        return std::nullopt;
    }
    default: {
        std::optional<std::string> target;
        if (bare(1))
            target = canonical_name(rdata[0].text);
        if (!target)
            return "PTR/CNAME/NS needs one valid name";
        record.text = *target;
        return std::nullopt;
    }
    }
}

} // namespace

std::string ZoneRecord::presentation() const {
    std::string result = text;
    if (type == RrType::soa) {
        result += " " + strings.at(0);
        for (const std::uint32_t value : soa_values)
            result += " " + std::to_string(value);
        return result;
    }
    for (const std::string& piece : strings)
        result += piece;
    return result;
}

std::uint32_t ZoneAnswer::negative_ttl() const {
    return soa == nullptr ? 0 : std::min(soa->ttl, soa->soa_values[4]);
}

std::string zone_quoted(std::string_view bytes) {
    std::string out = "\"";
    for (const char c : bytes) {
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\' || byte < 0x20 || byte >= 0x7f) {
            char escape[8];
            std::snprintf(escape, sizeof escape, "\\%03u", static_cast<unsigned>(byte));
            out += escape;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string zone_txt_line(std::string_view owner, std::string_view text) {
    std::string line(owner);
    line += " TXT";
    std::size_t at = 0;
    do {
        line += ' ';
        line += zone_quoted(text.substr(at, 255));
        at += 255;
    } while (at < text.size());
    return line + "\n";
}

std::optional<std::string> canonical_name(std::string_view name, bool any_bytes) {
    if (name.size() > 1 && name.back() == '.')
        name.remove_suffix(1);
    if (name.empty() || name.size() > 253 || name == ".")
        return std::nullopt;
    std::string result;
    std::size_t label_length = 0;
    for (char c : name) {
        auto byte = static_cast<unsigned char>(c);
        if (c == '.') {
            if (label_length == 0)
                return std::nullopt;
            label_length = 0;
        } else if ((!any_bytes && (byte <= ' ' || byte >= 127 || c == '\\' || c == '"')) ||
                   ++label_length > 63) {
            return std::nullopt;
        }
        result += util::ascii_lower(c);
    }
    if (label_length == 0)
        return std::nullopt;
    return result;
}

std::optional<std::string> Zone::add(std::string_view text, std::string_view source) {
    std::vector<ZoneRecord> parsed;
    std::set<std::string> timeouts, servfails;
    std::size_t line_number = 0;
    while (!text.empty()) {
        ++line_number;
        std::size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
        auto fail = [&](std::string_view why) {
            return std::string(source) + ":" + std::to_string(line_number) + ": " +
                   std::string(why);
        };
        std::vector<Token> tokens;
        if (auto error = tokenize(line, tokens))
            return fail(*error);
        if (tokens.empty())
            continue;
        // A quoted owner may hold any bytes in its labels (the SPF suite's "a b.example").
        auto owner = canonical_name(tokens[0].text, tokens[0].quoted);
        if (!owner)
            return fail("invalid owner name");
        ZoneRecord record;
        record.owner = *owner;
        std::size_t next = 1;
        if (next < tokens.size() && !tokens[next].quoted && !tokens[next].text.empty() &&
            std::isdigit(static_cast<unsigned char>(tokens[next].text[0]))) {
            auto ttl = parse_number(tokens[next].text, 0x7fffffff);
            if (!ttl)
                return fail("invalid TTL");
            record.ttl = *ttl;
            ++next;
        }
        if (next < tokens.size() && !tokens[next].quoted &&
            (tokens[next].text == "IN" || tokens[next].text == "in"))
            ++next;
        if (next >= tokens.size() || tokens[next].quoted)
            return fail("missing record type");
        std::string type = tokens[next].text;
        std::vector<Token> rdata(tokens.begin() + std::ptrdiff_t(next) + 1, tokens.end());
        if (type == "TIMEOUT" || type == "SERVFAIL") {
            if (!rdata.empty())
                return fail(type + " takes no data");
            (type == "TIMEOUT" ? timeouts : servfails).insert(record.owner);
            continue;
        }
        auto rr_type = parse_type(type);
        if (!rr_type)
            return fail("unknown record type");
        record.type = *rr_type;
        if (auto error = parse_rdata(record, rdata))
            return fail(*error);
        parsed.push_back(std::move(record));
    }
    for (ZoneRecord& record : parsed) {
        by_owner_.emplace(record.owner, records_.size());
        records_.push_back(std::move(record));
    }
    timeout_names_.merge(timeouts);
    servfail_names_.merge(servfails);
    return std::nullopt;
}

std::optional<std::string> Zone::add_file(const std::string& path) {
    std::ifstream file(path, std::ios::binary);
    std::ostringstream content;
    if (!file || !(content << file.rdbuf()))
        return path + ": cannot read";
    return add(content.str(), path);
}

bool Zone::name_exists(const std::string& name) const {
    if (by_owner_.count(name) || timeout_names_.count(name) || servfail_names_.count(name))
        return true;
    // An empty non-terminal exists when a name below it does.
    std::string suffix = "." + name;
    auto below = [&](const std::string& owner) {
        return owner.size() > suffix.size() && owner.ends_with(suffix);
    };
    return std::any_of(records_.begin(), records_.end(),
                       [&](const ZoneRecord& record) { return below(record.owner); }) ||
           std::any_of(timeout_names_.begin(), timeout_names_.end(), below) ||
           std::any_of(servfail_names_.begin(), servfail_names_.end(), below);
}

const ZoneRecord* Zone::closest_soa(std::string name) const {
    for (;;) {
        auto [first, last] = by_owner_.equal_range(name);
        for (auto it = first; it != last; ++it)
            if (records_[it->second].type == RrType::soa)
                return &records_[it->second];
        const std::size_t dot = name.find('.');
        if (dot == std::string::npos)
            return nullptr;
        name.erase(0, dot + 1);
    }
}

ZoneAnswer Zone::lookup(std::string_view name, RrType type) const {
    ZoneAnswer answer;
    auto current = canonical_name(name, true);
    if (!current)
        return answer;
    for (int hop = 0; hop <= max_cname_hops; ++hop) {
        if (servfail_names_.count(*current)) {
            answer.status = Status::servfail;
            answer.records.clear();
            return answer;
        }
        const ZoneRecord* cname = nullptr;
        bool found = false;
        auto [first, last] = by_owner_.equal_range(*current);
        for (auto it = first; it != last; ++it) {
            const ZoneRecord& record = records_[it->second];
            if (record.type == type) {
                answer.records.push_back(&record);
                found = true;
            } else if (record.type == RrType::cname) {
                cname = &record;
            }
        }
        if (found) {
            answer.status = Status::ok;
        } else if (cname) {
            answer.records.push_back(cname);
            *current = cname->text;
            continue;
        } else if (timeout_names_.count(*current)) {
            answer.status = Status::timeout;
        } else {
            answer.status = name_exists(*current) ? Status::nodata : Status::nxdomain;
            answer.soa = closest_soa(*current);
        }
        return answer;
    }
    answer.status = Status::servfail; // CNAME loop or chain too long
    answer.records.clear();
    return answer;
}

} // namespace mailwarden::dns
