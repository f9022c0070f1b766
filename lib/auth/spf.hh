// SPF (RFC 7208) on libspf2, with every DNS lookup answered by our dns::Resolver through a
// custom SPF_dns_server_t layer (no libspf2 resolver or cache: the Resolver caches).
//
// What our layer adds to libspf2 (each named in tests/unit/test-spf.cc):
//   - Initial processing (§4.3): a malformed or single-label identity domain, or a HELO
//     that is an address literal, gives none without any lookup; an empty local part
//     becomes "postmaster".
//   - The void lookup limit (§4.6.4): NXDOMAIN/NODATA answers to A, AAAA, MX and PTR
//     lookups are counted per evaluation; the third makes the result permerror. (TXT
//     lookups are not counted: an include or redirect without a record is a permerror
//     anyway, and the exp= lookup must not turn a fail into a permerror.)
//   - A time budget per evaluation (SpfOptions::time_budget): once spent, further lookups
//     fail at once and the result is temperror. Each lookup is also bounded by the
//     Resolver's own timeout.
//   - DNS trouble (timeout, SERVFAIL) gives temperror; names that are not valid DNS names
//     are answered NXDOMAIN, as §4.3 asks.
// libspf2 keeps the other limits (10 DNS-querying terms, 10 MX and PTR names each).
//
// One SpfVerifier serves all threads: per-evaluation state lives in a thread_local
// context that is set only while libspf2 runs on that thread. Never throws after
// construction (which throws std::runtime_error if libspf2 cannot start).
#pragma once

#include "dns/resolver.hh"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

struct SPF_server_struct;
struct SPF_dns_server_struct;

namespace mailwarden::auth {

enum class SpfScope { helo, mailfrom };

struct SpfOptions {
    std::chrono::milliseconds time_budget{20000};
    std::string receiving_host = "localhost"; // %{r}
    // Explanation for a fail without exp= (a macro string); "" = libspf2's default.
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

    struct Layer; // the SPF_dns_server_t and what its lookup function needs

private:
    SpfResult evaluate(SpfScope scope, std::string_view client_ip, std::string_view helo,
                       std::string identity, std::string domain) const;

    SpfOptions options_;
    std::unique_ptr<Layer> layer_;
    struct ServerFree {
        void operator()(SPF_server_struct* server) const noexcept;
    };
    std::unique_ptr<SPF_server_struct, ServerFree> server_;
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
