// SPF (RFC 7208): check_host() for the HELO and MAIL FROM identities, evaluated by our own
// code (spf_eval.hh: records, mechanisms, macros and limits exactly as the RFC says) with
// every lookup answered by our dns::Resolver (which caches).
//
// What the verifier does around check_host() (each named in tests/unit/test-spf*.cc):
//   - Internationalized mail (RFC 8616 §3): the HELO and MAIL FROM domains are converted to
//     A-labels (auth/idna.hh) before check_host() and macro expansion; SpfResult::domain and
//     identity hold that form. The local part is left as it came.
//   - Initial processing (§4.3): a malformed or single-label identity domain (bytes that are
//     not UTF-8, what IDNA2008 refuses, a label over 63 octets), or a HELO that is an
//     address literal, gives none without any lookup; an empty local part becomes
//     "postmaster".
//   - The limits of §4.6.4 over the whole evaluation, include and redirect chains
//     included: 10 DNS-querying terms; 2 void lookups, counted per term (a term counts
//     once when any of its lookups, the address lookups of its MX or PTR names included,
//     found no name or no data; the exp= lookup and %{p}'s lookups do not count); more
//     than 10 MX names is a permerror; PTR names past the 10th are ignored.
//   - A time budget per evaluation (SpfOptions::time_budget): once spent, further lookups
//     are not made and the result is temperror. Each lookup is also bounded by the
//     Resolver's own timeout.
//   - DNS trouble (timeout, SERVFAIL) gives temperror (but a failed PTR lookup is no
//     match, §5.5); expanded names that are not valid DNS names match nothing.
//   - The explanation of a fail (§6.2): the exp= text, else the configured default.
//
// One SpfVerifier serves all threads (each evaluation keeps its state on the caller's
// stack). Never throws after construction (which throws std::runtime_error when the
// default explanation is not a valid RFC 7208 explain-string).
#pragma once

#include "dns/resolver.hh"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace mailwarden::auth {

enum class SpfScope { helo, mailfrom };

struct SpfOptions {
    std::chrono::milliseconds time_budget{20000};
    std::string receiving_host = "localhost"; // %{r}
    // Explanation for a fail without exp= (an RFC 7208 explain-string, macros expanded).
    std::string default_explanation = "%{i} is not one of %{d}'s designated mail servers";
};

struct SpfResult {
    std::string result; // RFC 8601 words: pass fail softfail neutral none temperror permerror
    SpfScope scope = SpfScope::mailfrom;
    std::string identity;    // the HELO name, the sender, or postmaster@HELO
    std::string domain;      // the domain evaluated
    std::string explanation; // for fail: the exp= text or the default; else ""
    std::string reason;      // short fixed text, e.g. "void lookup limit", "dns timeout"
};

class SpfVerifier {
public:
    SpfVerifier(SpfOptions options, dns::Resolver& resolver);
    SpfVerifier(const SpfVerifier&) = delete;
    SpfVerifier& operator=(const SpfVerifier&) = delete;
    ~SpfVerifier();

    SpfResult check_helo(std::string_view client_ip, std::string_view helo) const;
    // An empty mail_from is the null sender: the identity is postmaster@HELO (§2.4).
    SpfResult check_mail_from(std::string_view client_ip, std::string_view helo,
                              std::string_view mail_from) const;

private:
    SpfResult evaluate(SpfScope scope, std::string_view client_ip, std::string_view helo,
                       std::string identity, std::string domain, bool malformed) const;

    SpfOptions options_;
    dns::Resolver* resolver_;
};

// The value of a Received-SPF header (RFC 7208 §9.1) for a result: the result word, a comment
// in words, then client-ip, envelope-from, helo, receiver and identity key=value pairs. Text
// from the SMTP client (sender, HELO name) is quoted with its control bytes, quotes and
// backslashes removed and its length bounded, so it cannot end the header or add fields.
std::string received_spf(const SpfResult& result, std::string_view client_ip, std::string_view helo,
                         std::string_view receiver);

// RFC 7208 §4.3 / RFC 1035: labels of 1..63 bytes, at most 253 bytes, at least two labels
// (one trailing dot allowed). Exposed for the tests.
bool is_spf_domain(std::string_view domain);

} // namespace mailwarden::auth
