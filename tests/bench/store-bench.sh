#!/usr/bin/env bash
# store-bench.sh BUILD_DIR [SECONDS]: bench-store on LMDB and on a private redis-server that this
# script starts on 127.0.0.1 (a free port, no persistence) and stops by PID at exit.
set -euo pipefail
build=${1:?usage: store-bench.sh BUILD_DIR [SECONDS]}
seconds=${2:-2}
work=$(mktemp -d /tmp/mw-store-bench-XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

for _ in $(seq 20); do
    port=$((20000 + RANDOM % 40000))
    redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$work" \
        --logfile "$work/redis.log" &
    pid=$!
    for _ in $(seq 50); do
        redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    redis-cli -p "$port" ping 2>/dev/null | grep -q PONG && break
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    pid=
done
[ -n "$pid" ] || { echo "store-bench: redis-server did not start" >&2; exit 1; }
echo "redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1:$port"
"$build/tests/bench/bench-store" --seconds "$seconds" --redis "127.0.0.1:$port"
