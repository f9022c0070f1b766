// See dkim_body.hh.
#include "auth/dkim_body.hh"

#include <openssl/evp.h>

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mailwarden::auth {

namespace {

constexpr std::string_view crlf = "\r\n";
// Output spans at least this long are hashed where they lie rather than copied.
constexpr std::size_t large_span = 512;

bool is_wsp(char c) {
    return c == ' ' || c == '\t';
}

// SP, HTAB and CR end a run of relaxed line content; a table keeps the scan to one load and
// one test per byte.
constexpr std::array<bool, 256> relaxed_stops = [] {
    std::array<bool, 256> table{};
    table[static_cast<unsigned char>(' ')] = true;
    table[static_cast<unsigned char>('\t')] = true;
    table[static_cast<unsigned char>('\r')] = true;
    return table;
}();

bool stops_relaxed_run(char c) {
    return relaxed_stops[static_cast<unsigned char>(c)];
}

#if !defined(__SSE2__)
// Eight bytes at a time (little-endian machines): the high bit of each byte of the result
// is set exactly where that byte of `word` equals `c`.
std::uint64_t bytes_equal(std::uint64_t word, unsigned char c) {
    constexpr std::uint64_t ones = 0x0101010101010101, low7 = 0x7f7f7f7f7f7f7f7f,
                            high = 0x8080808080808080;
    const std::uint64_t zero_where_equal = word ^ (ones * c);
    return ~(((zero_where_equal & low7) + low7) | zero_where_equal) & high;
}
#endif

// Where a run of relaxed line content may stop, from `at`: the first tab, CR, or space
// followed by SP, HTAB or CR. A space in the last byte of a block is returned too (the next
// block decides); the caller checks every stop.
std::size_t skip_relaxed_words(std::string_view chunk, std::size_t at) {
#if defined(__SSE2__)
    // Sixteen bytes at a time: one compare per kind of stop, one mask (SSE2 is part of
    // x86-64, so no run-time dispatch).
    const __m128i space = _mm_set1_epi8(' '), tab = _mm_set1_epi8('\t'), cr = _mm_set1_epi8('\r');
    while (at + 16 <= chunk.size()) {
        const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(chunk.data() + at));
        const auto spaces =
            static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(block, space)));
        const auto others = static_cast<std::uint32_t>(
            _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(block, tab), _mm_cmpeq_epi8(block, cr))));
        const std::uint32_t next_special = ((spaces | others) >> 1) | 0x8000u;
        const std::uint32_t stops = others | (spaces & next_special);
        if (stops != 0)
            return at + static_cast<std::size_t>(std::countr_zero(stops));
        at += 16;
    }
#else
    if constexpr (std::endian::native == std::endian::little) {
        while (at + 8 <= chunk.size()) {
            std::uint64_t word = 0;
            std::memcpy(&word, chunk.data() + at, sizeof word);
            const std::uint64_t spaces = bytes_equal(word, ' ');
            const std::uint64_t others = bytes_equal(word, '\t') | bytes_equal(word, '\r');
            const std::uint64_t next_special = ((spaces | others) >> 8) | (std::uint64_t{1} << 63);
            const std::uint64_t stops = others | (spaces & next_special);
            if (stops != 0)
                return at + static_cast<std::size_t>(std::countr_zero(stops)) / 8;
            at += 8;
        }
    }
#endif
    while (at < chunk.size() && !stops_relaxed_run(chunk[at]))
        ++at;
    return at;
}

} // namespace

void DkimBodyHash::ContextFree::operator()(evp_md_ctx_st* context) const noexcept {
    EVP_MD_CTX_free(context);
}

const evp_md_st* sha256_method() {
    static const EVP_MD* const fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return fetched != nullptr ? fetched : EVP_sha256();
}

DkimBodyHash::DkimBodyHash(Canon canon) : canon_(canon), context_(EVP_MD_CTX_new()) {
    if (!context_ || EVP_DigestInit_ex(context_.get(), sha256_method(), nullptr) != 1)
        throw std::runtime_error("OpenSSL: cannot start a SHA-256 context");
}

DkimBodyHash::DkimBodyHash(DkimBodyHash&&) noexcept = default;
DkimBodyHash& DkimBodyHash::operator=(DkimBodyHash&&) noexcept = default;
DkimBodyHash::~DkimBodyHash() = default;

void DkimBodyHash::update(std::string_view chunk) {
    if (finished_ || chunk.empty())
        return;
    std::size_t at = 0;
    if (held_cr_) {
        held_cr_ = false;
        if (chunk.front() == '\n') {
            line_end(crlf);
            at = 1;
        } else {
            bare_cr(chunk.front());
        }
    }
    const bool relaxed = canon_ == Canon::relaxed;
    while (at < chunk.size()) {
        if (relaxed && is_wsp(chunk[at])) { // a run of WSP: one SP if content follows
            pending_space_ = true;
            while (at < chunk.size() && is_wsp(chunk[at]))
                ++at;
            continue;
        }
        // A run of line content, handed over whole: up to the next CR; relaxed also stops
        // at a tab or at a space that is not a single one between two content bytes.
        std::size_t end = at;
        if (!relaxed) {
            const void* cr = std::memchr(chunk.data() + at, '\r', chunk.size() - at);
            end = cr == nullptr ? chunk.size() : static_cast<const char*>(cr) - chunk.data();
        } else {
            while (true) {
                end = skip_relaxed_words(chunk, end);
                if (end + 1 < chunk.size() && chunk[end] == ' ' &&
                    !stops_relaxed_run(chunk[end + 1])) {
                    end += 2; // a single space between content bytes stays as it is
                    continue;
                }
                break;
            }
        }
        if (end > at) {
            content(chunk.substr(at, end - at));
            at = end;
            continue;
        }
        // chunk[at] is a CR (a WSP was handled above).
        if (at + 1 == chunk.size()) {
            held_cr_ = true; // CRLF or a bare CR: the next chunk tells
            ++at;
        } else if (chunk[at + 1] == '\n') {
            line_end(chunk.substr(at, 2));
            at += 2;
        } else {
            bare_cr(chunk[at + 1]);
            ++at;
        }
    }
    store_span(); // the chunk is the caller's only until we return
}

// `ending` is the CRLF itself where the chunk holds it, so that it continues the span.
void DkimBodyHash::line_end(std::string_view ending) {
    pending_space_ = false; // relaxed: whitespace before a line end is dropped
    line_crs_ = 0;          // simple: a line of bare CRs is an empty line
    if (in_line_) {
        emit(ending);
        in_line_ = false;
    } else {
        ++empty_lines_;
    }
}

void DkimBodyHash::bare_cr(char next) {
    if (canon_ == Canon::simple) {
        if (in_line_)
            content("\r");
        else
            ++line_crs_; // hashed only if the line gets other content
        return;
    }
    pending_space_ = false; // the whitespace run before it goes too
    if (next == '\r')
        content("\r"); // of several CRs in a row, all but the last stay
    else if (is_wsp(next))
        flush_empty_lines();
}

void DkimBodyHash::flush_empty_lines() {
    for (; empty_lines_ > 0; --empty_lines_)
        emit(crlf);
}

void DkimBodyHash::content(std::string_view bytes) {
    flush_empty_lines();
    for (; line_crs_ > 0; --line_crs_)
        emit("\r");
    if (pending_space_) {
        emit(" ");
        pending_space_ = false;
    }
    emit(bytes);
    in_line_ = true;
}

// Output that continues the previous output in memory (the common case: whole lines of
// the chunk, unchanged) only extends the span; the span is hashed or copied when the output
// moves elsewhere, and at the end of each chunk.
void DkimBodyHash::emit(std::string_view bytes) {
    any_output_ = true;
    if (span_size_ != 0 && bytes.data() == span_begin_ + span_size_) {
        span_size_ += bytes.size();
        return;
    }
    store_span();
    span_begin_ = bytes.data();
    span_size_ = bytes.size();
}

void DkimBodyHash::store_span() {
    if (span_size_ == 0)
        return;
    const std::string_view bytes(span_begin_, span_size_);
    span_size_ = 0;
    if (bytes.size() >= large_span) { // hashed where it lies, after what the buffer holds
        flush();
        failed_ = failed_ || EVP_DigestUpdate(context_.get(), bytes.data(), bytes.size()) != 1;
        hashed_ += bytes.size();
        return;
    }
    if (bytes.size() > buffer_.size() - used_)
        flush();
    std::memcpy(buffer_.data() + used_, bytes.data(), bytes.size());
    used_ += bytes.size();
}

void DkimBodyHash::flush() {
    if (used_ == 0)
        return;
    failed_ = failed_ || EVP_DigestUpdate(context_.get(), buffer_.data(), used_) != 1;
    hashed_ += used_;
    used_ = 0;
}

std::string DkimBodyHash::finish() {
    if (finished_)
        return "";
    if (held_cr_) { // the body ends in a bare CR: a byte of the last line
        held_cr_ = false;
        content("\r");
    }
    // A last line without CRLF gets one; empty lines held back are dropped; simple makes an
    // empty body one CRLF.
    if (in_line_)
        emit(crlf);
    if (canon_ == Canon::simple && !any_output_)
        emit(crlf);
    store_span();
    flush();
    finished_ = true;
    std::string digest(EVP_MAX_MD_SIZE, '\0');
    unsigned length = 0;
    if (failed_ ||
        EVP_DigestFinal_ex(context_.get(), reinterpret_cast<unsigned char*>(digest.data()),
                           &length) != 1)
        return ""; // the caller reports temperror, never a mismatch
    digest.resize(length);
    return digest;
}

} // namespace mailwarden::auth
