// The DKIM fast path (see dkim_verify_context.hh for the verifier's files).
// libopendkim decodes every signature's public key anew (OpenSSL
// 3.0: ~140 us per RSA-2048 key, dkim_key.hh) and appends the body to a buffer byte by byte
// before hashing it, and its header handling (parse, copy, canonicalize, hash) costs about
// as much again. With the fast path on, the header fields are kept (at most
// max_kept_header_bytes) until the end of the headers:
//   - Own header mode: when there are at most max_signatures DKIM-Signature fields, each
//     one dkim_header.hh reads strictly (rsa-sha256 or ed25519-sha256), with one plain key
//     record (RSA: of at least min_key_bits), libopendkim is never used for the message: header
//     hash (dkim_header.hh), body hash (dkim_body.hh) and verify are ours, with the verdicts
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
#include "auth/dkim_verify_context.hh"
#include "util/ascii.hh"

#include <algorithm>
#include <ctime>

namespace mailwarden::auth {

namespace dkim_detail {

namespace {

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

} // namespace

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

namespace {

// Own header mode: a key lookup or key record that libopendkim gives a verdict of its own
// (what our DNS hooks make it see): NXDOMAIN or no record is "no key"; a timeout, a SERVFAIL
// or an error is a failed lookup; more than one record is "several key records"; a record that
// would serve but for its empty p= is "key revoked". True when it did.
bool key_refused(const std::optional<dns::Answer>& answer,
                 DkimSession::Context::OwnSignature& signature) {
    const auto refuse = [&signature](const char* word, const char* reason) {
        signature.failed_word = word;
        signature.failed_reason = reason;
        return true;
    };
    if (answer &&
        (answer->status == dns::Status::nxdomain || answer->status == dns::Status::nodata ||
         (answer->status == dns::Status::ok && answer->records.empty())))
        return refuse("permerror", "no key");
    if (!answer || answer->status == dns::Status::timeout ||
        answer->status == dns::Status::servfail || answer->status == dns::Status::error)
        return refuse("temperror", "key lookup failed");
    if (answer->status != dns::Status::ok)
        return false;
    if (answer->records.size() > 1)
        return refuse("permerror", "several key records");
    if (revoked_key_record(answer->records.front().text, signature.fields.algorithm))
        return refuse("permerror", "key revoked");
    return false;
}

} // namespace

} // namespace dkim_detail

using namespace dkim_detail;

// Own header mode when every DKIM-Signature field is one dkim_header.hh reads (no more of
// them than max_signatures) and its key is a usable RSA or Ed25519 key: header and body hashes and
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
            if (key_refused(answer, signature))
                continue;
            if (answer->status != dns::Status::ok)
                return false; // an ok answer key_refused() leaves has one record
            auto& candidate = signature.candidate;
            const std::string& record = answer->records.front().text;
            if (signature.fields.algorithm == "ed25519-sha256") {
                // min_key_bits is about RSA moduli; an Ed25519 key has one size.
                candidate.key = context_->keys->ed25519_key_of_record(record);
                candidate.bits = 256; // as the libopendkim path reports it
            } else {
                candidate.key = context_->keys->rsa_key_of_record(record);
                candidate.bits = key_bits(candidate.key);
                if (candidate.bits < context_->options->min_key_bits)
                    return false;
            }
            if (!candidate.key)
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
            if (signature.failed_word != nullptr)
                continue;
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
        if (signature.failed_word != nullptr) {
            results.push_back({signature.failed_word, signature.fields.domain,
                               signature.fields.selector, signature.fields.algorithm, 0,
                               signature.failed_reason});
            continue;
        }
        const auto& candidate = signature.candidate;
        const std::string& body_hash =
            candidate.body_canon == DkimBodyHash::Canon::simple ? simple : relaxed;
        const bool ed25519 = signature.fields.algorithm == "ed25519-sha256";
        const VerifyOutcome outcome =
            ed25519 ? verify_ed25519_sha256(candidate.key.get(), signature.header_hash,
                                            candidate.signature)
                    : verify_rsa_sha256(candidate.key, signature.header_hash, candidate.signature);
        auto verdict = [&](const char* word, const char* reason) {
            results.push_back({word, signature.fields.domain, signature.fields.selector,
                               signature.fields.algorithm, candidate.bits, reason});
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

} // namespace mailwarden::auth
