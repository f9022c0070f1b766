// See xml.hh.
#include "util/xml.hh"

#include "util/utf8.hh"

namespace mailwarden::util {

std::string xml_text(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (std::size_t i = 0; i < raw.size();) {
        const unsigned char c = static_cast<unsigned char>(raw[i]);
        if (c >= 0x80) {
            const std::size_t length = utf8_sequence_length(raw.substr(i));
            const bool nonchar = length == 3 && c == 0xef && raw[i + 1] == '\xbf' &&
                                 (raw[i + 2] == '\xbe' || raw[i + 2] == '\xbf');
            const bool c1 =
                length == 2 && c == 0xc2 && static_cast<unsigned char>(raw[i + 1]) < 0xa0;
            if (length == 0 || nonchar || c1) {
                out += '?'; // one for the whole sequence, or for one invalid byte
                i += length == 0 ? 1 : length;
            } else {
                out.append(raw.substr(i, length));
                i += length;
            }
            continue;
        }
        switch (c) {
        case '&':
            out += "&amp;";
            break;
        case '<':
            out += "&lt;";
            break;
        case '>':
            out += "&gt;";
            break;
        case '"':
            out += "&quot;";
            break;
        case '\'':
            out += "&apos;";
            break;
        case '\t':
        case '\n':
        case '\r':
            out += static_cast<char>(c);
            break;
        default:
            out += c < 0x20 || c == 0x7f ? '?' : static_cast<char>(c);
        }
        ++i;
    }
    return out;
}

XmlWriter::XmlWriter() : out_("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") {}

void XmlWriter::indent() {
    out_.append(open_.size() * 2, ' ');
}

void XmlWriter::open(std::string_view name, std::string_view attributes) {
    indent();
    out_ += '<';
    out_ += name;
    if (!attributes.empty()) {
        out_ += ' ';
        out_ += attributes;
    }
    out_ += ">\n";
    open_.emplace_back(name);
}

void XmlWriter::close() {
    if (open_.empty())
        return;
    const std::string name = std::move(open_.back());
    open_.pop_back();
    indent();
    out_ += "</" + name + ">\n";
}

void XmlWriter::element(std::string_view name, std::string_view text) {
    indent();
    out_ += '<';
    out_ += name;
    out_ += '>';
    out_ += xml_text(text);
    out_ += "</";
    out_ += name;
    out_ += ">\n";
}

std::string XmlWriter::finish() {
    while (!open_.empty())
        close();
    return std::move(out_);
}

} // namespace mailwarden::util
