// See dkim_body.hh.
#include "auth/dkim_body.hh"

#include <openssl/evp.h>

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace mailwarden::auth {

namespace {

constexpr std::string_view crlf = "\r\n";

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

// Eight bytes at a time (little-endian machines): the high bit of each byte of the result
// is set exactly where that byte of `word` equals `c`.
std::uint64_t bytes_equal(std::uint64_t word, unsigned char c) {
    constexpr std::uint64_t ones = 0x0101010101010101, low7 = 0x7f7f7f7f7f7f7f7f,
                            high = 0x8080808080808080;
    const std::uint64_t zero_where_equal = word ^ (ones * c);
    return ~(((zero_where_equal & low7) + low7) | zero_where_equal) & high;
}

// Where a run of relaxed line content may stop, from `at`: the first tab, CR, or space
// followed by SP, HTAB or CR. A space in the last byte of a word is returned too (the next
// word decides); the caller checks every stop.
std::size_t skip_relaxed_words(std::string_view chunk, std::size_t at) {
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
    while (at < chunk.size() && !stops_relaxed_run(chunk[at]))
        ++at;
    return at;
}

} // namespace

void DkimBodyHash::ContextFree::operator()(evp_md_ctx_st* context) const noexcept {
    EVP_MD_CTX_free(context);
}

DkimBodyHash::DkimBodyHash(Canon canon) : canon_(canon), context_(EVP_MD_CTX_new()) {
    if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1)
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
            line_end();
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
            line_end();
            at += 2;
        } else {
            bare_cr(chunk[at + 1]);
            ++at;
        }
    }
}

void DkimBodyHash::line_end() {
    pending_space_ = false; // relaxed: whitespace before a line end is dropped
    line_crs_ = 0;          // simple: a line of bare CRs is an empty line
    if (in_line_) {
        emit(crlf);
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

void DkimBodyHash::emit(std::string_view bytes) {
    any_output_ = true;
    if (bytes.size() > buffer_.size() - used_) {
        flush();
        if (bytes.size() >= buffer_.size()) {
            failed_ = failed_ || EVP_DigestUpdate(context_.get(), bytes.data(), bytes.size()) != 1;
            hashed_ += bytes.size();
            return;
        }
    }
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
