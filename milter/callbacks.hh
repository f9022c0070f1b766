// The milter steps. Each callback fetches the connection's Session from its Context and hands
// the step to the engine; what the engine decides is answered at that step. No callback lets
// an exception escape: any becomes one log line and the on_internal_error action. The protocol
// (dispatch.hh) calls them with the command's arguments decoded and checked.
#pragma once

#include "milter/context.hh"

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace mailwarden::milter {

// Option negotiation: from what the MTA offers, the actions and protocol options we take. Sets
// up the Session and the macro lists to ask for.
void on_negotiate(Context& context, std::uint32_t offered_actions, std::uint32_t offered_protocol,
                  std::uint32_t& actions, std::uint32_t& protocol);
// ip: the client's address as text; "" for a local (unix socket) client; none when the MTA did
// not know it (then the {client_addr} macro is used, if sent).
Status on_connect(Context& context, std::string_view host_name,
                  const std::optional<std::string>& ip);
Status on_helo(Context& context, std::string_view helo_name);
Status on_envfrom(Context& context, std::span<const std::string_view> arguments);
Status on_envrcpt(Context& context, std::span<const std::string_view> arguments);
Status on_header(Context& context, std::string_view name, std::string_view value);
Status on_eoh(Context& context);
Status on_body(Context& context, std::string_view chunk);
Status on_eom(Context& context);
void on_abort(Context& context);
// The SMTP session ended (QUIT, a new SMTP session on the same connection, or a connection
// gone): the Session is closed.
void on_close(Context& context);

} // namespace mailwarden::milter
