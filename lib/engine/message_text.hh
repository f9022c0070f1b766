// A whole message as text (a file, stdin, a benchmark corpus) fed to a MessageEvaluation as
// an MTA would: header by header, then the body in chunks. Line ends are normalized to CRLF
// (files on disk usually have LF), and a last line without one gets CRLF, as an MTA hands
// a message over (SMTP DATA always ends in CRLF). The header section ends at the first empty line,
// or at the first line that is not a header field or a continuation (that line starts the body, as
// Postfix treats it). A leading mbox "From " line is skipped. Never throws for any input.
#pragma once

#include "engine/engine.hh"

#include <string_view>

namespace mailwarden::engine {

// Whatever takes a message in parts, as MessageEvaluation does.
class MessageReceiver {
public:
    virtual ~MessageReceiver() = default;
    virtual void header(std::string_view name, std::string_view value) = 0;
    virtual void end_of_headers() = 0;
    virtual void body(std::string_view chunk) = 0;
};

// Calls header()..., end_of_headers(), body()... on `message`; body chunks are at most
// chunk_bytes (the milter protocol's 64 KB by default).
void feed_message(MessageReceiver& message, std::string_view text, std::size_t chunk_bytes = 65535);
void feed_message(MessageEvaluation& message, std::string_view text,
                  std::size_t chunk_bytes = 65535);

} // namespace mailwarden::engine
