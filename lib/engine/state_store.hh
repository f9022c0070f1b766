// The state store of a configuration: state_backend = lmdb (state_path, state_max_size) or
// redis (redis_*), behind a BreakerStore so that a dead backend costs its timeout only a few
// times.
// Started as root (a daemon before its privilege drop, or the admin tool), the LMDB file and
// its directory are given to `user`, so that the daemons can open them after dropping.
// on_damage: what a damaged LMDB file gets (lmdb_store.hh): the daemons move it aside, the
// admin tool refuses to touch it (StateFileDamaged) and says so.
//
// Failure: throws std::runtime_error naming the file or server and the reason when the store
// cannot be opened (a Redis server that is down is not an error here: it is retried per
// batch).
#pragma once

#include "config/config.hh"
#include "state/lmdb_store.hh"
#include "state/store.hh"

#include <memory>

namespace mailwarden::engine {

std::shared_ptr<state::Store>
open_state_store(const config::Config& config,
                 state::OnDamage on_damage = state::OnDamage::move_aside);

} // namespace mailwarden::engine
