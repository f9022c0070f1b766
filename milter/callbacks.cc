// See callbacks.hh. Negotiation asks the MTA for no reply at the steps where we never decide
// (connect, HELO, RCPT, each header, end of headers), so an SMTP session costs the MTA one
// round trip at MAIL, one per body chunk and one at end of message. An internal error at a
// step without a reply is remembered and answered at the next step that has one.
#include "milter/callbacks.hh"

#include "engine/report.hh"
#include "milter/protocol.hh"
#include "milter/session.hh"
#include "util/lock_guarded.hh"
#include "util/log.hh"

#include <arpa/inet.h>
#include <exception>
#include <libmilter/mfdef.h>
#include <memory>
#include <netinet/in.h>
#include <span>
#include <string>
#include <sys/socket.h>
#include <unordered_map>

namespace mailwarden::milter {

namespace {

const engine::EngineHolder* engine_holder = nullptr;
bool reply_to_every_step = false; // see make_milter_description

// Negotiations of milter connections whose SMTP session was closed (xxfi_close), kept for an
// SMFIC_QUIT_NC: the next session on the same connection starts with connect, without a new
// negotiation. Bounded: a later negotiation on the same context replaces its entry, and the
// map is cleared if it ever holds max_parked.
constexpr std::size_t max_parked = 4096;
util::LockGuarded<std::unordered_map<const SMFICTX*, Negotiated>> parked_negotiations;

// The steps we never answer, if the MTA agrees.
constexpr unsigned long wanted_no_reply =
    SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_RCPT | SMFIP_NR_HDR | SMFIP_NR_EOH;
// Steps we do not use at all, and the protocol options we want.
constexpr unsigned long wanted_protocol =
    wanted_no_reply | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP | SMFIP_HDR_LEADSPC;
constexpr unsigned long wanted_actions =
    SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE | SMFIF_SETSYMLIST;

Session* session_of(SMFICTX* context) {
    return static_cast<Session*>(smfi_getpriv(context));
}

// The session of a step after connect; it exists unless connect itself failed.
Session& session_for(SMFICTX* context) {
    Session* session = session_of(context);
    if (session == nullptr)
        throw std::runtime_error("no session (the connect step failed)");
    return *session;
}

Session& new_session(SMFICTX* context) {
    auto session = std::make_unique<Session>(engine_holder->current());
    Session* raw = session.get();
    if (smfi_setpriv(context, session.release()) != MI_SUCCESS) {
        delete raw;
        throw std::runtime_error("smfi_setpriv failed");
    }
    return *raw;
}

std::string address_text(const sockaddr* address) {
    char text[INET6_ADDRSTRLEN] = "";
    if (address == nullptr)
        return "";
    if (address->sa_family == AF_INET)
        inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text,
                  sizeof text);
    else if (address->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text,
                  sizeof text);
    return text;
}

std::string macro(SMFICTX* context, const char* name) {
    const char* value = smfi_getsymval(context, const_cast<char*>(name));
    return value != nullptr ? value : "";
}

// The answer for a step: SMFIS_NOREPLY where the MTA agreed to expect none.
sfsistat answer(const Session& session, unsigned long no_reply_flag, sfsistat status) {
    return (session.negotiated.no_reply & no_reply_flag) != 0 ? SMFIS_NOREPLY : status;
}

std::string queue_id(SMFICTX* context) {
    const std::string id = macro(context, "i");
    return id.empty() ? "NOQUEUE" : id;
}

std::string client_address(const Session& session) {
    if (!session.connection || session.connection->facts().client_ip.empty())
        return "local";
    return session.connection->facts().client_ip;
}

// One summary line per message (DESIGN.md, Logging).
void log_summary(SMFICTX* context, const Session& session, const engine::Report& report) {
    util::LogRecord record(util::Severity::info);
    record.text(queue_id(context) + ":")
        .kv("client", session.client_name + "[" + client_address(session) + "]")
        .kv("from", "<" + session.sender + ">")
        .kv("rcpts", session.recipients);
    engine::add_summary_fields(record, report);
    record.kv("ms", engine::timing_field(session.elapsed_ms(), report.timing));
}

// Sends the reply of a reject or tempfail and returns its status.
sfsistat final_answer(SMFICTX* context, const engine::Verdict& verdict) {
    const Reply reply = reply_for(verdict);
    if (smfi_setreply(context, const_cast<char*>(reply.code.c_str()),
                      const_cast<char*>(reply.status.c_str()),
                      const_cast<char*>(reply.text.c_str())) != MI_SUCCESS)
        util::LogRecord(util::Severity::warning)
            .text("smfi_setreply failed")
            .kv("code", reply.code);
    return verdict.action == engine::Action::reject ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

// on_internal_error for the current step; ends the message.
sfsistat internal_error_answer(SMFICTX* context, Session* session) {
    const engine::DecisionPolicy policy =
        session != nullptr ? session->engine->policy() : engine::DecisionPolicy{};
    const engine::Verdict verdict = engine::internal_error_verdict(policy);
    if (session != nullptr) {
        engine::Report report;
        report.verdict = verdict;
        if (session->in_transaction)
            log_summary(context, *session, report);
        session->end_message();
    }
    return verdict.is_final() ? final_answer(context, verdict) : SMFIS_ACCEPT;
}

// Runs one callback body. Any exception becomes one log line and on_internal_error, answered
// now, or at the next step that has a reply when this one has none.
template <typename Body>
sfsistat guarded(SMFICTX* context, const char* stage, unsigned long no_reply_flag, Body&& body) {
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
    Session* session = session_of(context);
    if (session != nullptr && (session->negotiated.no_reply & no_reply_flag) != 0) {
        session->failed = true;
        return SMFIS_NOREPLY;
    }
    return internal_error_answer(context, session);
}

sfsistat on_negotiate(SMFICTX* context, unsigned long offered_actions,
                      unsigned long offered_protocol, unsigned long, unsigned long,
                      unsigned long* actions, unsigned long* protocol, unsigned long* reserved2,
                      unsigned long* reserved3) {
    *actions = offered_actions & wanted_actions;
    *protocol = 0; // until the session exists: every step answered
    *reserved2 = 0;
    *reserved3 = 0;
    try {
        parked_negotiations.with([&](auto& parked) { parked.erase(context); });
        Session& session = new_session(context);
        unsigned long wanted = wanted_protocol;
        if (reply_to_every_step)
            wanted &= ~wanted_no_reply;
        if (session.engine->limits_recipients())
            wanted &= ~SMFIP_NR_RCPT; // a recipient over its limit is refused at RCPT
        const unsigned long agreed = offered_protocol & wanted;
        session.negotiated.actions = *actions;
        session.negotiated.no_reply = agreed & wanted_no_reply;
        session.negotiated.leading_space = (agreed & SMFIP_HDR_LEADSPC) != 0;
        session.negotiated.can_skip = (agreed & SMFIP_SKIP) != 0;
        *protocol = agreed;
        util::LogRecord(util::Severity::debug)
            .text("negotiated")
            .kv("offered_actions", offered_actions)
            .kv("actions", *actions)
            .kv("protocol", agreed);
        if ((*actions & (SMFIF_ADDHDRS | SMFIF_CHGHDRS)) != (SMFIF_ADDHDRS | SMFIF_CHGHDRS))
            util::LogRecord(util::Severity::warning)
                .text("the MTA cannot add or change headers: a message with a forged "
                      "Authentication-Results header gets on_internal_error");
        if ((*actions & SMFIF_SETSYMLIST) != 0) {
            (void)smfi_setsymlist(context, SMFIM_CONNECT,
                                  const_cast<char*>("j {daemon_name} {client_addr}"));
            (void)smfi_setsymlist(context, SMFIM_ENVFROM, const_cast<char*>("i {auth_authen}"));
            (void)smfi_setsymlist(context, SMFIM_EOM, const_cast<char*>("i"));
        }
    } catch (const std::exception& error) {
        util::LogRecord(util::Severity::error)
            .text("internal error")
            .kv("stage", "negotiate")
            .kv("error", error.what());
    } catch (...) {
        util::LogRecord(util::Severity::error).text("internal error").kv("stage", "negotiate");
    }
    return SMFIS_CONTINUE;
}

sfsistat on_connect(SMFICTX* context, char* host_name, _SOCK_ADDR* address) {
    return guarded(context, "connect", SMFIP_NR_CONN, [&] {
        Session* existing = session_of(context);
        Session& session = existing != nullptr ? *existing : new_session(context);
        if (existing == nullptr) // a new SMTP session on a connection negotiated before
            parked_negotiations.with([&](auto& parked) {
                if (const auto found = parked.find(context); found != parked.end()) {
                    session.negotiated = found->second;
                    parked.erase(found);
                }
            });
        std::string ip = address_text(address);
        if (ip.empty() && address == nullptr)
            ip = macro(context, "{client_addr}");
        session.client_name = host_name != nullptr ? host_name : "unknown";
        // Postfix and Sendmail name an unverified client "unknown" or "[ADDR]".
        const bool verified =
            session.client_name != "unknown" && !session.client_name.starts_with('[');
        session.end_message();
        session.connection.reset();
        session.connection.emplace(session.engine->connect(
            {.client_ip = ip, .client_name = verified ? session.client_name : "", .helo = ""}));
        util::LogRecord(util::Severity::debug)
            .text("connect")
            .kv("client", session.client_name + "[" + ip + "]")
            .kv("mta", macro(context, "j"))
            .kv("daemon", macro(context, "{daemon_name}"));
        session.connected = true;
        return answer(session, SMFIP_NR_CONN, SMFIS_CONTINUE);
    });
}

sfsistat on_helo(SMFICTX* context, char* helo_name) {
    return guarded(context, "helo", SMFIP_NR_HELO, [&] {
        Session& session = session_for(context);
        if (session.connection)
            session.connection->helo(helo_name != nullptr ? helo_name : "");
        return answer(session, SMFIP_NR_HELO, SMFIS_CONTINUE);
    });
}

sfsistat on_envfrom(SMFICTX* context, char** arguments) {
    return guarded(context, "mail", 0, [&]() -> sfsistat {
        Session& session = session_for(context);
        if (session.failed || !session.connected) // an error at connect or HELO, unanswered
            return internal_error_answer(context, &session);
        session.start_message();
        session.sender =
            envelope_address(arguments != nullptr && arguments[0] != nullptr ? arguments[0] : "");
        if (stopping) {
            engine::Report report;
            report.verdict = engine::Verdict::tempfail(
                "4.3.2", "mailwarden is restarting, try again later", "stopping");
            log_summary(context, session, report);
            session.end_message();
            return final_answer(context, report.verdict);
        }
        session.message.emplace(session.connection->message());
        const engine::Verdict verdict =
            session.message->mail_from(session.sender, macro(context, "{auth_authen}"));
        if (!verdict.is_final())
            return SMFIS_CONTINUE;
        engine::Report report = session.message->report_so_far();
        report.verdict = verdict;
        log_summary(context, session, report);
        session.end_message();
        return final_answer(context, verdict);
    });
}

sfsistat on_envrcpt(SMFICTX* context, char** arguments) {
    return guarded(context, "rcpt", SMFIP_NR_RCPT, [&] {
        Session& session = session_for(context);
        if (!session.message)
            return answer(session, SMFIP_NR_RCPT, SMFIS_CONTINUE);
        const std::string recipient =
            envelope_address(arguments != nullptr && arguments[0] != nullptr ? arguments[0] : "");
        const engine::Verdict verdict = session.message->recipient(recipient);
        if (!verdict.is_final() || (session.negotiated.no_reply & SMFIP_NR_RCPT) != 0) {
            ++session.recipients;
            return answer(session, SMFIP_NR_RCPT, SMFIS_CONTINUE);
        }
        util::LogRecord(util::Severity::info)
            .text(queue_id(context) + ": recipient refused")
            .kv("rcpt", "<" + recipient + ">")
            .kv("action", engine::verdict_action_name(verdict))
            .kv("reason", verdict.reason);
        return final_answer(context, verdict); // this recipient only
    });
}

sfsistat on_header(SMFICTX* context, char* name, char* value) {
    return guarded(context, "header", SMFIP_NR_HDR, [&] {
        Session& session = session_for(context);
        if (session.message && !session.failed)
            session.message->header(name != nullptr ? name : "",
                                    header_value_as_received(value != nullptr ? value : "",
                                                             session.negotiated.leading_space));
        return answer(session, SMFIP_NR_HDR, SMFIS_CONTINUE);
    });
}

sfsistat on_eoh(SMFICTX* context) {
    return guarded(context, "eoh", SMFIP_NR_EOH, [&] {
        Session& session = session_for(context);
        if (session.message && !session.failed)
            session.message->end_of_headers();
        return answer(session, SMFIP_NR_EOH, SMFIS_CONTINUE);
    });
}

sfsistat on_body(SMFICTX* context, unsigned char* chunk, size_t size) {
    return guarded(context, "body", 0, [&]() -> sfsistat {
        Session& session = session_for(context);
        if (session.failed)
            return internal_error_answer(context, &session);
        if (!session.message)
            return session.negotiated.can_skip ? SMFIS_SKIP : SMFIS_CONTINUE;
        if (chunk != nullptr && size > 0)
            session.message->body(std::span(reinterpret_cast<const char*>(chunk), size));
        return session.negotiated.can_skip && !session.message->wants_body() ? SMFIS_SKIP
                                                                             : SMFIS_CONTINUE;
    });
}

// Header changes of an accepted or quarantined message: forged Authentication-Results removed
// (the engine lists them highest index first, so no removal shifts another), ours added first.
void change_headers(SMFICTX* context, const Session& session, const engine::Verdict& verdict) {
    if (!verdict.remove_headers.empty() && (session.negotiated.actions & SMFIF_CHGHDRS) == 0)
        throw std::runtime_error("a forged header must be removed and the MTA did not allow "
                                 "header changes");
    for (const auto& removal : verdict.remove_headers) {
        if (smfi_chgheader(context, const_cast<char*>(removal.name.c_str()),
                           static_cast<int>(removal.index), nullptr) != MI_SUCCESS)
            throw std::runtime_error("cannot remove a forged " + removal.name + " header");
        util::LogRecord(util::Severity::notice)
            .text(queue_id(context) + ": removed a forged header")
            .kv("header", removal.name)
            .kv("index", removal.index);
    }
    for (const auto& [name, value] : verdict.add_headers) {
        if ((session.negotiated.actions & SMFIF_ADDHDRS) == 0)
            break; // warned about at negotiation
        // With SMFIP_HDR_LEADSPC the MTA adds no space after the colon: we give it.
        const std::string folded =
            (session.negotiated.leading_space ? " " : "") + folded_header_value(name, value);
        if (smfi_insheader(context, 0, const_cast<char*>(name.c_str()),
                           const_cast<char*>(folded.c_str())) != MI_SUCCESS)
            util::LogRecord(util::Severity::warning).text("cannot add header").kv("header", name);
    }
}

sfsistat on_eom(SMFICTX* context) {
    return guarded(context, "eom", 0, [&]() -> sfsistat {
        Session& session = session_for(context);
        if (session.failed || !session.message)
            return internal_error_answer(context, &session);
        const engine::Report report = session.message->end_of_message();
        const engine::Verdict& verdict = report.verdict;
        sfsistat status = SMFIS_CONTINUE;
        if (verdict.is_final()) {
            status = final_answer(context, verdict);
        } else {
            change_headers(context, session, verdict);
            if (verdict.action == engine::Action::quarantine)
                if (std::string reason = quarantine_reason(verdict);
                    smfi_quarantine(context, reason.data()) != MI_SUCCESS)
                    throw std::runtime_error("cannot quarantine the message");
        }
        log_summary(context, session, report);
        session.end_message();
        return status;
    });
}

sfsistat on_abort(SMFICTX* context) {
    if (Session* session = session_of(context))
        session->end_message();
    return SMFIS_CONTINUE;
}

sfsistat on_close(SMFICTX* context) {
    std::unique_ptr<Session> session(session_of(context));
    smfi_setpriv(context, nullptr);
    if (session)
        parked_negotiations.with([&](auto& parked) {
            if (parked.size() >= max_parked)
                parked.clear();
            parked[context] = session->negotiated;
        });
    return SMFIS_CONTINUE;
}

} // namespace

smfiDesc make_milter_description(const engine::EngineHolder& engines, bool tcp) {
    engine_holder = &engines;
    reply_to_every_step = tcp;
    smfiDesc description{};
    description.xxfi_name = const_cast<char*>("mailwarden");
    description.xxfi_version = SMFI_VERSION;
    description.xxfi_flags = wanted_actions;
    description.xxfi_connect = on_connect;
    description.xxfi_helo = on_helo;
    description.xxfi_envfrom = on_envfrom;
    description.xxfi_envrcpt = on_envrcpt;
    description.xxfi_header = on_header;
    description.xxfi_eoh = on_eoh;
    description.xxfi_body = on_body;
    description.xxfi_eom = on_eom;
    description.xxfi_abort = on_abort;
    description.xxfi_close = on_close;
    description.xxfi_negotiate = on_negotiate;
    return description;
}

} // namespace mailwarden::milter
