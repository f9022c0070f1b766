// See callbacks.hh. Foundation behaviour: accept every message and log one summary line
// with the queue id; an exception inside a callback is logged and answered with
// on_internal_error (tempfail by default) so that no mail is lost silently.
#include "milter/callbacks.hh"

#include "milter/session.hh"
#include "util/log.hh"

#include <arpa/inet.h>
#include <exception>
#include <memory>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>

namespace mailwarden::milter {

namespace {

const config::ConfigHolder* config_holder = nullptr;

Session* session_of(SMFICTX* context) {
    return static_cast<Session*>(smfi_getpriv(context));
}

std::string address_text(const sockaddr* address) {
    char text[INET6_ADDRSTRLEN] = "";
    if (address == nullptr)
        return "unknown";
    if (address->sa_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text,
                  sizeof text);
    else if (address->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text,
                  sizeof text);
    else
        return "local";
    return text;
}

std::string macro(SMFICTX* context, const char* name) {
    const char* value = smfi_getsymval(context, const_cast<char*>(name));
    return value != nullptr ? value : "";
}

sfsistat internal_error_status(const Session* session) {
    const auto action = session != nullptr && session->config
                            ? session->config->action("on_internal_error")
                            : config::Action::tempfail;
    return action == config::Action::accept ? SMFIS_ACCEPT : SMFIS_TEMPFAIL;
}

// Runs one callback body; any exception becomes one log line and on_internal_error.
template <typename Body> sfsistat guarded(SMFICTX* context, const char* stage, Body&& body) {
    try {
        return body();
    } catch (const std::exception& error) {
        util::LogRecord(util::Severity::error)
            .text("internal error")
            .kv("stage", stage)
            .kv("error", error.what());
    } catch (...) {
        util::LogRecord(util::Severity::error).text("internal error").kv("stage", stage);
    }
    return internal_error_status(session_of(context));
}

sfsistat on_connect(SMFICTX* context, char* host_name, _SOCK_ADDR* address) {
    return guarded(context, "connect", [&] {
        auto session = std::make_unique<Session>(config_holder->current());
        session->client_name = host_name != nullptr ? host_name : "unknown";
        session->client_address = address_text(address);
        smfi_setpriv(context, session.release());
        return SMFIS_CONTINUE;
    });
}

sfsistat on_helo(SMFICTX* context, char* helo_name) {
    return guarded(context, "helo", [&] {
        if (Session* session = session_of(context))
            session->helo_name = helo_name != nullptr ? helo_name : "";
        return SMFIS_CONTINUE;
    });
}

sfsistat on_envfrom(SMFICTX* context, char** arguments) {
    return guarded(context, "mail", [&] {
        if (Session* session = session_of(context)) {
            session->reset_message();
            session->envelope_sender =
                arguments != nullptr && arguments[0] != nullptr ? arguments[0] : "";
        }
        return SMFIS_CONTINUE;
    });
}

sfsistat on_envrcpt(SMFICTX* context, char** /*arguments*/) {
    return guarded(context, "rcpt", [&] {
        if (Session* session = session_of(context))
            ++session->recipient_count;
        return SMFIS_CONTINUE;
    });
}

sfsistat on_eom(SMFICTX* context) {
    return guarded(context, "eom", [&] {
        Session* session = session_of(context);
        if (session == nullptr)
            return SMFIS_ACCEPT;
        const auto elapsed = std::chrono::duration<double, std::milli>(
            std::chrono::steady_clock::now() - session->started);
        std::string queue_id = macro(context, "i");
        util::LogRecord(util::Severity::info)
            .text((queue_id.empty() ? std::string("NOQUEUE") : queue_id) + ":")
            .kv("client", session->client_name + "[" + session->client_address + "]")
            .kv("from", session->envelope_sender)
            .kv("rcpts", session->recipient_count)
            .kv("action", "accept")
            .kv("ms", elapsed.count());
        session->reset_message();
        return SMFIS_ACCEPT;
    });
}

sfsistat on_abort(SMFICTX* context) {
    return guarded(context, "abort", [&] {
        if (Session* session = session_of(context))
            session->reset_message();
        return SMFIS_CONTINUE;
    });
}

sfsistat on_close(SMFICTX* context) {
    std::unique_ptr<Session> session(session_of(context));
    smfi_setpriv(context, nullptr);
    return SMFIS_CONTINUE;
}

} // namespace

smfiDesc make_milter_description(const config::ConfigHolder& holder) {
    config_holder = &holder;
    smfiDesc description{};
    description.xxfi_name = const_cast<char*>("mailwarden");
    description.xxfi_version = SMFI_VERSION;
    description.xxfi_flags = 0;
    description.xxfi_connect = on_connect;
    description.xxfi_helo = on_helo;
    description.xxfi_envfrom = on_envfrom;
    description.xxfi_envrcpt = on_envrcpt;
    description.xxfi_eom = on_eom;
    description.xxfi_abort = on_abort;
    description.xxfi_close = on_close;
    return description;
}

} // namespace mailwarden::milter
