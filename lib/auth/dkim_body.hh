// DKIM body canonicalization (RFC 6376 §3.4.3 simple, §3.4.4 relaxed) and its SHA-256, fed
// in chunks as the body arrives; used by the DKIM fast path (dkim_verify.cc) instead of
// libopendkim's canonicalizer, which appends the body to a buffer one byte at a time.
//
// Input: the body with CRLF line ends, in any chunking (a CRLF may be split between
// chunks). A CR not followed by LF, and an LF not preceded by CR, are ordinary bytes.
//   simple   the body as is; empty lines at the end are dropped; the result always ends
//            with exactly one CRLF (an empty body is CRLF).
//   relaxed  whitespace (SP, HTAB) at the end of each line is dropped, other runs of it
//            become one SP; empty lines at the end are dropped; a non-empty result ends
//            with CRLF; an empty body stays empty.
// Never throws after construction (which throws std::runtime_error if OpenSSL cannot
// start a SHA-256 context).
#pragma once

#include <array>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace mailwarden::auth {

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
    // The SHA-256 of the canonical body (32 bytes). Call once; later updates are ignored.
    std::string finish();
    // Bytes of canonical body hashed so far (for the tests).
    std::size_t canonical_bytes() const { return hashed_ + used_; }

    Canon canon() const { return canon_; }

private:
    void content(std::string_view bytes); // line content: flushes pending line ends first
    void emit(std::string_view bytes);
    void flush();

    struct ContextFree {
        void operator()(evp_md_ctx_st* context) const noexcept;
    };
    Canon canon_;
    std::unique_ptr<evp_md_ctx_st, ContextFree> context_;
    std::size_t pending_line_ends_ = 0; // CRLFs seen since the last content, not yet hashed
    bool pending_space_ = false;        // relaxed: a run of WSP inside the current line
    bool held_cr_ = false;              // the previous chunk ended with CR
    bool in_line_ = false;              // content of the current line has been hashed
    bool any_content_ = false;
    bool finished_ = false;
    std::size_t hashed_ = 0;
    std::size_t used_ = 0;
    std::array<char, 4096> buffer_{};
};

} // namespace mailwarden::auth
