// See callbacks.hh. Negotiation asks the MTA for no reply at the steps where we never decide
// (connect, HELO, RCPT, each header, end of headers, body chunks) and for no DATA step, so a
// message costs the MTA one round trip at MAIL and one at end of message. (Postfix
// still sends the DATA step's macros, unanswered; over TCP the server acknowledges them at
// once, see server.cc.) An internal error at a step without a reply is remembered and
// answered at the next step that has one.
#include "milter/callbacks.hh"

#include "auth/dkim_sign.hh"
#include "engine/report.hh"
#include "milter/frame.hh"
#include "milter/protocol.hh"
#include "util/ascii.hh"
#include "util/log.hh"

#include <exception>
#include <memory>
#include <string>

namespace mailwarden::milter {

namespace {

// The steps we never answer, if the MTA agrees.
constexpr std::uint32_t wanted_no_reply = option::no_reply_connect | option::no_reply_helo |
                                          option::no_reply_recipient | option::no_reply_header |
                                          option::no_reply_end_of_headers | option::no_reply_body;
// Steps we do not use at all, and the protocol options we want.
constexpr std::uint32_t wanted_protocol = wanted_no_reply | option::no_unknown | option::no_data |
                                          option::skip | option::header_leading_space;
constexpr std::uint32_t wanted_actions =
    action::add_headers | action::change_headers | action::quarantine | action::set_macro_list;

Session* session_of(Context& context) {
    return context.session.get();
}

// The session of a step after connect; it exists unless connect itself failed.
Session& session_for(Context& context) {
    Session* session = session_of(context);
    if (session == nullptr)
        throw std::runtime_error("no session (the connect step failed)");
    return *session;
}

Session& new_session(Context& context) {
    context.session = std::make_unique<Session>(context.engines.current());
    return *context.session;
}

std::string macro(const Context& context, std::string_view name) {
    return std::string(context.macro(name));
}

// The end of the message's header, once, before its body or its end (see Session).
void end_headers(Session& session) {
    if (session.message && !session.failed && !session.headers_ended)
        session.message->end_of_headers();
    session.headers_ended = true;
}

// The answer for a step: Status::no_reply where the MTA agreed to expect none.
Status answer(const Context& context, std::uint32_t no_reply_flag, Status status) {
    return (context.negotiated.no_reply & no_reply_flag) != 0 ? Status::no_reply : status;
}

std::string queue_id(const Context& context) {
    const std::string id = macro(context, "i");
    return id.empty() ? "NOQUEUE" : id;
}

std::string client_address(const Session& session) {
    if (!session.connection || session.connection->facts().client_ip.empty())
        return "local";
    return session.connection->facts().client_ip;
}

// One summary line per message (DESIGN.md, Logging).
void log_summary(const Context& context, const Session& session, const engine::Report& report) {
    util::LogRecord record(util::Severity::info);
    record.text(queue_id(context) + ":")
        .kv("client", session.client_name + "[" + client_address(session) + "]")
        .kv("from", "<" + session.sender + ">")
        .kv("rcpts", session.recipients);
    engine::add_summary_fields(record, report);
    record.kv("ms", engine::timing_field(session.elapsed_ms(), report.timing));
}

// Sets the reply of a reject or tempfail and returns its status.
Status final_answer(Context& context, const engine::Verdict& verdict) {
    const Reply reply = reply_for(verdict);
    context.set_reply(reply.code, reply.status, reply.text);
    return verdict.action == engine::Action::reject ? Status::reject : Status::tempfail;
}

// on_internal_error for the current step; ends the message.
Status internal_error_answer(Context& context, Session* session) {
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
    return verdict.is_final() ? final_answer(context, verdict) : Status::accept;
}

// Runs one callback body. Any exception becomes one log line and on_internal_error, answered
// now, or at the next step that has a reply when this one has none.
template <typename Body>
Status guarded(Context& context, const char* stage, std::uint32_t no_reply_flag, Body&& body) {
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
    if (session != nullptr && (context.negotiated.no_reply & no_reply_flag) != 0) {
        session->failed = true;
        return Status::no_reply;
    }
    return internal_error_answer(context, session);
}

} // namespace

void on_negotiate(Context& context, std::uint32_t offered_actions, std::uint32_t offered_protocol,
                  std::uint32_t& actions, std::uint32_t& protocol) {
    actions = offered_actions & wanted_actions;
    protocol = 0; // until the session exists: every step answered
    context.negotiated = Negotiated{.actions = actions};
    try {
        Session& session = new_session(context);
        std::uint32_t wanted = wanted_protocol;
        if (session.engine->limits_recipients())
            wanted &= ~option::no_reply_recipient; // a recipient over its limit is refused at RCPT
        const std::uint32_t agreed = offered_protocol & wanted;
        context.negotiated.no_reply = agreed & wanted_no_reply;
        context.negotiated.leading_space = (agreed & option::header_leading_space) != 0;
        context.negotiated.can_skip = (agreed & option::skip) != 0;
        protocol = agreed;
        util::LogRecord(util::Severity::debug)
            .text("negotiated")
            .kv("offered_actions", offered_actions)
            .kv("actions", actions)
            .kv("protocol", agreed);
        const std::uint32_t header_actions = action::add_headers | action::change_headers;
        if ((actions & header_actions) != header_actions)
            util::LogRecord(util::Severity::warning)
                .text("the MTA cannot add or change headers: a message with a forged "
                      "Authentication-Results header, or one to sign, gets on_internal_error");
        if ((actions & action::set_macro_list) != 0) {
            context.set_macro_list(macro_stage::connect, "j {daemon_name} {client_addr}");
            context.set_macro_list(macro_stage::mail, "i {auth_authen}");
            context.set_macro_list(macro_stage::end_of_message, "i");
        }
    } catch (const std::exception& error) {
        util::LogRecord(util::Severity::error)
            .text("internal error")
            .kv("stage", "negotiate")
            .kv("error", error.what());
    } catch (...) {
        util::LogRecord(util::Severity::error).text("internal error").kv("stage", "negotiate");
    }
}

Status on_connect(Context& context, std::string_view host_name,
                  const std::optional<std::string>& client_ip) {
    return guarded(context, "connect", option::no_reply_connect, [&] {
        Session* existing = session_of(context);
        // A new SMTP session on a connection negotiated before (SMFIC_QUIT_NC) needs a new one.
        Session& session = existing != nullptr ? *existing : new_session(context);
        const std::string ip = client_ip ? *client_ip : macro(context, "{client_addr}");
        session.client_name = host_name.empty() ? std::string("unknown") : std::string(host_name);
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
        return answer(context, option::no_reply_connect, Status::continue_);
    });
}

Status on_helo(Context& context, std::string_view helo_name) {
    return guarded(context, "helo", option::no_reply_helo, [&] {
        Session& session = session_for(context);
        if (session.connection)
            session.connection->helo(helo_name);
        return answer(context, option::no_reply_helo, Status::continue_);
    });
}

Status on_envfrom(Context& context, std::span<const std::string_view> arguments) {
    return guarded(context, "mail", 0, [&]() -> Status {
        Session& session = session_for(context);
        if (session.failed || !session.connected) // an error at connect or HELO, unanswered
            return internal_error_answer(context, &session);
        session.start_message();
        session.sender = envelope_address(arguments.empty() ? "" : arguments[0]);
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
            return Status::continue_;
        engine::Report report = session.message->report_so_far();
        report.verdict = verdict;
        log_summary(context, session, report);
        session.end_message();
        return final_answer(context, verdict);
    });
}

Status on_envrcpt(Context& context, std::span<const std::string_view> arguments) {
    return guarded(context, "rcpt", option::no_reply_recipient, [&] {
        Session& session = session_for(context);
        if (!session.message)
            return answer(context, option::no_reply_recipient, Status::continue_);
        const std::string recipient = envelope_address(arguments.empty() ? "" : arguments[0]);
        const engine::Verdict verdict = session.message->recipient(recipient);
        if (!verdict.is_final() ||
            (context.negotiated.no_reply & option::no_reply_recipient) != 0) {
            ++session.recipients;
            return answer(context, option::no_reply_recipient, Status::continue_);
        }
        util::LogRecord(util::Severity::info)
            .text(queue_id(context) + ": recipient refused")
            .kv("rcpt", "<" + recipient + ">")
            .kv("action", engine::verdict_action_name(verdict))
            .kv("reason", verdict.reason);
        return final_answer(context, verdict); // this recipient only
    });
}

Status on_header(Context& context, std::string_view name, std::string_view value) {
    return guarded(context, "header", option::no_reply_header, [&] {
        Session& session = session_for(context);
        if (session.message && !session.failed && !session.headers_ended)
            session.message->header(
                std::string(name),
                header_value_as_received(value, context.negotiated.leading_space));
        return answer(context, option::no_reply_header, Status::continue_);
    });
}

Status on_eoh(Context& context) {
    return guarded(context, "eoh", option::no_reply_end_of_headers, [&] {
        Session& session = session_for(context);
        end_headers(session);
        return answer(context, option::no_reply_end_of_headers, Status::continue_);
    });
}

Status on_body(Context& context, std::string_view chunk) {
    return guarded(context, "body", option::no_reply_body, [&]() -> Status {
        Session& session = session_for(context);
        if (session.failed) // an unanswered earlier step failed: answered here or at the end
            return (context.negotiated.no_reply & option::no_reply_body) != 0
                       ? Status::no_reply
                       : internal_error_answer(context, &session);
        const Status more = context.negotiated.can_skip ? Status::skip : Status::continue_;
        if (!session.message)
            return answer(context, option::no_reply_body, more);
        end_headers(session);
        if (!chunk.empty() && session.message->wants_body())
            session.message->body(std::span(chunk.data(), chunk.size()));
        return answer(context, option::no_reply_body,
                      session.message->wants_body() ? Status::continue_ : more);
    });
}

namespace {

// Header changes of an accepted or quarantined message: forged Authentication-Results removed
// (the engine lists them highest index first, so no removal shifts another), ours added first.
void change_headers(Context& context, const engine::Verdict& verdict) {
    if (!verdict.remove_headers.empty() &&
        (context.negotiated.actions & action::change_headers) == 0)
        throw std::runtime_error("a forged header must be removed and the MTA did not allow "
                                 "header changes");
    for (const auto& removal : verdict.remove_headers) {
        context.change_header(removal.name, static_cast<std::uint32_t>(removal.index), "");
        util::LogRecord(util::Severity::notice)
            .text(queue_id(context) + ": removed a forged header")
            .kv("header", removal.name)
            .kv("index", removal.index);
    }
    for (const auto& [name, value] : verdict.add_headers) {
        if ((context.negotiated.actions & action::add_headers) == 0) {
            // Warned about at negotiation. Our Authentication-Results can go missing; a
            // signature cannot: the message is never sent unsigned by surprise.
            if (util::equal_ignoring_ascii_case(name, auth::dkim_signature_field))
                throw std::runtime_error("a DKIM signature must be added and the MTA did not "
                                         "allow adding headers");
            continue;
        }
        // With SMFIP_HDR_LEADSPC the MTA adds no space after the colon: we give it.
        const std::string folded =
            (context.negotiated.leading_space ? " " : "") + folded_header_value(name, value);
        context.insert_header(0, name, folded);
    }
}

} // namespace

Status on_eom(Context& context) {
    return guarded(context, "eom", 0, [&]() -> Status {
        Session& session = session_for(context);
        if (session.failed || !session.message)
            return internal_error_answer(context, &session);
        end_headers(session);
        const engine::Report report = session.message->end_of_message();
        const engine::Verdict& verdict = report.verdict;
        Status status = Status::continue_;
        if (verdict.is_final()) {
            status = final_answer(context, verdict);
        } else {
            change_headers(context, verdict);
            if (verdict.action == engine::Action::quarantine) {
                if ((context.negotiated.actions & action::quarantine) == 0)
                    throw std::runtime_error("the MTA did not allow quarantine");
                context.quarantine(quarantine_reason(verdict));
            }
        }
        log_summary(context, session, report);
        session.end_message();
        return status;
    });
}

void on_abort(Context& context) {
    if (Session* session = session_of(context))
        session->end_message();
}

void on_close(Context& context) {
    context.session.reset();
}

} // namespace mailwarden::milter
