// IPv4/IPv6 addresses and CIDR networks: parse "192.0.2.0/24", "2001:db8::/32" or a bare address,
// and CidrSet::contains() for an address given as text or as a sockaddr (IPv4-mapped IPv6
// addresses such as ::ffff:192.0.2.7 match IPv4 networks). Parsing returns nullopt or an error
// text, never throws; contains() on an unparsable address is simply false.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct sockaddr;

namespace mailwarden::util {

struct IpAddress {
    bool is_v6 = false;
    std::array<std::uint8_t, 16> bytes{}; // IPv4 uses the first 4 bytes
    friend bool operator==(const IpAddress&, const IpAddress&) = default;
    std::string to_string() const;
};

// A literal address; an IPv4-mapped IPv6 address is returned as IPv4.
std::optional<IpAddress> parse_ip(std::string_view text);
std::optional<IpAddress> ip_from_sockaddr(const sockaddr* address);
// The one spelling of an address (RFC 5952 for IPv6: lowercase, zeros compressed; IPv4-mapped
// IPv6 as IPv4), so that 2001:DB8:0:0::ABCD and 2001:db8::abcd make one state key. Text that
// is not an address is returned unchanged.
std::string canonical_ip(std::string_view text);

struct Cidr {
    IpAddress network;
    int prefix_length = 0;
    friend bool operator==(const Cidr&, const Cidr&) = default;
    bool contains(const IpAddress& address) const;
    std::string to_string() const; // "192.0.2.0/24"
};

// "ADDR/LEN" or "ADDR" (a host network). On failure returns nullopt and, if error is given,
// a one-line reason ("prefix length 33 out of range 0..32", "host bits set ...").
std::optional<Cidr> parse_cidr(std::string_view text, std::string* error = nullptr);

class CidrSet {
public:
    CidrSet() = default;
    // Adds one network; false (and *error set) if text is not a valid CIDR.
    bool add(std::string_view text, std::string* error = nullptr);
    void add(const Cidr& network) { networks_.push_back(network); }
    bool contains(const IpAddress& address) const;
    bool contains(std::string_view address) const;
    bool contains(const sockaddr* address) const;
    bool empty() const { return networks_.empty(); }
    const std::vector<Cidr>& networks() const { return networks_; }
    std::string to_string() const; // space-separated, in the order added
    friend bool operator==(const CidrSet&, const CidrSet&) = default;

private:
    std::vector<Cidr> networks_;
};

} // namespace mailwarden::util
