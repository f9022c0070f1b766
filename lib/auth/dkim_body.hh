// DKIM body canonicalization (RFC 6376 §3.4.3 simple, §3.4.4 relaxed) and its SHA-256, fed
// in chunks as the body arrives; used by the DKIM fast path (dkim_verify.cc) instead of
// libopendkim's canonicalizer, which appends the body to a buffer one byte at a time.
//
// Input: the body with CRLF line ends, in any chunking (a CRLF may be split between
// chunks). An LF not preceded by CR is an ordinary byte.
//   simple   the body as is; empty lines at the end are dropped; the result always ends
//            with exactly one CRLF (an empty body is CRLF).
//   relaxed  whitespace (SP, HTAB) at the end of each line is dropped, other runs of it
//            become one SP; empty lines at the end are dropped; a non-empty result ends
//            with CRLF; an empty body stays empty.
// A bare CR (RFC 5322 forbids it; RFC 6376 does not say) is treated as libopendkim treats
// it, so that the fast path and libopendkim agree on what OpenDKIM signers produce:
//   simple   a line of nothing but bare CRs is an empty line; elsewhere a bare CR is a byte.
//   relaxed  a bare CR is dropped together with the whitespace run before it; several
//            CRs in a row keep all but the last; a bare CR before whitespace also writes
//            out the empty lines held back so far.
// (libopendkim differs further when a chunk ends between a bare CR and a byte other than
// LF; we do not follow that: its result then depends on the MTA's chunking.)
// Never throws after construction (which throws std::runtime_error if OpenSSL cannot
// start a SHA-256 context).
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;
struct evp_md_st;

namespace mailwarden::auth {

// SHA-256 for EVP digests, fetched from the provider once: EVP_sha256() makes every
// EVP_DigestInit_ex look it up again (a lock and a table lookup in OpenSSL 3.0).
const evp_md_st* sha256_method();

class DkimBodyHash {
public:
    enum class Canon { simple, relaxed };
    explicit DkimBodyHash(Canon canon);
    DkimBodyHash(DkimBodyHash&&) noexcept;
    DkimBodyHash& operator=(DkimBodyHash&&) noexcept;
    DkimBodyHash(const DkimBodyHash&) = delete;
    DkimBodyHash& operator=(const DkimBodyHash&) = delete;
    ~DkimBodyHash();

    void update(std::string_view chunk);
    // The SHA-256 of the canonical body (32 bytes), "" if OpenSSL failed. Call once; later
    // updates are ignored.
    std::string finish();
    // Bytes of canonical body hashed so far (for the tests).
    std::size_t canonical_bytes() const { return hashed_ + used_ + span_size_; }

    Canon canon() const { return canon_; }

private:
    void content(std::string_view bytes); // line content: empty lines held back go first
    void line_end(std::string_view ending);
    void bare_cr(char next); // a CR followed by `next`, which is not LF
    void flush_empty_lines();
    void emit(std::string_view bytes);
    void store_span();
    void flush();

    struct ContextFree {
        void operator()(evp_md_ctx_st* context) const noexcept;
    };
    Canon canon_;
    std::unique_ptr<evp_md_ctx_st, ContextFree> context_;
    std::size_t empty_lines_ = 0; // empty lines not yet hashed (dropped at the end)
    std::size_t line_crs_ = 0;    // simple: bare CRs that began the line, not yet hashed
    bool pending_space_ = false;  // relaxed: a run of WSP inside the current line
    bool held_cr_ = false;        // the previous chunk ended with CR
    bool in_line_ = false;        // content of the current line has been hashed
    bool any_output_ = false;     // anything hashed at all
    bool finished_ = false;
    bool failed_ = false; // an EVP_DigestUpdate failed
    std::size_t hashed_ = 0;
    std::size_t used_ = 0;
    const char* span_begin_ = nullptr; // output not yet hashed nor copied: the chunk's own
    std::size_t span_size_ = 0;        // bytes, or a constant
    std::array<char, 4096> buffer_;    // not zeroed: only the first used_ bytes are read
};

} // namespace mailwarden::auth
