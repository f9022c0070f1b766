// Key records for DKIM verification (see dkim_verify_context.hh for the verifier's files).
// Every lookup of a message is kept in its session by name, so that the fast path and
// libopendkim ask DNS, and wait for a timeout, once per key (decoded keys are cached across
// messages by PublicKeyCache, dkim_key.hh). libopendkim asks through its dkim_dns_set_query_* hooks
// and parses a raw DNS response packet, so query_start hands the name to
// dns::Resolver::query_async, query_waitreply waits at most DkimOptions::dns_timeout and writes a
// minimal response (header, question, TXT answers; NXDOMAIN rcode) into libopendkim's buffer.
// Timeouts and SERVFAIL/resolver errors are returned as hook status codes (EXPIRED / ERROR), which
// libopendkim turns into DKIM_SIGERROR_KEYFAIL (temperror). No exception crosses a hook.
#include "auth/dkim_verify_context.hh"
#include "dns/wire.hh"
#include "util/ascii.hh"

#include <algorithm>

namespace mailwarden::auth::dkim_detail {

namespace {

// The session whose dkim_eoh or dkim_eom runs on this thread (the DNS hooks learn of no
// session otherwise).
thread_local DkimSession::Context* active_session = nullptr;

constexpr int dns_type_txt = 16;
constexpr std::uint16_t dns_class_in = 1;
constexpr std::size_t txt_string_max = 255;

// One key lookup in flight, owned by libopendkim between query_start and query_cancel.
struct PendingQuery {
    std::string name;
    unsigned char* reply_buffer = nullptr; // libopendkim's, valid until query_cancel
    std::size_t reply_capacity = 0;
    std::shared_future<dns::Answer> answer;
};

// TXT RDATA: the joined text split back into character-strings of at most 255 bytes.
std::string txt_rdata(std::string_view text) {
    std::string rdata;
    do {
        const auto piece = text.substr(0, txt_string_max);
        rdata.push_back(static_cast<char>(piece.size()));
        rdata.append(piece);
        text.remove_prefix(piece.size());
    } while (!text.empty());
    return rdata;
}

void put_question(std::string_view name, std::string& packet) {
    if (!dns::encode_name(name, packet))
        packet.push_back('\0'); // unencodable name: ask about the root, answer NXDOMAIN
    dns::put_u16(packet, dns_type_txt);
    dns::put_u16(packet, dns_class_in);
}

// A response as a recursive server would send it: QR RD RA, rcode 0 or NXDOMAIN (3).
std::string txt_response(std::string_view name, const dns::Answer& answer) {
    std::string question;
    put_question(name, question);
    const bool name_ok = question.size() > 5;
    const bool nxdomain = answer.status == dns::Status::nxdomain || !name_ok;
    const bool with_records = answer.status == dns::Status::ok && name_ok;
    std::string packet;
    dns::put_u16(packet, 0); // id: libopendkim does not check it
    dns::put_u16(packet, nxdomain ? 0x8183 : 0x8180);
    dns::put_u16(packet, 1);
    dns::put_u16(packet, with_records ? static_cast<std::uint16_t>(answer.records.size()) : 0);
    dns::put_u16(packet, 0);
    dns::put_u16(packet, 0);
    packet += question;
    if (!with_records)
        return packet;
    for (const auto& record : answer.records) {
        dns::encode_name(name, packet);
        dns::put_u16(packet, dns_type_txt);
        dns::put_u16(packet, dns_class_in);
        dns::put_u32(packet, static_cast<std::uint32_t>(answer.ttl.count()));
        const auto rdata = txt_rdata(record.text);
        dns::put_u16(packet, static_cast<std::uint16_t>(rdata.size()));
        packet += rdata;
    }
    return packet;
}

int dns_query_start(void* service, int type, unsigned char* query, unsigned char* buffer,
                    std::size_t capacity, void** handle) noexcept {
    if (service == nullptr || query == nullptr || buffer == nullptr || handle == nullptr ||
        type != dns_type_txt)
        return DKIM_DNS_INVALID;
    try {
        auto& dns = *static_cast<DkimVerifier::DnsService*>(service);
        auto pending = std::make_unique<PendingQuery>();
        pending->name = reinterpret_cast<const char*>(query);
        pending->reply_buffer = buffer;
        pending->reply_capacity = capacity;
        const std::string key = util::ascii_lowered(pending->name);
        if (active_session != nullptr && active_session->lookups.contains(key)) {
            pending->answer = active_session->lookups.at(key);
        } else {
            pending->answer = start_lookup(dns.resolver, pending->name);
            if (active_session != nullptr)
                active_session->lookups.emplace(key, pending->answer);
        }
        *handle = pending.release(); // back into a unique_ptr in dns_query_cancel
        return DKIM_DNS_SUCCESS;
    } catch (...) {
        return DKIM_DNS_ERROR;
    }
}

std::chrono::milliseconds wait_limit(const DkimVerifier::DnsService& dns,
                                     const struct timeval* library_limit) {
    if (library_limit == nullptr)
        return dns.timeout;
    const auto library_ms =
        std::chrono::milliseconds(library_limit->tv_sec * 1000 + library_limit->tv_usec / 1000);
    return std::min(dns.timeout, library_ms);
}

int dns_query_waitreply(void* service, void* handle, struct timeval* limit,
                        std::size_t* reply_length, int* error, int* dnssec) noexcept {
    if (service == nullptr || handle == nullptr || reply_length == nullptr)
        return DKIM_DNS_INVALID;
    try {
        auto& pending = *static_cast<PendingQuery*>(handle);
        auto& dns = *static_cast<DkimVerifier::DnsService*>(service);
        if (active_session != nullptr &&
            active_session->expired.contains(util::ascii_lowered(pending.name)))
            return DKIM_DNS_EXPIRED; // the fast path already waited the whole timeout
        if (pending.answer.wait_for(wait_limit(dns, limit)) != std::future_status::ready)
            return DKIM_DNS_EXPIRED;
        const dns::Answer answer = pending.answer.get();
        if (error != nullptr)
            *error = 0;
        if (dnssec != nullptr)
            *dnssec = answer.secure ? DKIM_DNSSEC_SECURE : DKIM_DNSSEC_UNKNOWN;
        switch (answer.status) {
        case dns::Status::ok:
        case dns::Status::nxdomain:
        case dns::Status::nodata:
            break;
        case dns::Status::timeout:
            return DKIM_DNS_EXPIRED;
        case dns::Status::servfail:
        case dns::Status::error:
            return DKIM_DNS_ERROR;
        }
        const auto packet = txt_response(pending.name, answer);
        if (packet.size() > pending.reply_capacity)
            return DKIM_DNS_ERROR;
        std::copy(packet.begin(), packet.end(), pending.reply_buffer);
        *reply_length = packet.size();
        return DKIM_DNS_SUCCESS;
    } catch (...) {
        return DKIM_DNS_ERROR;
    }
}

int dns_query_cancel(void* /*service*/, void* handle) noexcept {
    std::unique_ptr<PendingQuery> owned(static_cast<PendingQuery*>(handle));
    return DKIM_DNS_SUCCESS;
}

} // namespace

ActiveSession::ActiveSession(DkimSession::Context& context) {
    active_session = &context;
}

ActiveSession::~ActiveSession() {
    active_session = nullptr;
}

// The promise is shared with the resolver's callback, which may run after both gave up.
std::shared_future<dns::Answer> start_lookup(dns::Resolver& resolver, const std::string& name) {
    auto promise = std::make_shared<std::promise<dns::Answer>>();
    std::shared_future<dns::Answer> answer = promise->get_future().share();
    resolver.query_async(name, dns::RrType::txt,
                         [promise](dns::Answer result) { promise->set_value(std::move(result)); });
    return answer;
}

std::optional<dns::Answer> key_answer(DkimSession::Context& context, const std::string& name) {
    if (context.expired.contains(name))
        return std::nullopt;
    auto lookup = context.lookups.find(name);
    if (lookup == context.lookups.end())
        lookup = context.lookups.emplace(name, start_lookup(context.dns->resolver, name)).first;
    if (lookup->second.wait_for(context.dns->timeout) != std::future_status::ready) {
        context.expired.insert(name);
        return std::nullopt;
    }
    return lookup->second.get();
}

void install_dns_hooks(DKIM_LIB* library, DkimVerifier::DnsService& service) {
    // No libresolv/libunbound of libopendkim's own: it must never init or close our service.
    dkim_dns_set_init(library, nullptr);
    dkim_dns_set_close(library, nullptr);
    dkim_dns_set_nslist(library, nullptr);
    dkim_dns_set_config(library, nullptr);
    dkim_dns_set_trustanchor(library, nullptr);
    dkim_dns_set_query_service(library, &service);
    dkim_dns_set_query_start(library, dns_query_start);
    dkim_dns_set_query_cancel(library, dns_query_cancel);
    dkim_dns_set_query_waitreply(library, dns_query_waitreply);
}

} // namespace mailwarden::auth::dkim_detail
