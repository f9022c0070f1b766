// See state_keys.hh.
#include "engine/state_keys.hh"

#include "engine/limits.hh"
#include "util/cidr.hh"

namespace mailwarden::engine {

std::string reputation_ip_key(std::string_view client_ip) {
    if (!util::parse_ip(client_ip))
        return "";
    return state::state_key(state::KeyKind::reputation, "ip", util::canonical_ip(client_ip));
}

std::string reputation_net_key(std::string_view client_ip) {
    const std::string subnet = client_subnet(client_ip);
    return subnet.empty() ? "" : state::state_key(state::KeyKind::reputation, "net", subnet);
}

std::string reputation_domain_key(std::string_view domain) {
    if (domain.empty())
        return "";
    return state::state_key(state::KeyKind::reputation, "domain", domain_key_text(domain));
}

std::string greylist_key(std::string_view client_ip, std::string_view sender,
                         std::string_view recipient) {
    const std::string subnet = client_subnet(client_ip);
    if (subnet.empty())
        return "";
    return state::state_key(state::KeyKind::greylist, "triplet",
                            subnet + "\n" + address_key_text(sender) + "\n" +
                                address_key_text(recipient));
}

} // namespace mailwarden::engine
