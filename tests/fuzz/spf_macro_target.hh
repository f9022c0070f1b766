// The SPF fuzz target: one input drives a whole SPF evaluation (lib/auth/spf*: record parser,
// macro expansion, check_host()), and the parser and the macro expander directly. Macro
// expansion (RFC 7208 §7) is where SPF implementations have had their memory-safety bugs
// (libspf2: CVE-2021-20314, CVE-2021-33912, CVE-2021-33913, CVE-2023-42118).
//
// Input: fields separated by '\n'
//     1. the sender domain's SPF record ("v=spf1 " is prepended when missing)
//     2. the text of the exp= target (exp.fuzz.test)
//     3. the sender's local part            4. the HELO name
//     5. the configured default explanation (spf_explanation; a macro string)
//     6. the client address: its first byte picks one of a few IPv4 and IPv6 addresses
// Missing fields are empty. Every macro letter and transformer reaches the expander through
// the record (exists:, include:, a:, mx:, ptr:, redirect=), the exp= text and the default
// explanation; fields 1, 2 and 5 are also parsed and expanded directly. Calls std::abort()
// when an invariant breaks; libFuzzer and ASan report it.
//
// Two drivers share it: tests/fuzz/fuzz-spf-macro.cc (libFuzzer, --enable-fuzz-targets)
// and tests/unit/test-fuzz-spf.cc (make check: the seed corpus plus bounded mutations).
#pragma once

#include <string>
#include <string_view>

namespace mailwarden::fuzz {

// Returns the result of the sender's evaluation ("pass", "permerror", ...), for statistics.
std::string spf_macro_one(std::string_view input);

} // namespace mailwarden::fuzz
