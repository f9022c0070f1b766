// Strict syntax check of an SPF record against the RFC 7208 §12 ABNF. libspf2 accepts many
// records the RFC calls invalid (a:1.2.3.4, exists:%{i}/24, /032, redirect twice, %{c} in a
// domain-spec, non-ASCII bytes...), which must give permerror (§4.6). Our DNS layer runs
// every record libspf2 fetches through this check first. Pure function, never throws, work
// linear in the record length.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mailwarden::auth {

// Whether text is an SPF record at all: "v=spf1" (case-insensitive) then a space or the end.
bool is_spf_record(std::string_view text);

// nullopt for a valid record, else a short fixed description of the first problem
// (e.g. "invalid domain-spec", "redirect= twice"); never attacker text.
std::optional<std::string> spf_syntax_error(std::string_view record);

// A valid record rewritten into equivalent terms where libspf2 gets RFC 7208 wrong:
//   - unknown modifiers are dropped (§6: they MUST be ignored; libspf2 rejects many);
//   - redirect= is dropped when an "all" mechanism is present (§6.1);
//   - CIDR length 0 (§5.6), which libspf2 cannot evaluate: ip4:N/0 becomes
//     ip4:0.0.0.0/1 ip4:128.0.0.0/1 and ip6:N/0 becomes ip6:::/1 ip6:8000::/1 (same sets);
//     in a and mx, the length for the other address family is dropped (it cannot apply to
//     this client), and a:D/0 for an IPv4 client becomes exists:D (both match when D has
//     any A record). mx/0 for IPv4 and a//0, mx//0 for IPv6 clients stay as they are.
std::string spf_record_for_libspf2(std::string_view record, bool client_is_ipv6);

} // namespace mailwarden::auth
