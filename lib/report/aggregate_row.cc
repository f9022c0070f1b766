// See aggregate_row.hh.
#include "report/aggregate_row.hh"

#include "util/percent.hh"

#include <algorithm>

namespace mailwarden::report {

namespace {

constexpr std::size_t max_record_bytes = 2048; // a DMARC record longer than this is cut
constexpr std::size_t max_comment_bytes = 100;

bool safe(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == '@' || c == '+' || c == ':';
}

// Percent-encoded, cut to `limit` bytes first.
std::string token(std::string_view value, std::size_t limit = max_row_value_bytes) {
    return util::percent_encode(value.substr(0, limit), safe);
}

// A token back; nullopt when it holds a byte encode would have escaped.
std::optional<std::string> untoken(std::string_view text) {
    if (!std::all_of(text.begin(), text.end(), [](char c) { return safe(c) || c == '%'; }))
        return std::nullopt;
    return util::percent_decode(text);
}

// "a/b/c" → its parts, each untokened.
std::optional<std::vector<std::string>> parts(std::string_view value, std::size_t count) {
    std::vector<std::string> out;
    while (true) {
        const std::size_t slash = value.find('/');
        auto part = untoken(value.substr(0, slash));
        if (!part)
            return std::nullopt;
        out.push_back(std::move(*part));
        if (slash == std::string_view::npos)
            break;
        value.remove_prefix(slash + 1);
    }
    if (out.size() != count)
        return std::nullopt;
    return out;
}

// name=value words of a text.
std::vector<std::pair<std::string_view, std::string_view>> words(std::string_view text) {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    while (!text.empty()) {
        const std::size_t space = text.find(' ');
        const std::string_view word = text.substr(0, space);
        const std::size_t equals = word.find('=');
        out.emplace_back(word.substr(0, equals),
                         equals == std::string_view::npos ? "" : word.substr(equals + 1));
        text = space == std::string_view::npos ? "" : text.substr(space + 1);
    }
    return out;
}

std::string_view pass_or_fail(bool pass) {
    return pass ? "pass" : "fail";
}

} // namespace

void order_dkim(AggregateRow& row, std::string_view aligned_domain) {
    const auto rank = [&](const DkimAuth& auth) {
        if (auth.result != "pass")
            return 3;
        if (auth.domain == row.header_from)
            return 0;
        return !aligned_domain.empty() && auth.domain == aligned_domain ? 1 : 2;
    };
    std::stable_sort(row.dkim.begin(), row.dkim.end(),
                     [&](const DkimAuth& a, const DkimAuth& b) { return rank(a) < rank(b); });
    if (row.dkim.size() > max_row_dkim)
        row.dkim.resize(max_row_dkim);
}

std::string encode_row(const AggregateRow& row) {
    std::string text = "ip=" + token(row.source_ip) + " from=" + token(row.header_from) +
                       " mfrom=" + token(row.envelope_from) + " spf=" + token(row.spf_domain) +
                       "/" + token(row.spf_result);
    for (std::size_t i = 0; i < row.dkim.size() && i < max_row_dkim; ++i)
        text += " dkim=" + token(row.dkim[i].domain) + "/" + token(row.dkim[i].selector) + "/" +
                token(row.dkim[i].result);
    text += " dis=" + token(row.disposition) +
            " adkim=" + std::string(pass_or_fail(row.dkim_aligned)) +
            " aspf=" + std::string(pass_or_fail(row.spf_aligned));
    for (std::size_t i = 0; i < row.reasons.size() && i < max_row_reasons; ++i)
        text += " reason=" + token(row.reasons[i].type) + "/" +
                token(row.reasons[i].comment, max_comment_bytes);
    return text;
}

std::optional<AggregateRow> decode_row(std::string_view text) {
    AggregateRow row;
    for (const auto& [name, value] : words(text)) {
        std::string* single = name == "ip"      ? &row.source_ip
                              : name == "from"  ? &row.header_from
                              : name == "mfrom" ? &row.envelope_from
                              : name == "dis"   ? &row.disposition
                                                : nullptr;
        if (single != nullptr) {
            auto decoded = untoken(value);
            if (!decoded)
                return std::nullopt;
            *single = std::move(*decoded);
        } else if (name == "spf") {
            const auto spf = parts(value, 2);
            if (!spf)
                return std::nullopt;
            row.spf_domain = (*spf)[0];
            row.spf_result = (*spf)[1];
        } else if (name == "dkim") {
            const auto dkim = parts(value, 3);
            if (!dkim || row.dkim.size() >= max_row_dkim)
                return std::nullopt;
            row.dkim.push_back({(*dkim)[0], (*dkim)[1], (*dkim)[2]});
        } else if (name == "adkim" || name == "aspf") {
            if (value != "pass" && value != "fail")
                return std::nullopt;
            (name == "adkim" ? row.dkim_aligned : row.spf_aligned) = value == "pass";
        } else if (name == "reason") {
            const auto reason = parts(value, 2);
            if (!reason || row.reasons.size() >= max_row_reasons)
                return std::nullopt;
            row.reasons.push_back({(*reason)[0], (*reason)[1]});
        } else {
            return std::nullopt;
        }
    }
    if (row.source_ip.empty() || row.header_from.empty() || row.disposition.empty())
        return std::nullopt;
    return row;
}

std::string encode_policy(const PolicyPublished& policy) {
    return "domain=" + token(policy.domain) + " method=" + token(policy.discovery_method) +
           " record=" + token(policy.record, max_record_bytes) +
           " error=" + token(policy.error, max_record_bytes);
}

std::optional<PolicyPublished> decode_policy(std::string_view text) {
    PolicyPublished policy;
    for (const auto& [name, value] : words(text)) {
        std::string* field = name == "domain"   ? &policy.domain
                             : name == "method" ? &policy.discovery_method
                             : name == "record" ? &policy.record
                             : name == "error"  ? &policy.error
                                                : nullptr;
        auto decoded = untoken(value);
        if (field == nullptr || !decoded)
            return std::nullopt;
        *field = std::move(*decoded);
    }
    if (policy.domain.empty())
        return std::nullopt;
    return policy;
}

} // namespace mailwarden::report
