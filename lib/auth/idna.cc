// U-labels to A-labels with libidn2 (see idna.hh for the contract and the choice of flags).
#include "auth/idna.hh"

#include "util/ascii.hh"

#include <algorithm>
#include <cstdlib>
#include <idn2.h>
#include <memory>

namespace mailwarden::auth {

namespace {

constexpr std::size_t max_label_octets = 63;   // RFC 1035 §2.3.4
constexpr std::size_t max_domain_octets = 253; // without the trailing dot

struct FreeIdn2 {
    void operator()(char* text) const noexcept { idn2_free(text); }
};

bool fits_dns(std::string_view name) {
    if (name.ends_with('.'))
        name.remove_suffix(1);
    if (name.size() > max_domain_octets)
        return false;
    std::size_t label_start = 0;
    for (std::size_t at = 0; at <= name.size(); ++at) {
        if (at < name.size() && name[at] != '.')
            continue;
        if (at - label_start > max_label_octets)
            return false;
        label_start = at + 1;
    }
    return true;
}

} // namespace

bool has_non_ascii(std::string_view text) {
    return std::any_of(text.begin(), text.end(),
                       [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

std::optional<std::string> domain_to_ascii(std::string_view domain) {
    if (!has_non_ascii(domain))
        return util::ascii_lowered(domain);
    if (domain.size() > max_idna_input_bytes || domain.find('\0') != std::string_view::npos)
        return std::nullopt;
    const std::string input(domain); // libidn2 wants a NUL-terminated string
    char* output = nullptr;
    const int status =
        idn2_lookup_u8(reinterpret_cast<const std::uint8_t*>(input.c_str()),
                       reinterpret_cast<std::uint8_t**>(&output), IDN2_NONTRANSITIONAL);
    const std::unique_ptr<char, FreeIdn2> owned(output);
    if (status != IDN2_OK || output == nullptr)
        return std::nullopt;
    std::string ascii = util::ascii_lowered(output);
    if (has_non_ascii(ascii) || !fits_dns(ascii))
        return std::nullopt;
    return ascii;
}

} // namespace mailwarden::auth
