// The engine's half of the one validation path (config::check_config_file, which `mailwarden
// config check`, a daemon's start and a daemon's reload all use): a trial build of what a
// daemon builds from the file, the resolver with its options and the Engine (public suffix
// list, SPF explanation, rate limits...), and a Redis store from its options, so that the
// checks the constructors make are made once, in one place, for all three. Nothing is queried,
// connected or created; the LMDB file is checked without being opened (config::validate()).
// Never throws: each failure is a ConfigError naming the file.
#pragma once

#include "config/config.hh"

#include <vector>

namespace mailwarden::engine {

std::vector<config::ConfigError> check_configuration(const config::Config& config);

} // namespace mailwarden::engine
