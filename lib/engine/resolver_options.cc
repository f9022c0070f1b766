// See resolver_options.hh.
#include "engine/resolver_options.hh"

namespace mailwarden::engine {

dns::UnboundOptions resolver_options(const config::Config& config) {
    dns::UnboundOptions options;
    options.servers = config.list("dns_servers");
    options.timeout = config.duration("dns_timeout");
    options.dnssec = config.boolean("dnssec");
    options.trust_anchor_file = config.string("dnssec_trust_anchor");
    options.forward_documentation_zones = !options.servers.empty();
    options.cache.max_bytes = config.size("dns_cache_size");
    options.cache.max_entries = static_cast<std::size_t>(config.integer("dns_cache_entries"));
    return options;
}

} // namespace mailwarden::engine
