// See dmarc_record.hh for the contract and the decisions.
#include "auth/dmarc_record.hh"

#include "auth/header_from.hh"
#include "util/ascii.hh"
#include "util/percent.hh"

#include <algorithm>

namespace mailwarden::auth {

namespace {

bool is_wsp(char c) {
    return c == ' ' || c == '\t';
}

std::string_view trim_wsp(std::string_view text) {
    while (!text.empty() && is_wsp(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && is_wsp(text.back()))
        text.remove_suffix(1);
    return text;
}

bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

struct Tag {
    std::string name; // lower-cased
    std::string_view value;
};

// "name = value" of one segment between semicolons; nullopt when it is not a tag.
std::optional<Tag> split_tag(std::string_view segment) {
    const std::size_t equals = segment.find('=');
    if (equals == std::string_view::npos)
        return std::nullopt;
    const std::string_view name = trim_wsp(segment.substr(0, equals));
    const std::string_view value = trim_wsp(segment.substr(equals + 1));
    if (name.empty() || value.empty())
        return std::nullopt;
    for (const char c : name)
        if (!is_alpha(c))
            return std::nullopt;
    return Tag{util::ascii_lowered(name), value};
}

// The segments of a tag-value list, in order.
std::vector<std::string_view> segments_of(std::string_view text) {
    std::vector<std::string_view> segments;
    while (true) {
        const std::size_t semicolon = text.find(';');
        segments.push_back(trim_wsp(text.substr(0, semicolon)));
        if (semicolon == std::string_view::npos)
            return segments;
        text.remove_prefix(semicolon + 1);
    }
}

std::optional<DmarcPolicy> policy_value(std::string_view value) {
    const std::string word = util::ascii_lowered(value);
    if (word == "none")
        return DmarcPolicy::none;
    if (word == "quarantine")
        return DmarcPolicy::quarantine;
    if (word == "reject")
        return DmarcPolicy::reject;
    return std::nullopt;
}

// RFC 3986 scheme ":" and something after it, without white space (a syntactically valid URI
// as far as the p=none rule of §4.10.1 needs).
bool looks_like_uri(std::string_view uri) {
    const std::size_t colon = uri.find(':');
    if (colon == 0 || colon == std::string_view::npos || colon + 1 == uri.size() ||
        !is_alpha(uri.front()))
        return false;
    for (std::size_t i = 1; i < colon; ++i) {
        const char c = uri[i];
        if (!is_alpha(c) && !(c >= '0' && c <= '9') && c != '+' && c != '-' && c != '.')
            return false;
    }
    for (const char c : uri)
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
            return false;
    return true;
}

// Percent-decoding; nullopt on a malformed escape or a decoded control byte.
std::optional<std::string> percent_decoded(std::string_view text) {
    auto out = util::percent_decode(text);
    if (!out || std::any_of(out->begin(), out->end(), [](char c) {
            return static_cast<unsigned char>(c) < ' ' || c == 0x7f;
        }))
        return std::nullopt;
    return out;
}

// The URIs of a urilist, obsolete "!size" suffixes removed; has_valid set when any is a
// syntactically valid URI.
std::vector<std::string> uri_list(std::string_view value, bool& has_valid) {
    std::vector<std::string> addresses;
    while (!value.empty()) {
        const std::size_t comma = value.find(',');
        std::string_view uri = trim_wsp(value.substr(0, comma));
        value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
        if (const std::size_t bang = uri.find('!'); bang != std::string_view::npos)
            uri = uri.substr(0, bang);
        if (!looks_like_uri(uri))
            continue;
        has_valid = true;
        if (addresses.size() < max_report_uris)
            if (auto address = mailto_address(uri))
                addresses.push_back(std::move(*address));
    }
    return addresses;
}

// fo: 0 and 1 exclusive, d and s at most once each, colon-separated (§4.8 dmarc-fo).
bool valid_fo(std::string_view value) {
    bool zero_or_one = false, d = false, s = false;
    while (true) {
        const std::size_t colon = value.find(':');
        const std::string_view item = trim_wsp(value.substr(0, colon));
        bool* seen = item == "0" || item == "1" ? &zero_or_one
                     : item == "d"              ? &d
                     : item == "s"              ? &s
                                                : nullptr;
        if (seen == nullptr || *seen)
            return false;
        *seen = true;
        if (colon == std::string_view::npos)
            return true;
        value.remove_prefix(colon + 1);
    }
}

bool yes_or_no(std::string_view value, bool& flag) {
    const std::string word = util::ascii_lowered(value);
    if (word != "y" && word != "n")
        return false;
    flag = word == "y";
    return true;
}

bool alignment_mode(std::string_view value, bool& strict) {
    const std::string word = util::ascii_lowered(value);
    if (word != "r" && word != "s")
        return false;
    strict = word == "s";
    return true;
}

bool psd_value(std::string_view value, DmarcPsd& psd) {
    const std::string word = util::ascii_lowered(value);
    if (word == "y" || word == "n" || word == "u") {
        psd = word == "y" ? DmarcPsd::yes : word == "n" ? DmarcPsd::no : DmarcPsd::unspecified;
        return true;
    }
    return false;
}

struct PolicyTags {
    std::optional<DmarcPolicy> p, sp, np;
    bool invalid_p = true, invalid_sp = false, invalid_np = false;
};

// One tag into the record; false when its value is invalid.
bool apply_tag(const Tag& tag, DmarcRecord& record, PolicyTags& policies) {
    const std::string_view value = tag.value;
    if (tag.name == "p") {
        policies.p = policy_value(value);
        policies.invalid_p = !policies.p;
        return policies.p.has_value();
    }
    if (tag.name == "sp" || tag.name == "np") {
        auto& policy = tag.name == "sp" ? policies.sp : policies.np;
        policy = policy_value(value);
        (tag.name == "sp" ? policies.invalid_sp : policies.invalid_np) = !policy;
        return policy.has_value();
    }
    if (tag.name == "adkim")
        return alignment_mode(value, record.strict_dkim);
    if (tag.name == "aspf")
        return alignment_mode(value, record.strict_spf);
    if (tag.name == "t")
        return yes_or_no(value, record.testing);
    if (tag.name == "psd")
        return psd_value(value, record.psd);
    if (tag.name == "fo") {
        if (!valid_fo(value))
            return false;
        record.fo = std::string(value);
        return true;
    }
    if (tag.name == "rua")
        record.rua = uri_list(value, record.has_rua);
    else if (tag.name == "ruf") {
        bool ignored = false;
        record.ruf = uri_list(value, ignored);
    }
    return true;
}

} // namespace

std::string_view policy_name(DmarcPolicy policy) {
    switch (policy) {
    case DmarcPolicy::quarantine:
        return "quarantine";
    case DmarcPolicy::reject:
        return "reject";
    default:
        return "none";
    }
}

DmarcPolicy weaker_policy(DmarcPolicy policy) {
    return policy == DmarcPolicy::reject ? DmarcPolicy::quarantine : DmarcPolicy::none;
}

bool is_dmarc_record(std::string_view text) {
    const std::vector<std::string_view> segments = segments_of(trim_wsp(text));
    const auto version = split_tag(segments.front());
    return version && version->name == "v" && version->value == "DMARC1";
}

std::optional<std::string> mailto_address(std::string_view uri) {
    if (uri.size() < 7 || !util::equal_ignoring_ascii_case(uri.substr(0, 7), "mailto:"))
        return std::nullopt;
    uri.remove_prefix(7);
    uri = uri.substr(0, uri.find('?')); // hfields (RFC 6068) are not ours to use
    auto address = percent_decoded(uri);
    if (!address || address->find_first_of(" \t,<>") != std::string::npos)
        return std::nullopt;
    const HeaderFrom parsed = parse_header_from_value(*address);
    if (parsed.problem != FromProblem::none)
        return std::nullopt;
    return parsed.address.substr(0, parsed.address.rfind('@') + 1) + parsed.domain;
}

std::optional<DmarcRecord> parse_dmarc_record(std::string_view text) {
    if (!is_dmarc_record(text))
        return std::nullopt;
    const std::vector<std::string_view> segments = segments_of(trim_wsp(text));
    DmarcRecord record;
    PolicyTags policies;
    std::vector<std::string> seen;
    for (std::size_t i = 1; i < segments.size(); ++i) {
        if (segments[i].empty())
            continue;
        const auto tag = split_tag(segments[i]);
        if (!tag) {
            record.errors.push_back("ignored a malformed tag");
            continue;
        }
        if (std::find(seen.begin(), seen.end(), tag->name) != seen.end()) {
            record.errors.push_back("ignored a repeated " + tag->name + " tag");
            continue;
        }
        seen.push_back(tag->name);
        if (!apply_tag(*tag, record, policies))
            record.errors.push_back("invalid " + tag->name + " value, default used");
    }
    if (policies.invalid_p || policies.invalid_sp || policies.invalid_np) {
        record.p = DmarcPolicy::none; // §4.10.1: p=none when rua is usable, else no DMARC
        record.broken = !record.has_rua;
        record.errors.push_back(policies.invalid_p ? "no valid p tag" : "invalid sp or np tag");
        return record;
    }
    record.p = *policies.p;
    record.sp = policies.sp;
    record.np = policies.np;
    return record;
}

} // namespace mailwarden::auth
