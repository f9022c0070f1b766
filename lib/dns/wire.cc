// DNS wire-format encoding/decoding with bounds checks; see wire.hh. No exceptions.
#include "dns/wire.hh"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>

namespace mailwarden::dns {
namespace {

std::string escape_byte(unsigned char byte, bool in_name) {
    bool special = byte == '\\' || (in_name && byte == '.');
    if (byte > ' ' && byte < 127 && !special)
        return std::string(1, char(byte));
    if (special)
        return std::string("\\") + char(byte);
    char buffer[5];
    std::snprintf(buffer, sizeof buffer, "\\%03u", unsigned(byte));
    return buffer;
}

std::optional<std::uint32_t> get_u32(const unsigned char* data, std::size_t size,
                                     std::size_t& offset) {
    if (size < 4 || offset > size - 4)
        return std::nullopt;
    std::uint32_t value = (std::uint32_t(data[offset]) << 24) | (data[offset + 1] << 16) |
                          (data[offset + 2] << 8) | data[offset + 3];
    offset += 4;
    return value;
}

std::optional<std::uint16_t> get_u16(const unsigned char* data, std::size_t size,
                                     std::size_t& offset) {
    if (size < 2 || offset > size - 2)
        return std::nullopt;
    const auto value = static_cast<std::uint16_t>((data[offset] << 8) | data[offset + 1]);
    offset += 2;
    return value;
}

// Moves offset past a name that may end in a compression pointer.
bool skip_name(const unsigned char* data, std::size_t size, std::size_t& offset) {
    while (offset < size) {
        const unsigned length = data[offset];
        if ((length & 0xc0) == 0xc0) {
            offset += 2;
            return offset <= size;
        }
        if (length > 63)
            return false;
        offset += 1 + length;
        if (length == 0)
            return true;
    }
    return false;
}

} // namespace

std::string escape_for_log(std::string_view text, std::size_t max_length) {
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < max_length; ++i) {
        auto byte = static_cast<unsigned char>(text[i]);
        out += byte == ' ' ? std::string(" ") : escape_byte(byte, false);
    }
    if (text.size() > max_length)
        out += "...";
    return out;
}

std::optional<std::string> decode_name(const unsigned char* data, std::size_t size,
                                       std::size_t& offset) {
    std::string name;
    std::size_t wire_length = 0;
    for (;;) {
        if (offset >= size)
            return std::nullopt;
        unsigned length = data[offset++];
        if (length == 0)
            break;
        // Compression pointers (0xC0) and extended label types (0x40) are not expected in
        // the decompressed data libunbound hands us.
        if (length > 63 || length > size - offset)
            return std::nullopt;
        wire_length += length + 1;
        if (wire_length > 255)
            return std::nullopt;
        if (!name.empty())
            name += '.';
        for (unsigned i = 0; i < length; ++i)
            name += escape_byte(data[offset + i], true);
        offset += length;
    }
    return name.empty() ? std::string(".") : name;
}

std::optional<Record> decode_rdata(RrType type, const unsigned char* data, std::size_t size,
                                   std::string& why) {
    Record record;
    std::size_t offset = 0;
    auto name_only = [&]() -> std::optional<Record> {
        auto name = decode_name(data, size, offset);
        if (!name || offset != size) {
            why = "bad name";
            return std::nullopt;
        }
        record.text = *name;
        return record;
    };
    switch (type) {
    case RrType::a:
    case RrType::aaaa: {
        int family = type == RrType::a ? AF_INET : AF_INET6;
        char text[INET6_ADDRSTRLEN];
        if (size != (type == RrType::a ? 4u : 16u) || !inet_ntop(family, data, text, sizeof text)) {
            why = "bad address length " + std::to_string(size);
            return std::nullopt;
        }
        record.text = text;
        return record;
    }
    case RrType::txt:
    case RrType::spf:
        while (offset < size) {
            std::size_t length = data[offset++];
            if (length > size - offset) {
                why = "character-string runs past the record";
                return std::nullopt;
            }
            record.text.append(reinterpret_cast<const char*>(data + offset), length);
            offset += length;
        }
        return record;
    case RrType::mx:
        if (size < 3) {
            why = "MX record too short";
            return std::nullopt;
        }
        record.preference = std::uint16_t((data[0] << 8) | data[1]);
        offset = 2;
        return name_only();
    case RrType::soa: {
        auto mname = decode_name(data, size, offset);
        auto rname = mname ? decode_name(data, size, offset) : std::nullopt;
        if (!rname || size - offset != 20) {
            why = "bad SOA";
            return std::nullopt;
        }
        record.text = *mname + " " + *rname;
        for (int i = 0; i < 5; ++i)
            record.text += " " + std::to_string(*get_u32(data, size, offset));
        return record;
    }
    case RrType::ns:
    case RrType::cname:
    case RrType::ptr:
        return name_only();
    }
    why = "unsupported type";
    return std::nullopt;
}

bool encode_name(std::string_view name, std::string& out) {
    if (!name.empty() && name.back() == '.')
        name.remove_suffix(1);
    std::size_t wire_length = 1;
    while (!name.empty()) {
        std::size_t dot = name.find('.');
        std::string_view label = name.substr(0, dot);
        if (label.empty() || label.size() > 63 || (wire_length += label.size() + 1) > 255)
            return false;
        out += char(label.size());
        out += label;
        name.remove_prefix(dot == std::string_view::npos ? name.size() : dot + 1);
    }
    out += '\0';
    return true;
}

void put_u16(std::string& out, std::uint16_t value) {
    out += char(value >> 8);
    out += char(value & 0xff);
}

void put_u32(std::string& out, std::uint32_t value) {
    put_u16(out, std::uint16_t(value >> 16));
    put_u16(out, std::uint16_t(value & 0xffff));
}

std::optional<std::uint32_t> negative_ttl(const unsigned char* packet, std::size_t size) {
    constexpr std::size_t header_size = 12;
    constexpr std::uint16_t type_soa = 6;
    if (packet == nullptr || size < header_size)
        return std::nullopt;
    std::size_t offset = 4;
    const auto questions = get_u16(packet, size, offset);
    const auto answers = get_u16(packet, size, offset);
    const auto authorities = get_u16(packet, size, offset);
    offset = header_size;
    for (unsigned i = 0; i < *questions; ++i)
        if (!skip_name(packet, size, offset) || (offset += 4) > size)
            return std::nullopt;
    for (unsigned i = 0; i < unsigned(*answers) + *authorities; ++i) {
        if (!skip_name(packet, size, offset))
            return std::nullopt;
        const auto type = get_u16(packet, size, offset);
        std::size_t after_class = offset + 2;
        const auto ttl = get_u32(packet, size, after_class);
        offset = after_class;
        const auto length = get_u16(packet, size, offset);
        if (!type || !ttl || !length || *length > size - offset)
            return std::nullopt;
        offset += *length;
        // SOA RDATA ends with SERIAL REFRESH RETRY EXPIRE MINIMUM; MINIMUM is the last 4 bytes.
        if (i >= *answers && *type == type_soa && *length >= 22) {
            std::size_t minimum_at = offset - 4;
            return std::min(*ttl, *get_u32(packet, size, minimum_at));
        }
    }
    return std::nullopt;
}

} // namespace mailwarden::dns
