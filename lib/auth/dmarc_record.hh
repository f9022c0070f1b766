// DMARC Policy Records (RFC 9989 §4.7, §4.8): recognising one among the TXT strings at a
// _dmarc name, and reading its tags into values with the defaults and fallbacks of the RFC.
// Pure functions of the text; never throw; work bounded by the text's length (a TXT answer is
// at most 64 KB, and at most max_report_uris URIs per list are kept).
//
// Decisions (RFC 9989 unless said otherwise):
//   - A record is a DMARC Policy Record when its first tag is v=DMARC1: tag name
//     case-insensitive, value case-sensitive, spaces and tabs around '=' and ';' allowed
//     (§4.8 "equals", "dmarc-sep"); leading and trailing white space is also tolerated.
//   - Tag names are case-insensitive (ABNF), keyword values too (p=Reject is reject). Unknown
//     tags are ignored, and so are pct, rf and ri, which RFC 9989 removed (§4.7, A.6).
//   - A tag repeated keeps its first value; the repetition is noted in errors.
//   - Invalid values fall back to the default (adkim, aspf, fo, t, psd: §4.8 "Syntax errors
//     in the remainder of the record MUST be discarded in favor of default values").
//   - p, sp and np (§4.10.1): a record without a valid p, or with an invalid sp or np, counts
//     as "v=DMARC1; p=none" (keeping its rua and ruf) when its rua holds at least one
//     syntactically valid URI; otherwise it is broken: no DMARC processing, which we report
//     as permerror (RFC 7489 §11.2, RFC 9989 §9.2).
//   - t=y lowers the applied policy one step: reject → quarantine → none (§4.7).
//   - rua/ruf: comma-separated URIs; an obsolete "!size" suffix is dropped. Only mailto: URIs
//     with one valid address (a hostname domain, as for From:) are kept for sending; URIs of
//     other schemes count as syntactically valid (for the p=none rule) but are ignored.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::auth {

inline constexpr std::size_t max_report_uris = 8; // per rua/ruf list; more are ignored

enum class DmarcPolicy { none, quarantine, reject };
enum class DmarcPsd { unspecified, yes, no }; // psd=u (the default), psd=y, psd=n

std::string_view policy_name(DmarcPolicy policy); // "none", "quarantine", "reject"
DmarcPolicy weaker_policy(DmarcPolicy policy);    // reject → quarantine → none → none

struct DmarcRecord {
    bool broken = false; // no usable p (see above): no DMARC processing, permerror
    DmarcPolicy p = DmarcPolicy::none;
    std::optional<DmarcPolicy> sp; // as published; unset: p applies
    std::optional<DmarcPolicy> np; // as published; unset: sp (or p) applies
    bool strict_dkim = false;      // adkim=s
    bool strict_spf = false;       // aspf=s
    DmarcPsd psd = DmarcPsd::unspecified;
    bool testing = false;              // t=y
    std::string fo = "0";              // as published when valid, e.g. "1:d"
    std::vector<std::string> rua, ruf; // mailto: addresses (local@domain), in order
    bool has_rua = false;              // at least one syntactically valid rua URI
    std::vector<std::string> errors;   // short texts for the aggregate report's <error>
};

// Whether text starts with the v=DMARC1 tag (the tree walk's step 2).
bool is_dmarc_record(std::string_view text);

// The record's values; nullopt when text is not a DMARC Policy Record at all.
std::optional<DmarcRecord> parse_dmarc_record(std::string_view text);

// The address of one rua/ruf URI ("mailto:a@b.example!10m" → "a@b.example"); nullopt for
// another scheme or an invalid address.
std::optional<std::string> mailto_address(std::string_view uri);

} // namespace mailwarden::auth
