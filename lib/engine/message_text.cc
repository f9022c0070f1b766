// See message_text.hh.
#include "engine/message_text.hh"

#include <algorithm>
#include <cstring>
#include <string>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace mailwarden::engine {

namespace {

// One line without its line end, and the position after it.
std::string_view next_line(std::string_view text, std::size_t& at) {
    const std::size_t end = text.find('\n', at);
    std::string_view line = text.substr(at, end == std::string_view::npos ? text.npos : end - at);
    at = end == std::string_view::npos ? text.size() : end + 1;
    if (!line.empty() && line.back() == '\r')
        line.remove_suffix(1);
    return line;
}

bool is_field_name_char(char c) {
    return c > ' ' && c < 0x7f && c != ':';
}

// "Name: value" → the name's length, or 0 when the line is not a header field.
std::size_t field_name_length(std::string_view line) {
    std::size_t length = 0;
    while (length < line.size() && is_field_name_char(line[length]))
        ++length;
    std::size_t colon = length;
    while (colon < line.size() && (line[colon] == ' ' || line[colon] == '\t'))
        ++colon; // obsolete "Name :" form
    return length > 0 && colon < line.size() && line[colon] == ':' ? length : 0;
}

// True when every LF of `body` follows a CR: the body can be handed over as it is.
bool crlf_only(std::string_view body) {
    if (body.empty())
        return true;
    if (body.front() == '\n')
        return false;
    std::size_t at = 1;
#if defined(__SSE2__)
    // Sixteen bytes at a time: an LF whose preceding byte is not a CR.
    const __m128i lf = _mm_set1_epi8('\n'), cr = _mm_set1_epi8('\r');
    for (; at + 16 <= body.size(); at += 16) {
        const auto* here = reinterpret_cast<const __m128i*>(body.data() + at);
        const auto* before = reinterpret_cast<const __m128i*>(body.data() + at - 1);
        const int lfs = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(here), lf));
        const int crs = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128(before), cr));
        if ((lfs & ~crs) != 0)
            return false;
    }
#endif
    for (; at < body.size(); ++at)
        if (body[at] == '\n' && body[at - 1] != '\r')
            return false;
    return true;
}

// The header fields up to the first empty line (or the first line that is not a field),
// then end_of_headers; returns where the body starts.
std::size_t feed_headers(MessageReceiver& message, std::string_view text) {
    std::size_t at = 0;
    if (text.starts_with("From ")) // mbox separator, not a header
        next_line(text, at);
    std::string name, value;
    const auto flush = [&] {
        if (!name.empty())
            message.header(name, value);
        name.clear();
        value.clear();
    };
    std::size_t body_start = text.size();
    while (at < text.size()) {
        const std::size_t line_start = at;
        const std::string_view line = next_line(text, at);
        if (line.empty()) {
            body_start = at;
            break;
        }
        if ((line.front() == ' ' || line.front() == '\t') && !name.empty()) {
            value += "\r\n";
            value += line;
            continue;
        }
        const std::size_t length = field_name_length(line);
        if (length == 0) { // not a header: the body starts here
            body_start = line_start;
            break;
        }
        flush();
        name = line.substr(0, length);
        value = line.substr(line.find(':') + 1);
    }
    flush();
    message.end_of_headers();
    return body_start;
}

// The body: runs of bytes copied whole, a CR added before each bare LF; a chunk is sent
// when it is full (never more than chunk_bytes, at least 2 so a CRLF fits).
void feed_body(MessageReceiver& message, std::string_view text, std::size_t body_start,
               std::size_t chunk_bytes) {
    chunk_bytes = std::max<std::size_t>(chunk_bytes, 2);
    // A last line without a line end is completed, as an MTA does (SMTP DATA ends in CRLF).
    const bool line_open = body_start < text.size() && text.back() != '\n';
    if (crlf_only(text.substr(body_start))) { // the common case: no copy
        for (std::size_t i = body_start; i < text.size(); i += chunk_bytes)
            message.body(text.substr(i, std::min(chunk_bytes, text.size() - i)));
        if (line_open)
            message.body(std::string_view("\r\n"));
        return;
    }
    std::string chunk;
    chunk.reserve(std::min(chunk_bytes, text.size() - body_start) + 2);
    std::size_t newline = std::string_view::npos; // the next LF at or after i, or the end
    for (std::size_t i = body_start; i < text.size();) {
        if (newline == std::string_view::npos || newline < i)
            newline = std::min(text.find('\n', i), text.size());
        const std::size_t stop = std::min(newline, i + (chunk_bytes - chunk.size()));
        chunk.append(text.substr(i, stop - i));
        i = stop;
        if (i == newline && i < text.size()) {
            if (chunk.size() + 2 > chunk_bytes) {
                message.body(chunk);
                chunk.clear();
            }
            if (i == body_start || text[i - 1] != '\r')
                chunk += '\r';
            chunk += '\n';
            ++i;
        }
        if (chunk.size() >= chunk_bytes) {
            message.body(chunk);
            chunk.clear();
        }
    }
    if (line_open) {
        if (chunk.size() + 2 > chunk_bytes) {
            message.body(chunk);
            chunk.clear();
        }
        chunk += "\r\n";
    }
    if (!chunk.empty())
        message.body(chunk);
}

} // namespace

void feed_message(MessageReceiver& message, std::string_view text, std::size_t chunk_bytes) {
    feed_body(message, text, feed_headers(message, text), chunk_bytes);
}

void feed_message(MessageEvaluation& message, std::string_view text, std::size_t chunk_bytes) {
    struct Evaluation final : MessageReceiver {
        explicit Evaluation(MessageEvaluation& message) : evaluation(message) {}
        void header(std::string_view name, std::string_view value) override {
            evaluation.header(name, value);
        }
        void end_of_headers() override { evaluation.end_of_headers(); }
        void body(std::string_view chunk) override { evaluation.body(chunk); }
        MessageEvaluation& evaluation;
    } receiver(message);
    feed_message(receiver, text, chunk_bytes);
}

} // namespace mailwarden::engine
