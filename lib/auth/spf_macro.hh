// SPF macro expansion, RFC 7208 §7: %{s l o d i p h v} in domain-specs and, in explanations,
// also %{c r t}. Transformers: a digit (how many right-hand parts to keep), "r" (reverse),
// then any of the delimiters . - + , / _ = (what to split on; "." when none); the parts are
// joined with "." (§7.3). An uppercase letter URL-escapes the result (RFC 3986 unreserved
// characters stay). Pure function of the values given; the validated client name (%{p})
// is asked for only when the text uses it. Never throws (but the %{p} callback may).
#pragma once

#include "util/cidr.hh"

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace mailwarden::auth {

struct SpfMacroValues {
    std::string_view sender;                     // %{s}: local-part@domain
    std::string_view local_part;                 // %{l}
    std::string_view sender_domain;              // %{o}
    std::string_view domain;                     // %{d}: the domain of the record being evaluated
    std::string_view helo;                       // %{h}
    std::string_view receiver;                   // %{r} (explanations only)
    const util::IpAddress* client = nullptr;     // %{i} %{c} %{v}
    long long now = 0;                           // %{t} (explanations only)
    std::function<std::string()> validated_name; // %{p}; "unknown" when absent
};

enum class SpfMacroUse { domain_spec, explanation };

// The expansion, or nullopt when text is not a valid macro-string (domain_spec) or
// explain-string (explanation). Domain-specs lose one trailing dot; §7.3's truncation of
// long names is left to the caller that queries the name.
std::optional<std::string> expand_spf_macros(std::string_view text, SpfMacroUse use,
                                             const SpfMacroValues& values);

// %{i}: dotted decimal for IPv4; for IPv6 the 32 nibbles, lowercase, separated by dots.
std::string spf_dotted_address(const util::IpAddress& address);

} // namespace mailwarden::auth
