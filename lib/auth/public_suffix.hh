// Public Suffix List (https://publicsuffix.org/list/) for DMARC's organizational domain
// (RFC 7489 §3.2). Loads the list once (Debian: /usr/share/publicsuffix/
// public_suffix_list.dat; the caller passes the path) into an immutable hash table keyed by
// the rule's domain; a loaded list is safe to share between threads. Lookups walk the name
// from the right, one hash probe per label, on a stack copy: no allocation but the result.
//
// Decisions:
//   - Sections: ICANN and PRIVATE rules are both used by default, as DMARC implementations
//     (OpenDMARC, rspamd) do, so that e.g. two github.io sites are different organizations.
//     PslSections::icann_only drops the PRIVATE section.
//   - Rules: normal, wildcard (*.ck) and exception (!www.ck), the publicsuffix.org
//     algorithm; a name no rule matches has its last label as public suffix (rule "*").
//   - Bad lines (empty labels, '*' not leftmost, a one-label exception, invalid UTF-8, too
//     long) are skipped and counted (skipped_lines()): one broken rule must not turn DMARC
//     off. An unreadable file, or one with no usable rule, is an error of load().
//   - Names are case-insensitive (ASCII here, U-labels by auth/idna.hh's mapping), one trailing dot
//   is
//     ignored; empty labels (leading dot, "a..b"), control bytes, space, invalid UTF-8 and
//     names over the caps below are invalid.
//   - IDN: rules and names are matched in A-label form; U-labels (UTF-8) in either are
//     converted by auth/idna.hh (the one conversion of mail domains), so 食狮.公司.cn and
//     xn--85x722f.xn--55qx5d.cn match the same rule. Results keep the caller's form,
//     lower-cased: the registrable domain of WWW.食狮.公司.cn is 食狮.公司.cn.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mailwarden::auth {

// Bounds on looked-up names, each named in a test; a name over a bound is invalid.
inline constexpr std::size_t max_psl_input_bytes = 1024; // as given, before IDNA conversion
inline constexpr std::size_t max_psl_name_bytes = 253;   // A-label form (RFC 1035 §2.3.4)
inline constexpr std::size_t max_psl_label_bytes = 63;   // A-label form

enum class PslSections { icann_and_private, icann_only };

class PublicSuffixList {
public:
    // nullopt and *error set when the file cannot be read or holds no usable rule.
    static std::optional<PublicSuffixList>
    load(const std::string& path, std::string* error,
         PslSections sections = PslSections::icann_and_private);
    static PublicSuffixList from_text(std::string_view text,
                                      PslSections sections = PslSections::icann_and_private);

    // Lower-cased, no trailing dot; "" when the name is invalid.
    std::string public_suffix(std::string_view domain) const;
    // The public suffix plus one label; nullopt when the name is itself a public suffix or
    // invalid.
    std::optional<std::string> registrable_domain(std::string_view domain) const;
    // RFC 7489 §3.2: the registrable domain, or the name itself when it is a public suffix;
    // "" when the name is invalid.
    std::string organizational_domain(std::string_view domain) const;

    std::size_t rule_count() const { return rule_count_; }
    std::size_t skipped_lines() const { return skipped_lines_; }

private:
    struct NameHash {
        using is_transparent = void;
        std::size_t operator()(std::string_view name) const {
            return std::hash<std::string_view>{}(name);
        }
    };
    // Bits of a table entry; 0 marks a suffix of a longer rule, there so walks continue.
    static constexpr std::uint8_t normal_rule = 1;
    static constexpr std::uint8_t wildcard_rule = 2;
    static constexpr std::uint8_t exception_rule = 4;

    bool add_rule(std::string_view rule);
    std::size_t suffix_label_count(std::string_view ascii_name) const;
    template <typename Result>
    Result with_suffix(std::string_view domain, Result invalid, auto&& make) const;

    std::unordered_map<std::string, std::uint8_t, NameHash, std::equal_to<>> rules_;
    std::size_t rule_count_ = 0;
    std::size_t skipped_lines_ = 0;
};

} // namespace mailwarden::auth
