#!/usr/bin/env bash
# store-bench.sh BUILD_DIR [SECONDS]: bench-store on LMDB and on a private redis-server that this
# script starts on 127.0.0.1 (a free port, no persistence) and stops by PID at exit.
set -euo pipefail
build=${1:?usage: store-bench.sh BUILD_DIR [SECONDS]}
seconds=${2:-2}
work=$(mktemp -d /tmp/mw-store-bench-XXXXXX)
redis_pid=
cleanup() {
    [ -z "$redis_pid" ] || { kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; }
    rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=../private-redis.sh
. "$(dirname "$0")/../private-redis.sh"
start_private_redis "$work"
echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$redis_port"
"$build/tests/bench/bench-store" --seconds "$seconds" --redis "127.0.0.1:$redis_port"
