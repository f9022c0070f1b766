// One row of a DMARC aggregate report (RFC 9990 §2.1: row, identifiers, auth_results) and the
// policy a report is about, as the short texts the state store counts under: the same facts
// always give the same text (the store's row identity), text never holds a space, control
// byte or '%' unescaped, and each field and list has a bound, so a stored row is at most about
// 4 KB whatever the message carried. Pure functions; never throw except std::bad_alloc.
//
// Decisions:
//   - DKIM results are kept in RFC 9990 §2.3's order of preference (pass in strict
//     alignment, pass in relaxed alignment, other passes, the rest), at most max_row_dkim.
//   - Values longer than max_row_value_bytes are cut; texts that do not decode are refused
//     (nullopt): the report job skips such a row instead of sending garbage.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::report {

inline constexpr std::size_t max_row_dkim = 10;
inline constexpr std::size_t max_row_reasons = 4;
inline constexpr std::size_t max_row_value_bytes = 253;

struct DkimAuth {
    std::string domain, selector, result; // d=, s=, RFC 8601 word
    friend bool operator==(const DkimAuth&, const DkimAuth&) = default;
};

// policy_evaluated/reason: a PolicyOverrideType word and a comment.
struct OverrideReason {
    std::string type, comment;
    friend bool operator==(const OverrideReason&, const OverrideReason&) = default;
};

struct AggregateRow {
    std::string source_ip;
    std::string header_from;   // the author domain
    std::string envelope_from; // MAIL FROM domain; "" for the null sender
    std::string spf_domain;    // the domain SPF checked (the HELO name for the null sender)
    std::string spf_result;    // RFC 8601 word
    std::vector<DkimAuth> dkim;
    std::string disposition;   // none pass quarantine reject (ActionDispositionType)
    bool dkim_aligned = false; // policy_evaluated/dkim: pass or fail
    bool spf_aligned = false;  // policy_evaluated/spf
    std::vector<OverrideReason> reasons;
    friend bool operator==(const AggregateRow&, const AggregateRow&) = default;
};

// The row's DKIM results ordered and cut as above: `aligned_domain` is the d= DMARC passed
// with ("" when none).
void order_dkim(AggregateRow& row, std::string_view aligned_domain);

std::string encode_row(const AggregateRow& row);
std::optional<AggregateRow> decode_row(std::string_view text);

// What a report is about: the DMARC Policy Domain, how its record was found, the record as
// published (the last one seen in the interval), and problems noted with it.
struct PolicyPublished {
    std::string domain;
    std::string discovery_method; // treewalk or psl
    std::string record;
    std::string error; // "" when none
    friend bool operator==(const PolicyPublished&, const PolicyPublished&) = default;
};

std::string encode_policy(const PolicyPublished& policy);
std::optional<PolicyPublished> decode_policy(std::string_view text);

} // namespace mailwarden::report
