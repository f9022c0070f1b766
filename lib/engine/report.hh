// The forms of an engine Report that admins read: JSON (one object, the `mailwarden check
// --format json` contract in DESIGN.md) and aligned text lines. Never throws for any report;
// attacker text inside is quoted (JSON) or escaped like log values (text), so
// nothing from a message can reach a terminal as a control sequence.
#pragma once

#include "engine/engine.hh"
#include "util/log.hh"

#include <string>

namespace mailwarden::engine {

std::string report_json(const Report& report);
std::string report_text(const Report& report);

// The results part of a daemon's one summary line per message (DESIGN.md, Logging):
// spf=pass dkim=pass:example.org,fail:other.org dmarc=pass rate=ok rep=+0.80 action=accept
// reason=ok, or
// outbound=yes in place of the three results for outbound mail.
void add_summary_fields(util::LogRecord& record, const Report& report);

} // namespace mailwarden::engine
