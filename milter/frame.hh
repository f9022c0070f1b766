// The milter protocol's framing (Sendmail's milter protocol, version 6, as Postfix and
// Sendmail speak it): every packet is a 4-octet big-endian length, then one command octet,
// then length - 1 octets of data. FrameReader cuts frames out of what a connection delivered,
// in any pieces; the append_* functions write replies. Pure: no I/O, never throws for any
// input; a frame over the limit or of length 0 is an error that ends the connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::milter {

// The largest frame we take, command octet included. A conforming MTA sends body chunks of at
// most 64 KB (256 KB or 1 MB only if the milter asked, which we do not) and each header field
// in one frame: Postfix up to header_size_limit (default 102400 octets; its cleanup cuts a
// field at 60000 octets when milters are used), Sendmail up to MaxHeadersLength (default
// 32 KB). 1 MiB leaves room for raised limits; libmilter's 64 KB default dropped the
// connection on a longer header field.
inline constexpr std::size_t max_frame_bytes = 1024 * 1024;

// Commands (MTA → milter).
namespace command {
inline constexpr char abort = 'A', body = 'B', connect = 'C', macro = 'D', end_of_body = 'E',
                      helo = 'H', quit_new_connection = 'K', header = 'L', mail = 'M',
                      end_of_headers = 'N', negotiate = 'O', quit = 'Q', recipient = 'R',
                      data = 'T', unknown = 'U';
}
// Replies (milter → MTA).
namespace reply {
inline constexpr char accept = 'a', continue_ = 'c', discard = 'd', add_header = 'h',
                      insert_header = 'i', change_header = 'm', quarantine = 'q', reject = 'r',
                      skip = 's', tempfail = 't', reply_code = 'y', negotiate = 'O';
}
// Actions the milter may ask for at negotiation (SMFIF_*).
namespace action {
inline constexpr std::uint32_t add_headers = 0x1, change_headers = 0x10, quarantine = 0x20,
                               set_macro_list = 0x100;
}
// Protocol options (SMFIP_*): steps not sent, steps without a reply, extensions.
namespace option {
inline constexpr std::uint32_t no_connect = 0x1, no_helo = 0x2, no_mail = 0x4, no_recipient = 0x8,
                               no_body = 0x10, no_headers = 0x20, no_end_of_headers = 0x40,
                               no_reply_header = 0x80, no_unknown = 0x100, no_data = 0x200,
                               skip = 0x400, rejected_recipients = 0x800, no_reply_connect = 0x1000,
                               no_reply_helo = 0x2000, no_reply_mail = 0x4000,
                               no_reply_recipient = 0x8000, no_reply_data = 0x10000,
                               no_reply_unknown = 0x20000, no_reply_end_of_headers = 0x40000,
                               no_reply_body = 0x80000, header_leading_space = 0x100000;
}
// Stages of a macro list (SMFIM_*), in the negotiation reply.
namespace macro_stage {
inline constexpr std::uint32_t connect = 0, helo = 1, mail = 2, recipient = 3, data = 4,
                               end_of_message = 5, end_of_headers = 6;
}

struct Frame {
    char command = 0;
    std::string_view data; // valid until the reader is given more input
};

class FrameReader {
public:
    enum class Status { frame, need_more, error };

    explicit FrameReader(std::size_t max_frame = max_frame_bytes);

    // Where to put the next bytes received (at least `wanted` octets of room), then commit how
    // many arrived. Frames returned before stay valid until the next input_space().
    std::span<char> input_space(std::size_t wanted = 64 * 1024);
    void commit(std::size_t received);
    // Copies `bytes` in (for tests and the fuzzer).
    void append(std::string_view bytes);
    // Forgets everything received, for the next connection; keeps the buffer (resting size).
    void reset();

    // The next complete frame, need_more, or error (length 0 or over the limit; `error` says
    // which). After an error the reader stays in error.
    Status next(Frame& frame, std::string* error = nullptr);

    // Octets received and not yet returned as frames: a frame in progress when not 0.
    std::size_t pending() const { return end_ - begin_; }
    // The buffer's size: under twice max_frame, back to 128 KB after a large frame.
    std::size_t capacity() const { return size_; }

private:
    void resize(std::size_t size); // keeps [0, end_)

    std::size_t max_frame_;
    std::unique_ptr<char[]> buffer_; // not zeroed: only received bytes are read
    std::size_t size_ = 0;
    std::size_t begin_ = 0, end_ = 0;
    bool failed_ = false;
};

// Appends one frame: length, command, data.
void append_frame(std::string& out, char command, std::string_view data = {});
// A 32-bit value in network byte order, as the protocol's integers travel.
void append_u32(std::string& out, std::uint32_t value);
std::uint32_t read_u32(std::string_view data); // data holds at least 4 octets

// "a\0b\0c\0" → {"a", "b", "c"}. Each string must end with NUL; false when the data does not
// end with one (a malformed command).
bool split_strings(std::string_view data, std::vector<std::string_view>& strings);

} // namespace mailwarden::milter
