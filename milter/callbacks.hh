// The libmilter callback table. Each callback fetches the connection's Session with
// smfi_getpriv and hands the step to the engine; what the engine decides is answered at that
// step. No callback lets an exception escape into libmilter: any becomes one log line and the
// on_internal_error action.
#pragma once

#include "engine/engine_holder.hh"

#include <libmilter/mfapi.h>

namespace mailwarden::milter {

// The descriptor to hand to smfi_register. engines supplies the Engine for new connections;
// it must outlive smfi_main() and every connection.
//
// tcp: the milter listens on a TCP socket. It then answers every step instead of asking the
// MTA for no reply: over TCP, steps that get no answer meet the MTA's Nagle algorithm and our
// delayed ACK, and every message stalls about 40 ms (measured: 46 ms per message over
// loopback, 1 ms on a unix socket); a small reply per step costs microseconds.
smfiDesc make_milter_description(const engine::EngineHolder& engines, bool tcp);

} // namespace mailwarden::milter
