// DKIM verification on libopendkim (see dkim_verify.hh for the contract and result words).
// Key lookups: libopendkim asks through its dkim_dns_set_query_* hooks and parses a raw DNS
// response packet, so query_start hands the name to dns::Resolver::query_async,
// query_waitreply waits at most DkimOptions::dns_timeout and writes a minimal response
// (header, question, TXT answers; NXDOMAIN rcode) into libopendkim's buffer. Timeouts and
// SERVFAIL/resolver errors are returned as hook status codes (EXPIRED / ERROR), which
// libopendkim turns into DKIM_SIGERROR_KEYFAIL (temperror). No exception crosses a hook.
//
// Fast path (rsa-sha256). libopendkim decodes every signature's public key anew (OpenSSL
// 3.0: ~140 us per RSA-2048 key, dkim_key.hh) and appends the body to a buffer byte by byte
// before hashing it, and its header handling (parse, copy, canonicalize, hash) costs about
// as much again. With the fast path on, the header fields are kept (at most
// max_kept_header_bytes) until the end of the headers:
//   - Own header mode: when there are at most max_signatures DKIM-Signature fields, each
//     one dkim_header.hh reads strictly, with one plain key record of at least
//     min_key_bits, libopendkim is never used for the message: header hash
//     (dkim_header.hh), body hash (dkim_body.hh) and verify are ours, with the verdicts
//     libopendkim would reach. Unsigned mail needs no libopendkim either.
//   - Otherwise the kept fields go to libopendkim in order, and then as before:
// A "candidate" (fast_candidate) is a signature libopendkim parsed without error,
// rsa-sha256, no l=, with one plain key record of at least min_key_bits:
//   - Own body mode: when, at the end of the headers, every signature libopendkim would
//     evaluate is a candidate, libopendkim never sees the body; we hash it (dkim_body.hh)
//     and the final callback judges each candidate with libopendkim's header hash, our
//     body hash and a cached key: pass, or fail (signature mismatch / body hash mismatch,
//     in libopendkim's order), the same verdicts libopendkim would reach.
//   - Otherwise libopendkim hashes the body, and the final callback takes only the
//     candidates that verify (pass); everything else is libopendkim's verdict.
// Signatures we judged are marked ignored for libopendkim and reported by judge().
// DkimOptions::fast_path = false turns all this off (the tests compare both ways).
// libopendkim would verify signatures (and decode keys) already in dkim_eoh, so it runs with
// DKIM_LIBFLAGS_DELAYSIGPROC, which moves that to dkim_eom after the final callback; the
// prescreen callback in dkim_eoh starts the key lookups instead. The fast path and
// libopendkim's hooks wait for those same lookups: DNS is asked, and a timeout waited for,
// once per key. Own body mode waits for the keys at the end of the headers.
#include "auth/dkim_verify.hh"
#include "util/ascii.hh"

#include "auth/dkim_body.hh"
#include "auth/dkim_header.hh"
#include "auth/opendkim_api.hh"
#include "dns/wire.hh"

#include <algorithm>
#include <cctype>
#include <ctime>
#include <future>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <utility>

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
    };
    bool own_headers = false;
    std::vector<OwnSignature> own_signatures;
};

namespace {

// See DkimSession::end_of_headers.
constexpr std::string_view unselectable_field_name = "Mailwarden Padding";

// Header bytes kept per message for the fast path; a message with more goes to libopendkim
// as its header fields arrive.
constexpr std::size_t max_kept_header_bytes = 128 * 1024;

// The session whose dkim_eoh or dkim_eom runs on this thread (the DNS hooks learn of no
// session otherwise).
thread_local DkimSession::Context* active_session = nullptr;

class ActiveSession {
public:
    explicit ActiveSession(DkimSession::Context& context) { active_session = &context; }
    ~ActiveSession() { active_session = nullptr; }
    ActiveSession(const ActiveSession&) = delete;
    ActiveSession& operator=(const ActiveSession&) = delete;
};

// Starts a TXT lookup; the future is shared by libopendkim's hook and the fast path. The
// promise is shared with the resolver's callback, which may run after both gave up.
std::shared_future<dns::Answer> start_lookup(dns::Resolver& resolver, const std::string& name) {
    auto promise = std::make_shared<std::promise<dns::Answer>>();
    std::shared_future<dns::Answer> answer = promise->get_future().share();
    resolver.query_async(name, dns::RrType::txt,
                         [promise](dns::Answer result) { promise->set_value(std::move(result)); });
    return answer;
}

constexpr int dns_type_txt = 16;
constexpr std::uint16_t dns_class_in = 1;
constexpr std::size_t txt_string_max = 255;

// One key lookup in flight, owned by libopendkim between query_start and query_cancel.
struct PendingQuery {
    std::string name;
    unsigned char* reply_buffer = nullptr; // libopendkim's, valid until query_cancel
    std::size_t reply_capacity = 0;
    std::shared_future<dns::Answer> answer;
};

// TXT RDATA: the joined text split back into character-strings of at most 255 bytes.
std::string txt_rdata(std::string_view text) {
    std::string rdata;
    do {
        const auto piece = text.substr(0, txt_string_max);
        rdata.push_back(static_cast<char>(piece.size()));
        rdata.append(piece);
        text.remove_prefix(piece.size());
    } while (!text.empty());
    return rdata;
}

void put_question(std::string_view name, std::string& packet) {
    if (!dns::encode_name(name, packet))
        packet.push_back('\0'); // unencodable name: ask about the root, answer NXDOMAIN
    dns::put_u16(packet, dns_type_txt);
    dns::put_u16(packet, dns_class_in);
}

// A response as a recursive server would send it: QR RD RA, rcode 0 or NXDOMAIN (3).
std::string txt_response(std::string_view name, const dns::Answer& answer) {
    std::string question;
    put_question(name, question);
    const bool name_ok = question.size() > 5;
    const bool nxdomain = answer.status == dns::Status::nxdomain || !name_ok;
    const bool with_records = answer.status == dns::Status::ok && name_ok;
    std::string packet;
    dns::put_u16(packet, 0); // id: libopendkim does not check it
    dns::put_u16(packet, nxdomain ? 0x8183 : 0x8180);
    dns::put_u16(packet, 1);
    dns::put_u16(packet, with_records ? static_cast<std::uint16_t>(answer.records.size()) : 0);
    dns::put_u16(packet, 0);
    dns::put_u16(packet, 0);
    packet += question;
    if (!with_records)
        return packet;
    for (const auto& record : answer.records) {
        dns::encode_name(name, packet);
        dns::put_u16(packet, dns_type_txt);
        dns::put_u16(packet, dns_class_in);
        dns::put_u32(packet, static_cast<std::uint32_t>(answer.ttl.count()));
        const auto rdata = txt_rdata(record.text);
        dns::put_u16(packet, static_cast<std::uint16_t>(rdata.size()));
        packet += rdata;
    }
    return packet;
}

int dns_query_start(void* service, int type, unsigned char* query, unsigned char* buffer,
                    std::size_t capacity, void** handle) noexcept {
    if (service == nullptr || query == nullptr || buffer == nullptr || handle == nullptr ||
        type != dns_type_txt)
        return DKIM_DNS_INVALID;
    try {
        auto& dns = *static_cast<DkimVerifier::DnsService*>(service);
        auto pending = std::make_unique<PendingQuery>();
        pending->name = reinterpret_cast<const char*>(query);
        pending->reply_buffer = buffer;
        pending->reply_capacity = capacity;
        const std::string key = util::ascii_lowered(pending->name);
        if (active_session != nullptr && active_session->lookups.contains(key)) {
            pending->answer = active_session->lookups.at(key);
        } else {
            pending->answer = start_lookup(dns.resolver, pending->name);
            if (active_session != nullptr)
                active_session->lookups.emplace(key, pending->answer);
        }
        *handle = pending.release(); // back into a unique_ptr in dns_query_cancel
        return DKIM_DNS_SUCCESS;
    } catch (...) {
        return DKIM_DNS_ERROR;
    }
}

std::chrono::milliseconds wait_limit(const DkimVerifier::DnsService& dns,
                                     const struct timeval* library_limit) {
    if (library_limit == nullptr)
        return dns.timeout;
    const auto library_ms =
        std::chrono::milliseconds(library_limit->tv_sec * 1000 + library_limit->tv_usec / 1000);
    return std::min(dns.timeout, library_ms);
}

int dns_query_waitreply(void* service, void* handle, struct timeval* limit,
                        std::size_t* reply_length, int* error, int* dnssec) noexcept {
    if (service == nullptr || handle == nullptr || reply_length == nullptr)
        return DKIM_DNS_INVALID;
    try {
        auto& pending = *static_cast<PendingQuery*>(handle);
        auto& dns = *static_cast<DkimVerifier::DnsService*>(service);
        if (active_session != nullptr &&
            active_session->expired.contains(util::ascii_lowered(pending.name)))
            return DKIM_DNS_EXPIRED; // the fast path already waited the whole timeout
        if (pending.answer.wait_for(wait_limit(dns, limit)) != std::future_status::ready)
            return DKIM_DNS_EXPIRED;
        const dns::Answer answer = pending.answer.get();
        if (error != nullptr)
            *error = 0;
        if (dnssec != nullptr)
            *dnssec = answer.secure ? DKIM_DNSSEC_SECURE : DKIM_DNSSEC_UNKNOWN;
        switch (answer.status) {
        case dns::Status::ok:
        case dns::Status::nxdomain:
        case dns::Status::nodata:
            break;
        case dns::Status::timeout:
            return DKIM_DNS_EXPIRED;
        case dns::Status::servfail:
        case dns::Status::error:
            return DKIM_DNS_ERROR;
        }
        const auto packet = txt_response(pending.name, answer);
        if (packet.size() > pending.reply_capacity)
            return DKIM_DNS_ERROR;
        std::copy(packet.begin(), packet.end(), pending.reply_buffer);
        *reply_length = packet.size();
        return DKIM_DNS_SUCCESS;
    } catch (...) {
        return DKIM_DNS_ERROR;
    }
}

int dns_query_cancel(void* /*service*/, void* handle) noexcept {
    std::unique_ptr<PendingQuery> owned(static_cast<PendingQuery*>(handle));
    return DKIM_DNS_SUCCESS;
}

std::string c_text(const unsigned char* text) {
    return text == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(text));
}

std::string tag_value(DKIM_SIGINFO* signature, const char* name) {
    return c_text(dkim_sig_gettagvalue(signature, false,
                                       reinterpret_cast<unsigned char*>(const_cast<char*>(name))));
}

// The a= tag as written, lower-cased and bounded (libopendkim maps unknown algorithms to
// rsa-sha1's enum value, so the tag is the only faithful source).
std::string algorithm_name(DKIM_SIGINFO* signature) {
    return util::ascii_lowered(tag_value(signature, "a").substr(0, 64));
}

// The key record's name of a signature, lower-cased ("" when d= or s= is missing).
std::string key_name(DKIM_SIGINFO* signature) {
    const unsigned char* selector = dkim_sig_getselector(signature);
    const unsigned char* domain = dkim_sig_getdomain(signature);
    if (selector == nullptr || domain == nullptr)
        return "";
    return util::ascii_lowered(std::string(reinterpret_cast<const char*>(selector)) +
                               "._domainkey." + reinterpret_cast<const char*>(domain));
}

// In dkim_eoh: signatures past the limit are marked before any key is fetched for them;
// the keys of the others are asked for now, to arrive while the body does.
DKIM_CBSTAT prescreen(DKIM* message, DKIM_SIGINFO** signatures, int count) noexcept {
    auto* context = static_cast<DkimSession::Context*>(dkim_get_user_context(message));
    if (context == nullptr || signatures == nullptr)
        return DKIM_CBSTAT_CONTINUE;
    try {
        for (int index = 0; index < count; ++index) {
            if (static_cast<std::size_t>(index) >= context->options->max_signatures) {
                dkim_sig_ignore(signatures[index]);
                continue;
            }
            const std::string name = key_name(signatures[index]);
            if (dkim_sig_geterror(signatures[index]) == DKIM_SIGERROR_UNKNOWN && !name.empty() &&
                !context->lookups.contains(name))
                context->lookups.emplace(name, start_lookup(context->dns->resolver, name));
        }
    } catch (...) {
        // Out of memory or similar: libopendkim asks for the keys itself at dkim_eom.
    }
    return DKIM_CBSTAT_CONTINUE;
}

// The key record's answer (the lookup libopendkim started, or a new one), waited for at
// most the DKIM DNS timeout; std::nullopt when that ran out.
std::optional<dns::Answer> key_answer(DkimSession::Context& context, const std::string& name) {
    if (context.expired.contains(name))
        return std::nullopt;
    auto lookup = context.lookups.find(name);
    if (lookup == context.lookups.end())
        lookup = context.lookups.emplace(name, start_lookup(context.dns->resolver, name)).first;
    if (lookup->second.wait_for(context.dns->timeout) != std::future_status::ready) {
        context.expired.insert(name);
        return std::nullopt;
    }
    return lookup->second.get();
}

// A signature the fast path can judge: rsa-sha256 without l=, no error found by
// libopendkim's parse, bh= and b= base64, one plain key record (rsa_sha256_key_of) of at
// least min_key_bits. Waits for the key lookup (at most the DNS timeout). std::nullopt
// leaves the signature to libopendkim.
std::optional<DkimSession::Context::Candidate> fast_candidate(DkimSession::Context& context,
                                                              DKIM_SIGINFO* signature) {
    dkim_alg_t algorithm = DKIM_SIGN_UNKNOWN;
    dkim_canon_t header_canon = DKIM_CANON_UNKNOWN, body_canon = DKIM_CANON_UNKNOWN;
    if ((dkim_sig_getflags(signature) & DKIM_SIGFLAG_IGNORE) != 0 ||
        dkim_sig_geterror(signature) != DKIM_SIGERROR_UNKNOWN ||
        dkim_sig_getsignalg(signature, &algorithm) != DKIM_STAT_OK ||
        algorithm != DKIM_SIGN_RSASHA256 || algorithm_name(signature) != "rsa-sha256" ||
        !tag_value(signature, "l").empty() ||
        dkim_sig_getcanons(signature, &header_canon, &body_canon) != DKIM_STAT_OK ||
        (body_canon != DKIM_CANON_SIMPLE && body_canon != DKIM_CANON_RELAXED))
        return std::nullopt;
    DkimSession::Context::Candidate candidate;
    candidate.body_canon = body_canon == DKIM_CANON_SIMPLE ? DkimBodyHash::Canon::simple
                                                           : DkimBodyHash::Canon::relaxed;
    auto signed_body_hash = decode_canonical_base64(tag_value(signature, "bh"));
    auto signature_bytes = decode_base64(tag_value(signature, "b"));
    const std::string name = key_name(signature);
    if (!signed_body_hash || !signature_bytes || name.empty())
        return std::nullopt;
    candidate.signed_body_hash = std::move(*signed_body_hash);
    candidate.signature = std::move(*signature_bytes);
    const auto answer = key_answer(context, name);
    if (!answer || answer->status != dns::Status::ok || answer->records.size() != 1)
        return std::nullopt;
    candidate.key = context.keys->rsa_key_of_record(answer->records.front().text);
    candidate.bits = key_bits(candidate.key);
    if (!candidate.key || candidate.bits < context.options->min_key_bits)
        return std::nullopt;
    return candidate;
}

// libopendkim's header hash of `signature`, and its body hash ("" before dkim_eom closed
// the body).
std::pair<std::string, std::string> libopendkim_hashes(DKIM_SIGINFO* signature) {
    void* header_hash = nullptr;
    void* body_hash = nullptr;
    std::size_t header_length = 0, body_length = 0;
    if (dkim_sig_gethashes(signature, &header_hash, &header_length, &body_hash, &body_length) !=
            DKIM_STAT_OK ||
        header_hash == nullptr || body_hash == nullptr)
        return {};
    return {std::string(static_cast<const char*>(header_hash), header_length),
            std::string(static_cast<const char*>(body_hash), body_length)};
}

VerifyOutcome signature_verifies(const DkimSession::Context::Candidate& candidate,
                                 const std::string& header_hash) {
    if (header_hash.empty())
        return VerifyOutcome::error;
    return verify_rsa_sha256(
        candidate.key,
        {reinterpret_cast<const unsigned char*>(header_hash.data()), header_hash.size()},
        candidate.signature);
}

// Own body mode: every candidate gets its verdict here, in the order libopendkim would
// give it (the signature first, then the body hash).
void judge_own_body(DkimSession::Context& context, DKIM_SIGINFO** signatures, int count) {
    const std::string simple = context.simple_body ? context.simple_body->finish() : "";
    const std::string relaxed = context.relaxed_body ? context.relaxed_body->finish() : "";
    for (int index = 0; index < count; ++index) {
        const auto found = context.candidates.find(signatures[index]);
        if (found == context.candidates.end())
            continue;
        const auto& candidate = found->second;
        const std::string& body_hash =
            candidate.body_canon == DkimBodyHash::Canon::simple ? simple : relaxed;
        const VerifyOutcome outcome =
            signature_verifies(candidate, libopendkim_hashes(signatures[index]).first);
        DkimSession::Context::Verdict verdict{"pass", "", candidate.bits};
        if (body_hash.empty() || outcome == VerifyOutcome::error)
            verdict = {"temperror", "internal error", candidate.bits}; // never a false fail
        else if (outcome == VerifyOutcome::mismatch)
            verdict = {"fail", "signature mismatch", candidate.bits};
        else if (body_hash != candidate.signed_body_hash)
            verdict = {"fail", "body hash mismatch", candidate.bits};
        context.verdicts.emplace(signatures[index], verdict);
        dkim_sig_ignore(signatures[index]);
    }
}

// libopendkim hashed the body: a candidate whose hashes verify is a pass; every other
// signature is left to libopendkim.
void judge_passes(DkimSession::Context& context, DKIM_SIGINFO** signatures, int count) {
    for (int index = 0; index < count; ++index) {
        const auto candidate = fast_candidate(context, signatures[index]);
        if (!candidate)
            continue;
        const auto [header_hash, body_hash] = libopendkim_hashes(signatures[index]);
        if (body_hash.empty() || body_hash != candidate->signed_body_hash ||
            signature_verifies(*candidate, header_hash) != VerifyOutcome::pass)
            continue;
        context.verdicts.emplace(signatures[index],
                                 DkimSession::Context::Verdict{"pass", "", candidate->bits});
        dkim_sig_ignore(signatures[index]);
    }
}

DKIM_CBSTAT final_callback(DKIM* message, DKIM_SIGINFO** signatures, int count) noexcept {
    auto* context = static_cast<DkimSession::Context*>(dkim_get_user_context(message));
    if (context == nullptr || signatures == nullptr)
        return DKIM_CBSTAT_CONTINUE;
    if (!context->options->fast_path)
        return DKIM_CBSTAT_CONTINUE;
    try {
        if (context->own_body)
            judge_own_body(*context, signatures, count);
        else
            judge_passes(*context, signatures, count);
    } catch (...) {
        // Out of memory or similar: signatures without a verdict stay with libopendkim, or
        // in own body mode are reported as temperror by judge().
    }
    return DKIM_CBSTAT_CONTINUE;
}

template <typename Value> bool set_option(DKIM_LIB* library, int option, Value value) {
    return dkim_options(library, DKIM_OP_SETOPT, option, &value, sizeof value) == DKIM_STAT_OK;
}

void configure_library(DKIM_LIB* library, const DkimOptions& options) {
    std::uint32_t flags = 0;
    if (dkim_options(library, DKIM_OP_GETOPT, DKIM_OPTS_FLAGS, &flags, sizeof flags) !=
        DKIM_STAT_OK)
        throw std::runtime_error("libopendkim: cannot read library flags");
    flags |= DKIM_LIBFLAGS_BADSIGHANDLES; // malformed signatures stay visible (permerror)
    flags |= DKIM_LIBFLAGS_DELAYSIGPROC;  // verify in dkim_eom, after the fast path
    const auto timeout_seconds =
        static_cast<unsigned>(std::max<long long>(1, (options.dns_timeout.count() + 999) / 1000));
    if (!set_option(library, DKIM_OPTS_FLAGS, flags) ||
        !set_option(library, DKIM_OPTS_MINKEYBITS, static_cast<unsigned>(options.min_key_bits)) ||
        !set_option(library, DKIM_OPTS_TIMEOUT, timeout_seconds))
        throw std::runtime_error("libopendkim: cannot set library options");
    dkim_set_prescreen(library, prescreen);
    dkim_set_final(library, final_callback);
}

void install_dns_hooks(DKIM_LIB* library, DkimVerifier::DnsService& service) {
    // No libresolv/libunbound of libopendkim's own: it must never init or close our service.
    dkim_dns_set_init(library, nullptr);
    dkim_dns_set_close(library, nullptr);
    dkim_dns_set_nslist(library, nullptr);
    dkim_dns_set_config(library, nullptr);
    dkim_dns_set_trustanchor(library, nullptr);
    dkim_dns_set_query_service(library, &service);
    dkim_dns_set_query_start(library, dns_query_start);
    dkim_dns_set_query_cancel(library, dns_query_cancel);
    dkim_dns_set_query_waitreply(library, dns_query_waitreply);
}

// libopendkim's per-signature error → RFC 8601 result word and reason.
std::pair<const char*, const char*> classify_error(int error) {
    switch (error) {
    case DKIM_SIGERROR_BADSIG:
        return {"fail", "signature mismatch"};
    case DKIM_SIGERROR_KEYREVOKED:
        return {"fail", "key revoked"};
    case DKIM_SIGERROR_NOKEY:
        return {"permerror", "no key"};
    case DKIM_SIGERROR_KEYFAIL:
        return {"temperror", "key lookup failed"};
    case DKIM_SIGERROR_KEYTOOSMALL:
        return {"policy", "key too small"};
    case DKIM_SIGERROR_MULTIREPLY:
        return {"permerror", "several key records"};
    case DKIM_SIGERROR_INVALID_A:
    case DKIM_SIGERROR_MISSING_A:
        return {"permerror", "unsupported algorithm"};
    case DKIM_SIGERROR_EXPIRED:
        return {"permerror", "signature expired"};
    case DKIM_SIGERROR_FUTURE:
        return {"permerror", "signature in the future"};
    case DKIM_SIGERROR_KEYDECODE:
    case DKIM_SIGERROR_KEYVERSION:
    case DKIM_SIGERROR_KEYTYPEUNKNOWN:
    case DKIM_SIGERROR_KEYTYPEMISSING:
    case DKIM_SIGERROR_KEYHASHMISMATCH:
    case DKIM_SIGERROR_KEYUNKNOWNHASH:
    case DKIM_SIGERROR_NOTEMAILKEY:
    case DKIM_SIGERROR_DNSSYNTAX:
        return {"permerror", "unusable key"};
    default:
        return {"permerror", "malformed signature"};
    }
}

} // namespace

// --- DkimVerifier ---------------------------------------------------------------------

void DkimVerifier::Close::operator()(struct dkim_lib* library) const noexcept {
    dkim_close(library);
}

DkimVerifier::DkimVerifier(DkimOptions options, dns::Resolver& resolver)
    : options_(std::make_unique<DkimOptions>(options)),
      dns_service_(std::make_unique<DnsService>(DnsService{resolver, options.dns_timeout})),
      keys_(std::make_unique<PublicKeyCache>()),
      without_library_(std::make_unique<std::atomic<std::size_t>>(0)),
      library_(dkim_init(nullptr, nullptr)) {
    if (!library_)
        throw std::runtime_error("libopendkim: dkim_init failed");
    configure_library(library_.get(), *options_);
    install_dns_hooks(library_.get(), *dns_service_);
}

DkimVerifier::DkimVerifier(DkimVerifier&&) noexcept = default;
DkimVerifier& DkimVerifier::operator=(DkimVerifier&&) noexcept = default;
DkimVerifier::~DkimVerifier() = default;

DkimSession DkimVerifier::session() {
    auto context = std::make_unique<DkimSession::Context>();
    context->options = options_.get();
    context->dns = dns_service_.get();
    context->keys = keys_.get();
    context->library = library_.get();
    context->without_library = without_library_.get();
    // With the fast path, libopendkim's handle is opened only when a message needs it.
    const bool buffering = options_->fast_path;
    DkimSession session(nullptr, std::move(context), buffering);
    if (!buffering)
        session.open_library();
    return session;
}

std::size_t DkimVerifier::cached_keys() const {
    return keys_->size();
}

std::size_t DkimVerifier::messages_without_library() const {
    return without_library_->load();
}

// --- DkimSession ----------------------------------------------------------------------

void DkimSession::Free::operator()(struct dkim* handle) const noexcept {
    dkim_free(handle);
}

DkimSession::DkimSession(std::unique_ptr<struct dkim, Free> handle,
                         std::unique_ptr<Context> context, bool buffering)
    : handle_(std::move(handle)), context_(std::move(context)), buffering_(buffering) {}

DkimSession::DkimSession(DkimSession&&) noexcept = default;
DkimSession& DkimSession::operator=(DkimSession&&) noexcept = default;
DkimSession::~DkimSession() = default;

// libopendkim's handle for this message; false (and nothing more to verify) when it cannot
// be had.
bool DkimSession::open_library() {
    if (handle_)
        return true;
    DKIM_STAT status = DKIM_STAT_OK;
    handle_.reset(dkim_verify(
        context_->library, reinterpret_cast<const unsigned char*>("mailwarden"), nullptr, &status));
    if (!handle_) {
        hashing_ = false;
        return false;
    }
    dkim_set_user_context(handle_.get(), context_.get());
    return true;
}

void DkimSession::feed_library(std::string_view name, std::string_view value) {
    header_line_.assign(name);
    header_line_ += ':';
    header_line_ += value;
    // A header libopendkim refuses (no name, too long) is simply not part of the hash.
    (void)dkim_header(handle_.get(), reinterpret_cast<unsigned char*>(header_line_.data()),
                      header_line_.size());
}

// The kept header fields go to libopendkim, in order, as if they had just arrived.
void DkimSession::replay_headers() {
    buffering_ = false;
    if (!open_library())
        return;
    const std::string_view text(header_text_);
    for (const auto& span : header_spans_)
        feed_library(
            text.substr(span.offset, span.name_length),
            text.substr(span.offset + span.name_length + 1, span.length - span.name_length - 1));
    header_text_.clear();
    header_spans_.clear();
}

void DkimSession::header(std::string_view name, std::string_view value) {
    if (!hashing_)
        return;
    if (buffering_) {
        if (header_text_.size() + name.size() + value.size() < max_kept_header_bytes) {
            header_spans_.push_back(
                {header_text_.size(), name.size(), name.size() + 1 + value.size()});
            header_text_ += name;
            header_text_ += ':';
            header_text_ += value;
            return;
        }
        replay_headers(); // more than we keep: libopendkim takes this message
        if (!hashing_)
            return;
    }
    feed_library(name, value);
}

void DkimSession::end_of_headers() {
    if (!hashing_)
        return;
    if (buffering_) {
        buffering_ = false;
        if (take_own_headers()) {
            context_->without_library->fetch_add(1, std::memory_order_relaxed);
            return;
        }
        replay_headers();
        if (!hashing_)
            return;
    }
    // libopendkim's header selection (dkim_canon_selecthdrs, 2.11) writes one pointer past
    // an array of one per header field when an h= names every field and then more. A field
    // whose name holds a space can never be named (libopendkim removes white space from h=)
    // and changes no hash: with it the array always has room.
    feed_library(unselectable_field_name, "");
    const ActiveSession active(*context_); // key lookups start here
    const DKIM_STAT status = dkim_eoh(handle_.get());
    if (status == DKIM_STAT_NOSIG)
        hashing_ = false; // unsigned (or every signature ignored): skip the body
    else if (status == DKIM_STAT_OK)
        choose_body_hashing();
}

// Own header mode when every DKIM-Signature field is one dkim_header.hh reads (no more of
// them than max_signatures) and its key is a usable RSA key: header and body hashes and
// the verify are ours, libopendkim never sees the message. Unsigned mail needs nothing
// either. Otherwise false: the caller gives libopendkim the headers. Waits for the keys.
bool DkimSession::take_own_headers() {
    try {
        const std::string_view text(header_text_);
        std::vector<HeaderField> fields;
        fields.reserve(header_spans_.size());
        std::vector<std::size_t> signature_fields;
        for (const auto& span : header_spans_) {
            const HeaderField field{text.substr(span.offset, span.name_length),
                                    text.substr(span.offset + span.name_length + 1,
                                                span.length - span.name_length - 1)};
            if (!plain_field_name(field.name) || field.value.find('\0') != std::string_view::npos)
                return false; // libopendkim drops or cuts such fields: its business
            if (util::equal_ignoring_ascii_case(field.name, DKIM_SIGNHEADER))
                signature_fields.push_back(fields.size());
            fields.push_back(field);
        }
        if (signature_fields.empty()) {
            hashing_ = false; // unsigned: libopendkim would say DKIM_STAT_NOSIG
            return true;
        }
        if (signature_fields.size() > context_->options->max_signatures)
            return false;
        const auto now = static_cast<std::uint64_t>(std::max<std::time_t>(0, std::time(nullptr)));
        std::vector<Context::OwnSignature> signatures;
        std::vector<std::string> key_names;
        for (const std::size_t index : signature_fields) {
            auto fields_read = read_fast_signature(fields[index].value, now);
            if (!fields_read)
                return false;
            key_names.push_back(
                util::ascii_lowered(fields_read->selector + "._domainkey." + fields_read->domain));
            if (!context_->lookups.contains(key_names.back()))
                context_->lookups.emplace(key_names.back(),
                                          start_lookup(context_->dns->resolver, key_names.back()));
            signatures.push_back({std::move(*fields_read), {}, {}});
        }
        for (std::size_t at = 0; at < signatures.size(); ++at) {
            auto& signature = signatures[at];
            const auto answer = key_answer(*context_, key_names[at]);
            if (!answer || answer->status != dns::Status::ok || answer->records.size() != 1)
                return false;
            auto& candidate = signature.candidate;
            candidate.key = context_->keys->rsa_key_of_record(answer->records.front().text);
            candidate.bits = key_bits(candidate.key);
            if (!candidate.key || candidate.bits < context_->options->min_key_bits)
                return false;
            candidate.body_canon = signature.fields.body_canon;
            candidate.signed_body_hash = std::move(signature.fields.body_hash);
            candidate.signature = std::move(signature.fields.signature);
            const auto header_hash =
                dkim_header_hash(fields, signature_fields[at], signature.fields);
            if (!header_hash)
                return false;
            signature.header_hash = *header_hash;
        }
        for (const auto& signature : signatures) {
            auto& hash = signature.candidate.body_canon == DkimBodyHash::Canon::simple
                             ? context_->simple_body
                             : context_->relaxed_body;
            if (!hash)
                hash.emplace(signature.candidate.body_canon);
        }
        context_->own_signatures = std::move(signatures);
        context_->own_headers = true;
        context_->own_body = true;
        return true;
    } catch (...) {
        context_->own_signatures.clear();
        context_->simple_body.reset();
        context_->relaxed_body.reset();
        context_->own_headers = false;
        context_->own_body = false;
        return false; // libopendkim takes the message, as without the fast path
    }
}

// Own header mode: each signature's verdict, in the order libopendkim would give it (the
// signature first, then the body hash).
std::vector<DkimSignatureResult> DkimSession::judge_own_headers() {
    const std::string simple = context_->simple_body ? context_->simple_body->finish() : "";
    const std::string relaxed = context_->relaxed_body ? context_->relaxed_body->finish() : "";
    std::vector<DkimSignatureResult> results;
    for (const auto& signature : context_->own_signatures) {
        const auto& candidate = signature.candidate;
        const std::string& body_hash =
            candidate.body_canon == DkimBodyHash::Canon::simple ? simple : relaxed;
        const VerifyOutcome outcome =
            verify_rsa_sha256(candidate.key, signature.header_hash, candidate.signature);
        auto verdict = [&](const char* word, const char* reason) {
            results.push_back({word, signature.fields.domain, signature.fields.selector,
                               "rsa-sha256", candidate.bits, reason});
        };
        if (body_hash.empty() || outcome == VerifyOutcome::error)
            verdict("temperror", "internal error"); // never a false fail
        else if (outcome == VerifyOutcome::mismatch)
            verdict("fail", "signature mismatch");
        else if (body_hash != candidate.signed_body_hash)
            verdict("fail", "body hash mismatch");
        else
            verdict("pass", "");
    }
    return results;
}

// Own body mode when every signature libopendkim would evaluate is a fast path candidate
// (the common case: one or two rsa-sha256 signatures with plain keys). This waits for the
// key lookups started in dkim_eoh.
void DkimSession::choose_body_hashing() {
    if (!context_->options->fast_path)
        return;
    DKIM_SIGINFO** signatures = nullptr;
    int count = 0;
    if (dkim_getsiglist(handle_.get(), &signatures, &count) != DKIM_STAT_OK ||
        signatures == nullptr)
        return;
    try {
        std::map<const DKIM_SIGINFO*, Context::Candidate> candidates;
        for (int index = 0; index < count; ++index) {
            if ((dkim_sig_getflags(signatures[index]) & DKIM_SIGFLAG_IGNORE) != 0)
                continue; // beyond max_signatures
            auto candidate = fast_candidate(*context_, signatures[index]);
            if (!candidate)
                return; // libopendkim needs the body for this one
            candidates.emplace(signatures[index], std::move(*candidate));
        }
        if (candidates.empty())
            return;
        for (const auto& [signature, candidate] : candidates) {
            auto& hash = candidate.body_canon == DkimBodyHash::Canon::simple
                             ? context_->simple_body
                             : context_->relaxed_body;
            if (!hash)
                hash.emplace(candidate.body_canon);
        }
        context_->candidates = std::move(candidates);
        context_->own_body = true;
    } catch (...) {
        context_->candidates.clear();
        context_->simple_body.reset();
        context_->relaxed_body.reset();
        context_->own_body = false; // libopendkim hashes the body, as without the fast path
    }
}

void DkimSession::body(std::span<const char> chunk) {
    if (!hashing_ || chunk.empty())
        return;
    if (context_->own_body) {
        const std::string_view text(chunk.data(), chunk.size());
        if (context_->simple_body)
            context_->simple_body->update(text);
        if (context_->relaxed_body)
            context_->relaxed_body->update(text);
        return;
    }
    auto* bytes = reinterpret_cast<unsigned char*>(const_cast<char*>(chunk.data()));
    (void)dkim_body(handle_.get(), bytes, chunk.size());
    body_tail_ += std::string_view(chunk.data(), chunk.size())
                      .substr(chunk.size() - std::min<std::size_t>(2, chunk.size()));
    body_tail_.erase(0, body_tail_.size() - std::min<std::size_t>(2, body_tail_.size()));
}

std::vector<DkimSignatureResult> DkimSession::end_of_message() {
    std::vector<DkimSignatureResult> results;
    if (!hashing_)
        return results;
    hashing_ = false;
    if (context_->own_headers)
        return judge_own_headers();
    // libopendkim 2.11 fails (DKIM_STAT_SYNTAX) on a relaxed body whose last line has no CRLF;
    // RFC 6376 §3.4.3/§3.4.4 canonicalize such a body as if the CRLF were there, so give it.
    if (!body_tail_.empty() && body_tail_ != "\r\n") {
        static constexpr unsigned char crlf[] = {'\r', '\n'};
        (void)dkim_body(handle_.get(), const_cast<unsigned char*>(crlf), sizeof crlf);
    }
    {
        const ActiveSession active(*context_);
        (void)dkim_eom(handle_.get(), nullptr); // per-signature outcome is read below
    }
    DKIM_SIGINFO** signatures = nullptr;
    int count = 0;
    if (dkim_getsiglist(handle_.get(), &signatures, &count) != DKIM_STAT_OK ||
        signatures == nullptr)
        return results;
    for (int index = 0; index < count; ++index)
        results.push_back(judge(signatures[index]));
    return results;
}

DkimSignatureResult DkimSession::judge(DKIM_SIGINFO* signature) const {
    DkimSignatureResult result;
    result.domain = c_text(dkim_sig_getdomain(signature));
    result.selector = c_text(dkim_sig_getselector(signature));
    result.algorithm = algorithm_name(signature);
    const unsigned flags = dkim_sig_getflags(signature);
    auto verdict = [&result](const char* word, const char* reason) {
        result.result = word;
        result.reason = reason;
        return result;
    };
    if (const auto fast = context_->verdicts.find(signature); fast != context_->verdicts.end()) {
        result.key_bits = fast->second.bits;
        return verdict(fast->second.word, fast->second.reason);
    }
    if (context_->own_body && context_->candidates.contains(signature)) {
        // libopendkim never saw the body: its verdict would be wrong. dkim_eom failed
        // before the final callback judged this signature.
        result.key_bits = context_->candidates.at(signature).bits;
        return verdict("temperror", "internal error");
    }
    if ((flags & DKIM_SIGFLAG_IGNORE) != 0)
        return verdict("policy", "not evaluated: more signatures than max_signatures");
    if (dkim_sig_getkeysize(signature, &result.key_bits) != DKIM_STAT_OK)
        result.key_bits = 0; // no key was loaded
    if (result.algorithm == "ed25519-sha256" &&
        (result.key_bits != 0 || (flags & (DKIM_SIGFLAG_KEYLOADED | DKIM_SIGFLAG_PASSED)) != 0))
        result.key_bits = 256; // libopendkim reports the signature size, or nothing
    const int error = dkim_sig_geterror(signature);
    if ((error == DKIM_SIGERROR_OK || error == DKIM_SIGERROR_BADSIG) &&
        dkim_sig_getbh(signature) == DKIM_SIGBH_MISMATCH)
        return verdict("fail", "body hash mismatch"); // the more useful of the two reasons
    if (error != DKIM_SIGERROR_OK) {
        const auto [word, reason] = classify_error(error);
        return verdict(word, reason);
    }
    if ((flags & DKIM_SIGFLAG_PASSED) == 0)
        return verdict("fail", "signature mismatch");
    if (dkim_sig_getbh(signature) != DKIM_SIGBH_MATCH)
        return verdict("fail", "body hash mismatch");
    if (result.algorithm == "rsa-sha1")
        return verdict(context_->options->sha1 == DkimOptions::Sha1::fail ? "fail" : "policy",
                       "rsa-sha1 not accepted");
    ssize_t body_bytes = 0, signed_bytes = 0, length_tag = -1;
    if (context_->options->body_length == DkimOptions::BodyLength::policy_when_partial &&
        dkim_sig_getcanonlen(handle_.get(), signature, &body_bytes, &signed_bytes, &length_tag) ==
            DKIM_STAT_OK &&
        length_tag >= 0 && body_bytes > length_tag)
        return verdict("policy", "l= leaves part of the body unsigned");
    return verdict("pass", "");
}

} // namespace mailwarden::auth
