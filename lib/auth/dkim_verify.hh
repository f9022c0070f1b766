// DKIM verification (RFC 6376, RFC 8463 ed25519-sha256) on libopendkim, with every key
// lookup answered by our dns::Resolver through libopendkim's dkim_dns_set_query_* hooks.
// Headers and body are fed as they arrive; the body is hashed in the chunks given, never
// buffered whole; header fields are kept (at most 128 KB, dkim_verify.cc) until the end of
// the headers, where the fast path decides whether libopendkim is needed. Options (DkimOptions):
// max_signatures evaluated per message, min_key_bits for RSA keys, what rsa-sha1 yields, how an l=
// tag that leaves part of the body unsigned is judged, and the DNS timeout per key lookup.
//
// Failure is a value: each signature gets one RFC 8601 result word with a reason.
//   pass       signature and body hash verify (and no local policy objects)
//   fail       signature or body hash mismatch
//   policy     rsa-sha1 (Sha1::policy); RSA key below min_key_bits; l= leaves part of the
//              canonicalized body unsigned (BodyLength::policy_when_partial); signature beyond
//              max_signatures, reported but not evaluated ("not evaluated: ...")
//   temperror  key lookup timed out or failed (SERVFAIL, resolver error)
//   permerror  no key (NXDOMAIN / no TXT record), malformed signature or key, unsupported
//              algorithm (RFC 6376 6.1.1 treats it as PERMFAIL), expired signature,
//              several key records, key revoked (empty p=, §6.1.2 step 8), a key type
//              (k=) that is not the algorithm's (step 9), l= larger than the body (§3.5)
// Unsigned mail gives an empty vector (the caller reports dkim=none). Malformed input never
// throws; only construction throws (std::runtime_error) when libopendkim cannot start.
#pragma once

#include "auth/dkim_key.hh"
#include "dns/resolver.hh"

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct dkim;
struct dkim_lib;
struct dkim_siginfo;

namespace mailwarden::auth {

struct DkimOptions {
    // Signatures evaluated per message, in header order; later ones are reported as
    // policy "not evaluated" without a DNS lookup.
    std::size_t max_signatures = 5;
    // RSA keys with fewer bits give policy "key too small" (ed25519 keys are always 256).
    unsigned min_key_bits = 1024;
    enum class Sha1 { policy, fail };
    Sha1 sha1 = Sha1::policy; // what an otherwise good rsa-sha1 signature yields
    enum class BodyLength {
        allow,              // l= honoured as RFC 6376 says: only the first l bytes count
        policy_when_partial // body longer than l= (content appended): policy
    };
    BodyLength body_length = BodyLength::policy_when_partial;
    std::chrono::milliseconds dns_timeout{5000}; // per key lookup; expiry is temperror
    // Clean rsa-sha256 signatures are verified by our fast path (dkim_verify.cc) with the
    // same results; false leaves everything to libopendkim (the tests compare the two).
    bool fast_path = true;
};

struct DkimSignatureResult {
    std::string result;                      // pass fail neutral policy temperror permerror
    std::string domain, selector, algorithm; // d=, s=, a= as signed ("" when absent)
    unsigned key_bits = 0;                   // 0 when no key was loaded
    std::string reason;                      // short, fixed text (never attacker text); "" for pass
};

class DkimVerifier;

// One message. Feed headers in order, then end_of_headers(), body chunks, end_of_message().
// Calls after end_of_message() are ignored. Movable, not copyable.
class DkimSession {
public:
    // `value` is everything after the colon exactly as received (leading space, folding
    // CRLFs kept); a milter must negotiate SMFIP_HDR_LEADSPC for simple canonicalization.
    void header(std::string_view name, std::string_view value);
    void end_of_headers();
    // Body bytes with CRLF line ends, in any chunking. A last line without one is completed
    // with CRLF at end_of_message, as an MTA hands it over (RFC 6376 §3.4.3, §3.4.4).
    void body(std::span<const char> chunk);
    std::vector<DkimSignatureResult> end_of_message();
    // False once the body cannot change any result (after end_of_headers of an unsigned
    // message, or after end_of_message): a front-end may skip sending it.
    bool wants_body() const { return hashing_; }

    struct Context; // what libopendkim's callbacks see of this session

    DkimSession(DkimSession&&) noexcept;
    DkimSession& operator=(DkimSession&&) noexcept;
    DkimSession(const DkimSession&) = delete;
    DkimSession& operator=(const DkimSession&) = delete;
    ~DkimSession();

private:
    friend class DkimVerifier;
    struct Free {
        void operator()(struct dkim* handle) const noexcept;
    };
    DkimSession(std::unique_ptr<struct dkim, Free> handle, std::unique_ptr<Context> context,
                bool buffering);
    DkimSignatureResult judge(struct dkim_siginfo* signature) const;
    bool leaves_body_unsigned(struct dkim_siginfo* signature) const;
    void choose_body_hashing();
    bool open_library();
    void feed_library(std::string_view name, std::string_view value);
    void replay_headers();
    bool take_own_headers();
    std::vector<DkimSignatureResult> judge_own_headers();

    std::unique_ptr<struct dkim, Free> handle_; // opened when libopendkim is needed
    std::unique_ptr<Context> context_;          // heap-held: libopendkim keeps its address
    bool hashing_ = true;                       // false once there is nothing (more) to verify
    bool body_line_open_ = false;               // the body so far ends without LF
    std::string header_line_;
    // Fast path: the header fields, kept (bounded) until the end of the headers shows
    // whether libopendkim is needed; then given to it in order, or never.
    struct HeaderSpan {
        std::size_t offset, name_length, length; // "name:value" in header_text_
    };
    std::string body_tail_; // the last two body bytes libopendkim was given
    bool buffering_ = false;
    std::string header_text_;
    std::vector<HeaderSpan> header_spans_;
};

// One per process; session() may be called from many threads at once. The resolver must
// outlive the verifier and every session.
class DkimVerifier {
public:
    DkimVerifier(DkimOptions options, dns::Resolver& resolver);
    DkimVerifier(DkimVerifier&&) noexcept;
    DkimVerifier& operator=(DkimVerifier&&) noexcept;
    DkimVerifier(const DkimVerifier&) = delete;
    DkimVerifier& operator=(const DkimVerifier&) = delete;
    ~DkimVerifier();

    DkimSession session() const;
    const DkimOptions& options() const { return *options_; }

    struct DnsService; // what the libopendkim DNS hooks see (resolver, timeout)
    // Decoded keys of the fast path (dkim_key.hh); exposed for the tests.
    std::size_t cached_keys() const;
    // Messages whose signatures the fast path judged without libopendkim at all (for the
    // tests).
    std::size_t messages_without_library() const;

private:
    struct Close {
        void operator()(struct dkim_lib* library) const noexcept;
    };
    // Heap-held so their addresses, given to libopendkim, survive a move.
    std::unique_ptr<DkimOptions> options_;
    std::unique_ptr<DnsService> dns_service_;
    std::unique_ptr<PublicKeyCache> keys_;
    std::unique_ptr<std::atomic<std::size_t>> without_library_;
    std::unique_ptr<struct dkim_lib, Close> library_;
};

} // namespace mailwarden::auth
