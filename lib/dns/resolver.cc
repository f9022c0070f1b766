// Names for DNS statuses and record types, for logs and test messages. No failure modes.
#include "dns/resolver.hh"

namespace mailwarden::dns {

std::string_view status_name(Status status) {
    switch (status) {
    case Status::ok:
        return "ok";
    case Status::nxdomain:
        return "nxdomain";
    case Status::nodata:
        return "nodata";
    case Status::servfail:
        return "servfail";
    case Status::timeout:
        return "timeout";
    case Status::error:
        return "error";
    }
    return "unknown";
}

std::string rr_type_name(RrType type) {
    switch (type) {
    case RrType::a:
        return "A";
    case RrType::ns:
        return "NS";
    case RrType::cname:
        return "CNAME";
    case RrType::soa:
        return "SOA";
    case RrType::ptr:
        return "PTR";
    case RrType::mx:
        return "MX";
    case RrType::txt:
        return "TXT";
    case RrType::aaaa:
        return "AAAA";
    case RrType::spf:
        return "SPF";
    }
    return "TYPE" + std::to_string(static_cast<unsigned>(type));
}

} // namespace mailwarden::dns
