// The resolver settings of a configuration snapshot: dns_servers, dns_timeout, dnssec,
// dnssec_trust_anchor, dns_cache_size, dns_cache_entries → dns::UnboundOptions. The engine
// layer knows both config and dns; neither of those knows the other.
#pragma once

#include "config/config.hh"
#include "dns/resolver.hh"

namespace mailwarden::engine {

// With explicit forwarders, the reserved test and documentation names (example.test,
// 192.0.2.x reverse) are asked of them too instead of being answered NXDOMAIN by
// libunbound itself; real mail never uses them, and the test servers serve them.
dns::UnboundOptions resolver_options(const config::Config& config);

} // namespace mailwarden::engine
