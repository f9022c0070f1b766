// A small XML writer for documents we generate from attacker-influenced text (DMARC aggregate
// reports carry domains, selectors and addresses from received mail and DNS). Every text goes
// through xml_text(), so the output is always well-formed XML 1.0: markup characters become
// entities, and bytes XML 1.0 cannot carry (C0 controls other than TAB/LF/CR, DEL, C1
// controls, invalid UTF-8, U+FFFE/U+FFFF) become '?'. Element names are ours, never escaped.
// Never throws except std::bad_alloc.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace mailwarden::util {

// Text content (and attribute values: quotes are escaped too).
std::string xml_text(std::string_view raw);

class XmlWriter {
public:
    // Starts the document with the XML declaration.
    XmlWriter();
    // <name attributes> on a line of its own; attributes are written as given (ours).
    void open(std::string_view name, std::string_view attributes = "");
    void close();
    // <name>text</name>.
    void element(std::string_view name, std::string_view text);
    // Closes what is open and returns the document.
    std::string finish();

private:
    void indent();
    std::string out_;
    std::vector<std::string> open_;
};

} // namespace mailwarden::util
