// See dispatch.hh. Decoding follows what libmilter accepts from Postfix and Sendmail, stricter
// where libmilter read past its buffers: every string must end with its NUL inside the data.
#include "milter/dispatch.hh"

#include "milter/callbacks.hh"
#include "util/log.hh"

#include <algorithm>
#include <arpa/inet.h>
#include <optional>
#include <strings.h>

namespace mailwarden::milter {

namespace {

// What an MTA that sends 0 means (libmilter's SMFI_V1_ACTS and SMFI_V1_PROT).
constexpr std::uint32_t version_1_actions = 0xf;
constexpr std::uint32_t version_1_protocol = 0x3f;

std::optional<MacroStage> macro_stage_of(char command_code) {
    switch (command_code) {
    case command::connect:
        return MacroStage::connect;
    case command::helo:
        return MacroStage::helo;
    case command::mail:
        return MacroStage::mail;
    case command::recipient:
        return MacroStage::recipient;
    case command::data:
        return MacroStage::data;
    case command::end_of_headers:
        return MacroStage::end_of_headers;
    case command::end_of_body:
        return MacroStage::end_of_message;
    default:
        return std::nullopt;
    }
}

// The client address of a connect command, as text in its usual form; none when it is not an
// address of its family. IPv6 may come as "IPv6:ADDR" (Sendmail).
std::optional<std::string> address_text(char family, std::string_view address) {
    const int af = family == '4' ? AF_INET : AF_INET6;
    if (af == AF_INET6 && address.size() >= 5 && strncasecmp(address.data(), "IPv6:", 5) == 0)
        address.remove_prefix(5);
    if (address.size() >= INET6_ADDRSTRLEN)
        return std::nullopt;
    const std::string terminated(address);
    unsigned char binary[sizeof(in6_addr)];
    char text[INET6_ADDRSTRLEN] = "";
    if (inet_pton(af, terminated.c_str(), binary) != 1 ||
        inet_ntop(af, binary, text, sizeof text) == nullptr)
        return std::nullopt;
    return std::string(text);
}

} // namespace

Dispatcher::Dispatcher(const engine::EngineHolder& engines) : context_(engines) {}

Dispatcher::~Dispatcher() {
    if (context_.session)
        on_close(context_);
}

void Dispatcher::end_connection() {
    if (context_.session)
        on_close(context_);
    context_.reset();
    negotiated_ = false;
}

bool Dispatcher::protocol_error(const std::string& what) {
    util::LogRecord(util::Severity::warning)
        .text("milter protocol error, closing the connection")
        .kv("error", what);
    return false;
}

void Dispatcher::answer(std::uint32_t no_reply_option, Status status) {
    if ((context_.negotiated.no_reply & no_reply_option) != 0)
        return; // the MTA expects nothing, whatever the callback said
    context_.answer(status == Status::no_reply ? Status::continue_ : status);
}

bool Dispatcher::handle(const Frame& frame) {
    if (!negotiated_ && frame.command != command::negotiate)
        return protocol_error(std::string("command '") + frame.command +
                              "' before the option negotiation");
    switch (frame.command) {
    case command::negotiate:
        return negotiate(frame.data);
    case command::macro: {
        if (frame.data.empty())
            return protocol_error("a macro command without its step");
        const auto stage = macro_stage_of(frame.data[0]);
        if (stage && !context_.set_macros(*stage, frame.data.substr(1)))
            return protocol_error("malformed macros");
        return true; // macros of an unknown step are ignored, as libmilter does
    }
    case command::connect:
        return connect(frame.data);
    case command::helo:
        if (!split_strings(frame.data, strings_))
            return protocol_error("malformed HELO");
        context_.clear_macros_after(MacroStage::helo);
        answer(option::no_reply_helo, on_helo(context_, strings_[0]));
        return true;
    case command::mail:
    case command::recipient:
        return envelope(frame.command, frame.data);
    case command::data:
        answer(option::no_reply_data, Status::continue_);
        return true;
    case command::unknown:
        answer(option::no_reply_unknown, Status::continue_);
        return true;
    case command::header:
        return header(frame.data);
    case command::end_of_headers:
        answer(option::no_reply_end_of_headers, on_eoh(context_));
        return true;
    case command::body:
        answer(option::no_reply_body, on_body(context_, frame.data));
        return true;
    case command::end_of_body:
        return end_of_body(frame.data);
    case command::abort:
        on_abort(context_);
        return true;
    case command::quit_new_connection: // the next SMTP session starts with connect
        on_close(context_);
        context_.clear_macros_after(MacroStage::connect);
        (void)context_.set_macros(MacroStage::connect, {});
        return true;
    case command::quit:
        on_close(context_);
        return false;
    default:
        return protocol_error("unknown command " +
                              std::to_string(static_cast<unsigned char>(frame.command)));
    }
}

bool Dispatcher::negotiate(std::string_view data) {
    if (negotiated_)
        return protocol_error("a second option negotiation");
    if (data.size() < 12)
        return protocol_error("a short option negotiation");
    const std::uint32_t version = read_u32(data);
    if (version < 2)
        return protocol_error("protocol version " + std::to_string(version) +
                              " (at least 2 is needed)");
    std::uint32_t offered_actions = read_u32(data.substr(4));
    std::uint32_t offered_protocol = read_u32(data.substr(8));
    if (offered_actions == 0)
        offered_actions = version_1_actions;
    if (offered_protocol == 0)
        offered_protocol = version_1_protocol;
    std::uint32_t actions = 0, protocol = 0;
    on_negotiate(context_, offered_actions, offered_protocol, actions, protocol);
    negotiated_ = true;
    std::string reply;
    append_u32(reply, std::min(version, protocol_version));
    append_u32(reply, actions);
    append_u32(reply, protocol);
    for (const auto& [stage, names] : context_.macro_lists) {
        append_u32(reply, stage);
        reply += names;
        reply += '\0';
    }
    context_.macro_lists.clear();
    append_frame(context_.output, reply::negotiate, reply);
    return true;
}

// HOST\0 FAMILY [PORT(2) ADDRESS\0]
bool Dispatcher::connect(std::string_view data) {
    const std::size_t host_end = data.find('\0');
    if (host_end == std::string_view::npos || host_end + 1 >= data.size())
        return protocol_error("malformed connect information");
    const std::string_view host = data.substr(0, host_end);
    const char family = data[host_end + 1];
    std::optional<std::string> ip;
    if (family != 'U') {
        const std::string_view rest = data.substr(host_end + 2);
        if (rest.size() < 3 || rest.back() != '\0' ||
            rest.substr(2, rest.size() - 3).find('\0') != std::string_view::npos)
            return protocol_error("malformed connect address");
        const std::string_view address = rest.substr(2, rest.size() - 3);
        if (family == 'L')
            ip = "";
        else if (family == '4' || family == '6')
            ip = address_text(family, address);
        if (!ip)
            return protocol_error(std::string("bad connect address (family '") + family + "')");
    }
    context_.clear_macros_after(MacroStage::connect);
    answer(option::no_reply_connect, on_connect(context_, host, ip));
    return true;
}

bool Dispatcher::envelope(char command_code, std::string_view data) {
    if (!split_strings(data, strings_))
        return protocol_error("malformed envelope arguments");
    if (command_code == command::mail) {
        context_.clear_macros_after(MacroStage::mail);
        answer(option::no_reply_mail, on_envfrom(context_, strings_));
    } else {
        context_.clear_macros_after(MacroStage::recipient);
        answer(option::no_reply_recipient, on_envrcpt(context_, strings_));
    }
    return true;
}

// NAME\0VALUE\0
bool Dispatcher::header(std::string_view data) {
    if (!split_strings(data, strings_) || strings_.size() != 2 || strings_[0].empty())
        return protocol_error("malformed header field");
    answer(option::no_reply_header, on_header(context_, strings_[0], strings_[1]));
    return true;
}

// The end of the message, possibly with the last body chunk (libmilter takes one).
bool Dispatcher::end_of_body(std::string_view data) {
    if (!data.empty()) {
        const Status body = on_body(context_, data);
        if (body != Status::continue_ && body != Status::skip && body != Status::no_reply) {
            answer(0, body);
            return true;
        }
    }
    answer(0, on_eom(context_));
    return true;
}

} // namespace mailwarden::milter
