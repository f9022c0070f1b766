// The libopendkim path of DKIM verification (see dkim_verify_context.hh for the verifier's
// files): the library's options, its prescreen and final callbacks, and the verdict of each
// signature it evaluated (DkimSession::judge).
// libopendkim would verify signatures (and decode keys) already in dkim_eoh, so it runs with
// DKIM_LIBFLAGS_DELAYSIGPROC, which moves that to dkim_eom after the final callback; the
// prescreen callback in dkim_eoh starts the key lookups instead. The fast path and
// libopendkim's hooks wait for those same lookups: DNS is asked, and a timeout waited for,
// once per key. Own body mode waits for the keys at the end of the headers.
#include "auth/dkim_verify_context.hh"
#include "util/ascii.hh"

#include <algorithm>
#include <stdexcept>

namespace mailwarden::auth {

namespace dkim_detail {

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

namespace {

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

// The key type a signature algorithm needs ("" for an algorithm we do not know).
std::string_view key_type_for(std::string_view algorithm) {
    if (algorithm == "rsa-sha256" || algorithm == "rsa-sha1")
        return "rsa";
    if (algorithm == "ed25519-sha256")
        return "ed25519";
    return "";
}

// RFC 6376 §6.1.2 step 9: a key record whose k= (default rsa, §3.6.1) names the other known
// key type than the signature's algorithm is "inappropriate key algorithm", PERMFAIL.
// libopendkim only checks that k= is a type it knows and then decodes the key data by the
// algorithm, so an RSA key published as k=ed25519 verified. A revoked key (empty p=, step
// 8, before this one) and every record this cannot read are left to libopendkim.
bool key_type_mismatch(DkimSession::Context& context, DKIM_SIGINFO* signature) {
    if ((dkim_sig_getflags(signature) & DKIM_SIGFLAG_IGNORE) != 0 ||
        dkim_sig_geterror(signature) != DKIM_SIGERROR_UNKNOWN)
        return false;
    const std::string_view wanted = key_type_for(algorithm_name(signature));
    const std::string name = key_name(signature);
    if (wanted.empty() || name.empty())
        return false;
    const auto answer = key_answer(context, name);
    if (!answer || answer->status != dns::Status::ok || answer->records.size() != 1)
        return false;
    const auto tags = parse_tag_list(answer->records.front().text);
    if (!tags)
        return false;
    const auto key_data = tags->find("p");
    if (key_data != tags->end() && key_data->second.empty())
        return false;
    const auto type_tag = tags->find("k");
    const std::string type =
        type_tag == tags->end() ? "rsa" : util::ascii_lowered(type_tag->second);
    return (type == "rsa" || type == "ed25519") && type != wanted;
}

void judge_key_types(DkimSession::Context& context, DKIM_SIGINFO** signatures, int count) {
    for (int index = 0; index < count; ++index) {
        if (!key_type_mismatch(context, signatures[index]))
            continue;
        context.verdicts.emplace(
            signatures[index],
            DkimSession::Context::Verdict{"permerror", "key type does not match the algorithm", 0});
        dkim_sig_ignore(signatures[index]);
    }
}

DKIM_CBSTAT final_callback(DKIM* message, DKIM_SIGINFO** signatures, int count) noexcept {
    auto* context = static_cast<DkimSession::Context*>(dkim_get_user_context(message));
    if (context == nullptr || signatures == nullptr)
        return DKIM_CBSTAT_CONTINUE;
    try {
        judge_key_types(*context, signatures, count);
    } catch (...) {
        // Out of memory or similar: libopendkim judges these signatures as it would.
    }
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

// libopendkim's per-signature error → RFC 8601 result word and reason.
std::pair<const char*, const char*> classify_error(int error) {
    switch (error) {
    case DKIM_SIGERROR_BADSIG:
        return {"fail", "signature mismatch"};
    case DKIM_SIGERROR_KEYREVOKED: // RFC 6376 §6.1.2 step 8: PERMFAIL
        return {"permerror", "key revoked"};
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
    case DKIM_SIGERROR_TOOLARGE_L: // RFC 6376 §3.5: l= "MUST NOT be larger" than the body
        return {"permerror", "l= exceeds the body"};
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

void measure_length_tags(DkimSession::Context& context, DKIM* message) {
    if (context.own_body ||
        context.options->body_length != DkimOptions::BodyLength::policy_when_partial)
        return;
    DKIM_SIGINFO** signatures = nullptr;
    int count = 0;
    if (dkim_getsiglist(message, &signatures, &count) != DKIM_STAT_OK || signatures == nullptr)
        return;
    try {
        for (int index = 0; index < count; ++index) {
            dkim_canon_t header_canon = DKIM_CANON_UNKNOWN, body_canon = DKIM_CANON_UNKNOWN;
            if ((dkim_sig_getflags(signatures[index]) & DKIM_SIGFLAG_IGNORE) != 0 ||
                tag_value(signatures[index], "l").empty() ||
                dkim_sig_getcanons(signatures[index], &header_canon, &body_canon) != DKIM_STAT_OK)
                continue;
            if (body_canon == DKIM_CANON_SIMPLE && !context.simple_body)
                context.simple_body.emplace(DkimBodyHash::Canon::simple);
            else if (body_canon == DKIM_CANON_RELAXED && !context.relaxed_body)
                context.relaxed_body.emplace(DkimBodyHash::Canon::relaxed);
        }
    } catch (...) {
        // No measure: judge() compares l= with the body as received, as a bound.
        context.simple_body.reset();
        context.relaxed_body.reset();
    }
}

} // namespace dkim_detail

using namespace dkim_detail;

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
    const int error = dkim_sig_geterror(signature);
    // libopendkim reports the signature size, or nothing (also when the key was used and the
    // signature did not verify); the key is 256 bits whenever it was used.
    if (result.algorithm == "ed25519-sha256" &&
        (result.key_bits != 0 || (flags & (DKIM_SIGFLAG_KEYLOADED | DKIM_SIGFLAG_PASSED)) != 0 ||
         error == DKIM_SIGERROR_OK || error == DKIM_SIGERROR_BADSIG))
        result.key_bits = 256;
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
    if (context_->options->body_length == DkimOptions::BodyLength::policy_when_partial &&
        leaves_body_unsigned(signature))
        return verdict("policy", "l= leaves part of the body unsigned");
    return verdict("pass", "");
}

// l= is a count of canonicalized body bytes (RFC 6376 §3.5): a body that canonicalization
// shortens (blank lines at the end, relaxed whitespace) is not longer than l= covers.
bool DkimSession::leaves_body_unsigned(DKIM_SIGINFO* signature) const {
    ssize_t body_bytes = 0, signed_bytes = 0, length_tag = -1;
    dkim_canon_t header_canon = DKIM_CANON_UNKNOWN, body_canon = DKIM_CANON_UNKNOWN;
    if (dkim_sig_getcanonlen(handle_.get(), signature, &body_bytes, &signed_bytes, &length_tag) !=
            DKIM_STAT_OK ||
        length_tag < 0)
        return false;
    const auto& measured =
        dkim_sig_getcanons(signature, &header_canon, &body_canon) == DKIM_STAT_OK &&
                body_canon == DKIM_CANON_SIMPLE
            ? context_->simple_body
            : context_->relaxed_body;
    if (measured && (body_canon == DKIM_CANON_SIMPLE || body_canon == DKIM_CANON_RELAXED))
        body_bytes = static_cast<ssize_t>(measured->canonical_bytes());
    return body_bytes > length_tag;
}

} // namespace mailwarden::auth
