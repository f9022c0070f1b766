// SPF record parsing, strictly by the RFC 7208 §12 ABNF: a record either parses into its
// mechanisms and the redirect=/exp= modifiers, or it has a syntax error, which makes the
// evaluation a permerror (§4.6). Unknown modifiers are checked and dropped (§6). Also the
// macro-string checks shared with the configuration (spf_explanation). Pure functions, never
// throw, work linear in the record length; a parsed record points into the text it was
// parsed from.
#pragma once

#include "util/cidr.hh"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::auth {

enum class SpfMechanismKind : std::uint8_t { all, include, a, mx, ptr, ip4, ip6, exists };

struct SpfMechanism {
    SpfMechanismKind kind = SpfMechanismKind::all;
    char qualifier = '+';          // + - ~ ?
    std::string_view domain_spec;  // include, a, mx, ptr, exists; "" = the current domain
    std::uint8_t ip4_length = 32;  // a, mx, ip4
    std::uint8_t ip6_length = 128; // a, mx, ip6
    util::IpAddress network;       // ip4, ip6 (host bits may be set)
};

struct SpfRecord {
    std::vector<SpfMechanism> mechanisms; // in record order
    std::string_view redirect;            // domain-spec; "" = none
    std::string_view explanation;         // exp= domain-spec; "" = none
};

struct SpfParse {
    std::optional<SpfRecord> record;
    std::string error; // when !record: a short fixed description, never attacker text
};

// Whether text is an SPF record at all: "v=spf1" (case-insensitive) then a space or the end.
bool is_spf_record(std::string_view text);

SpfParse parse_spf_record(std::string_view text);

// nullopt for a valid record, else what parse_spf_record() reports.
std::optional<std::string> spf_syntax_error(std::string_view record);

// explain-string = *( macro-string / SP ), where c, r and t are allowed (§7.1): what an
// explanation (exp= text or the configured default) must be.
bool is_spf_explain_string(std::string_view text);

namespace spf_detail {
// Parses the macro-expand at text[at] ("%%", "%_", "%-" or "%{...}"); on success advances
// at past it. allow_crt: the letters c, r and t (explanations only).
bool macro_expand(std::string_view text, std::size_t& at, bool allow_crt);
} // namespace spf_detail

} // namespace mailwarden::auth
