// The libmilter callback table. Each callback fetches the Session with smfi_getpriv and
// does one thing; no callback lets an exception escape into libmilter.
#pragma once

#include "config/config.hh"

#include <libmilter/mfapi.h>

namespace mailwarden::milter {

// The descriptor to hand to smfi_register. holder supplies the snapshot for new
// connections; it must outlive smfi_main().
smfiDesc make_milter_description(const config::ConfigHolder& holder);

} // namespace mailwarden::milter
