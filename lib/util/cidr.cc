// CIDR parsing and matching (see cidr.hh). Address literals go through inet_pton, so the
// accepted syntax is exactly the system's; prefixes are strict decimal and host bits must be zero.
#include "util/cidr.hh"

#include "util/parse.hh"

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>
#include <sys/socket.h>

namespace mailwarden::util {

namespace {

constexpr std::array<std::uint8_t, 12> v4_mapped_prefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

IpAddress from_v6_bytes(const std::uint8_t* bytes) {
    IpAddress address;
    if (std::memcmp(bytes, v4_mapped_prefix.data(), v4_mapped_prefix.size()) == 0) {
        std::memcpy(address.bytes.data(), bytes + 12, 4);
        return address;
    }
    address.is_v6 = true;
    std::memcpy(address.bytes.data(), bytes, 16);
    return address;
}

int address_bits(const IpAddress& address) {
    return address.is_v6 ? 128 : 32;
}

// True if the first prefix_length bits of both addresses are equal.
bool same_prefix(const IpAddress& left, const IpAddress& right, int prefix_length) {
    const auto whole_bytes = static_cast<std::size_t>(prefix_length / 8);
    if (std::memcmp(left.bytes.data(), right.bytes.data(), whole_bytes) != 0)
        return false;
    const int remaining_bits = prefix_length % 8;
    if (remaining_bits == 0)
        return true;
    const auto mask = static_cast<std::uint8_t>(0xff << (8 - remaining_bits));
    return (left.bytes[whole_bytes] & mask) == (right.bytes[whole_bytes] & mask);
}

IpAddress masked(IpAddress address, int prefix_length) {
    for (int bit = prefix_length; bit < address_bits(address); ++bit)
        address.bytes[static_cast<std::size_t>(bit / 8)] &=
            static_cast<std::uint8_t>(~(0x80 >> (bit % 8)));
    return address;
}

void set_error(std::string* error, std::string message) {
    if (error)
        *error = std::move(message);
}

} // namespace

std::string IpAddress::to_string() const {
    char text[INET6_ADDRSTRLEN] = {};
    inet_ntop(is_v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text);
    return text;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
    if (text.empty() || text.size() >= INET6_ADDRSTRLEN)
        return std::nullopt;
    const std::string literal(text);
    std::array<std::uint8_t, 16> buffer{};
    if (inet_pton(AF_INET, literal.c_str(), buffer.data()) == 1) {
        IpAddress address;
        std::memcpy(address.bytes.data(), buffer.data(), 4);
        return address;
    }
    if (inet_pton(AF_INET6, literal.c_str(), buffer.data()) == 1)
        return from_v6_bytes(buffer.data());
    return std::nullopt;
}

std::string canonical_ip(std::string_view text) {
    const auto address = parse_ip(text);
    return address ? address->to_string() : std::string(text);
}

std::optional<IpAddress> ip_from_sockaddr(const sockaddr* address) {
    if (address == nullptr)
        return std::nullopt;
    if (address->sa_family == AF_INET) {
        sockaddr_in v4{};
        std::memcpy(&v4, address, sizeof v4);
        IpAddress result;
        std::memcpy(result.bytes.data(), &v4.sin_addr, 4);
        return result;
    }
    if (address->sa_family == AF_INET6) {
        sockaddr_in6 v6{};
        std::memcpy(&v6, address, sizeof v6);
        return from_v6_bytes(reinterpret_cast<const std::uint8_t*>(&v6.sin6_addr));
    }
    return std::nullopt;
}

bool Cidr::contains(const IpAddress& address) const {
    return address.is_v6 == network.is_v6 && same_prefix(address, network, prefix_length);
}

std::string Cidr::to_string() const {
    return network.to_string() + "/" + std::to_string(prefix_length);
}

std::optional<Cidr> parse_cidr(std::string_view text, std::string* error) {
    const auto slash = text.find('/');
    const auto address = parse_ip(text.substr(0, slash));
    if (!address) {
        set_error(error, "not an IP address or network: '" + std::string(text) + "'");
        return std::nullopt;
    }
    Cidr network{*address, address_bits(*address)};
    if (slash != std::string_view::npos) {
        const auto length = parse_uint(text.substr(slash + 1));
        if (!length || *length > static_cast<std::uint64_t>(address_bits(*address))) {
            set_error(error, "prefix length '" + std::string(text.substr(slash + 1)) +
                                 "' out of range 0.." + std::to_string(address_bits(*address)));
            return std::nullopt;
        }
        network.prefix_length = static_cast<int>(*length);
    }
    if (masked(*address, network.prefix_length) != *address) {
        network.network = masked(*address, network.prefix_length);
        set_error(error, "host bits set in '" + std::string(text) + "' (did you mean " +
                             network.to_string() + "?)");
        return std::nullopt;
    }
    return network;
}

bool CidrSet::add(std::string_view text, std::string* error) {
    auto network = parse_cidr(text, error);
    if (!network)
        return false;
    networks_.push_back(*network);
    return true;
}

bool CidrSet::contains(const IpAddress& address) const {
    for (const Cidr& network : networks_) {
        if (network.contains(address))
            return true;
    }
    return false;
}

bool CidrSet::contains(std::string_view address) const {
    const auto parsed = parse_ip(address);
    return parsed && contains(*parsed);
}

bool CidrSet::contains(const sockaddr* address) const {
    const auto parsed = ip_from_sockaddr(address);
    return parsed && contains(*parsed);
}

std::string CidrSet::to_string() const {
    std::string text;
    for (const Cidr& network : networks_) {
        if (!text.empty())
            text += ' ';
        text += network.to_string();
    }
    return text;
}

} // namespace mailwarden::util
