// See json.hh.
#include "util/json.hh"

#include "util/utf8.hh"

#include <cstdint>
#include <cstdio>

namespace mailwarden::util {

namespace {

void append_escaped_byte(std::string& out, std::uint8_t byte) {
    char buffer[8];
    std::snprintf(buffer, sizeof buffer, "\\u%04x", byte);
    out += buffer;
}

} // namespace

std::string json_quote(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 2);
    out += '"';
    for (std::size_t at = 0; at < text.size();) {
        const auto byte = static_cast<std::uint8_t>(text[at]);
        if (byte == '"' || byte == '\\') {
            out += '\\';
            out += static_cast<char>(byte);
        } else if (byte == '\n') {
            out += "\\n";
        } else if (byte == '\r') {
            out += "\\r";
        } else if (byte == '\t') {
            out += "\\t";
        } else if (byte < 0x20 || byte == 0x7f) {
            append_escaped_byte(out, byte);
        } else if (byte < 0x80) {
            out += static_cast<char>(byte);
        } else if (const std::size_t length = utf8_sequence_length(text.substr(at)); length != 0) {
            out.append(text.substr(at, length));
            at += length;
            continue;
        } else {
            append_escaped_byte(out, byte);
        }
        ++at;
    }
    out += '"';
    return out;
}

void JsonObject::key(std::string_view name) {
    if (text_.size() > 1)
        text_ += ", ";
    text_ += json_quote(name);
    text_ += ": ";
}

JsonObject& JsonObject::string(std::string_view name, std::string_view value) {
    key(name);
    text_ += json_quote(value);
    return *this;
}

JsonObject& JsonObject::number(std::string_view name, long long value) {
    key(name);
    text_ += std::to_string(value);
    return *this;
}

JsonObject& JsonObject::boolean(std::string_view name, bool value) {
    key(name);
    text_ += value ? "true" : "false";
    return *this;
}

JsonObject& JsonObject::raw(std::string_view name, std::string_view json) {
    key(name);
    text_ += json;
    return *this;
}

} // namespace mailwarden::util
