// Internal to the DKIM verifier, shared by its files and by nothing else:
//   dkim_verify.cc      DkimVerifier and DkimSession as a message streams through them
//   dkim_key_lookup.cc  key records: the lookups of a message, shared by the fast path and
//                       libopendkim's DNS hooks, each asked and waited for once
//   dkim_fast_path.cc   rsa-sha256 judged by our own code (hashes, cached keys, verify)
//   dkim_library.cc     the libopendkim path: its options and callbacks, its verdicts
// What a session keeps (DkimSession::Context), what the DNS hooks see (DnsService), and the
// functions one file gives another.
#pragma once

#include "auth/dkim_body.hh"
#include "auth/dkim_header.hh"
#include "auth/dkim_key.hh"
#include "auth/dkim_verify.hh"
#include "auth/opendkim_api.hh"

#include <array>
#include <atomic>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace mailwarden::auth {

struct DkimVerifier::DnsService {
    dns::Resolver& resolver;
    std::chrono::milliseconds timeout;
};

struct DkimSession::Context {
    // User-provided, so that make_unique's value-initialization does not first zero the
    // whole object (two 4 KB body hash buffers).
    Context() {} // NOLINT(modernize-use-equals-default)
    const DkimOptions* options = nullptr;
    DkimVerifier::DnsService* dns = nullptr;
    PublicKeyCache* keys = nullptr;
    DKIM_LIB* library = nullptr;
    std::atomic<std::size_t>* without_library = nullptr;
    // Key lookups of this message by lower-cased name, whoever started them; names whose
    // wait already ran out (libopendkim then gives up at once: temperror).
    std::map<std::string, std::shared_future<dns::Answer>> lookups;
    std::set<std::string> expired;
    // A signature the fast path can judge itself (see fast_candidate).
    struct Candidate {
        PublicKey key;
        unsigned bits = 0;
        std::string signed_body_hash; // bh=, decoded
        std::string signature;        // b=, decoded
        DkimBodyHash::Canon body_canon = DkimBodyHash::Canon::simple;
    };
    // Own body mode (decided at the end of headers): every signature libopendkim would
    // evaluate is a candidate, so libopendkim never sees the body and we hash it.
    bool own_body = false;
    std::map<const DKIM_SIGINFO*, Candidate> candidates;
    // Own body mode: the body hashes. Otherwise, when a signature has l= and
    // BodyLength::policy_when_partial: the canonical body's length (libopendkim counts only
    // up to l=), so that content past l= is told from a body canonicalization shortened.
    std::optional<DkimBodyHash> simple_body, relaxed_body;
    // Verdicts of the fast path, by signature.
    struct Verdict {
        const char* word;
        const char* reason;
        unsigned bits;
    };
    std::map<const DKIM_SIGINFO*, Verdict> verdicts;
    // Own header mode (decided at the end of headers, implies own body mode): every
    // signature is one dkim_header.hh reads, with a usable key; libopendkim is not used.
    struct OwnSignature {
        FastSignature fields;
        Candidate candidate;
        std::array<unsigned char, 32> header_hash{};
        // The verdict when the key lookup failed (no key, DNS trouble), as libopendkim gives
        // it; no key, hash or verify then.
        const char* failed_word = nullptr;
        const char* failed_reason = nullptr;
    };
    bool own_headers = false;
    std::vector<OwnSignature> own_signatures;
};

namespace dkim_detail {

// dkim_key_lookup.cc

// Makes a session known to the DNS hooks of this thread while libopendkim runs for it
// (dkim_eoh, dkim_eom): they learn of no session otherwise.
class ActiveSession {
public:
    explicit ActiveSession(DkimSession::Context& context);
    ~ActiveSession();
    ActiveSession(const ActiveSession&) = delete;
    ActiveSession& operator=(const ActiveSession&) = delete;
};

// Starts a TXT lookup; the future is shared by libopendkim's hook and the fast path.
std::shared_future<dns::Answer> start_lookup(dns::Resolver& resolver, const std::string& name);
// The key record's answer (the lookup started before, or a new one), waited for at most the
// DKIM DNS timeout; std::nullopt when that ran out.
std::optional<dns::Answer> key_answer(DkimSession::Context& context, const std::string& name);
void install_dns_hooks(DKIM_LIB* library, DkimVerifier::DnsService& service);

// dkim_library.cc

std::string c_text(const unsigned char* text);
std::string tag_value(DKIM_SIGINFO* signature, const char* name);
std::string algorithm_name(DKIM_SIGINFO* signature);
std::string key_name(DKIM_SIGINFO* signature);
void configure_library(DKIM_LIB* library, const DkimOptions& options);
// At the end of the headers, libopendkim hashing the body: the canonical body is measured for
// each canonicalization a signature with l= uses (see Context::simple_body).
void measure_length_tags(DkimSession::Context& context, DKIM* message);

// dkim_fast_path.cc

std::optional<DkimSession::Context::Candidate> fast_candidate(DkimSession::Context& context,
                                                              DKIM_SIGINFO* signature);
void judge_own_body(DkimSession::Context& context, DKIM_SIGINFO** signatures, int count);
void judge_passes(DkimSession::Context& context, DKIM_SIGINFO** signatures, int count);

} // namespace dkim_detail

} // namespace mailwarden::auth
