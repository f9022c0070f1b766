#!/usr/bin/env bash
# milter-latency: added latency of mailwarden-milter per message in one SMTP session, on a
# unix socket and on TCP loopback, measured with miltertest (200 messages of 12 headers each,
# no DNS: sender and client are local). Starts the daemon from the build directory on a
# private socket and config, stops it by PID. Bounded: 200 messages, 60 s timeout each run.
#
# usage: tests/bench/milter-latency.sh [BUILD_DIR]   (default _build)
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/_build}" && pwd)
work=$(mktemp -d /tmp/mw-latency-XXXXXX)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

cat >"$work/m.conf" <<CONF
[general]
user = nobody
allow_root = $([ "$(id -u)" -eq 0 ] && echo no || echo yes)
authserv_id = mx.test
milter_pid_file = $work/m.pid
[state]
state_path = $work/state/state.mdb
CONF
chmod 755 "$work"
cat >"$work/session.lua" <<'LUA'
local conn = mt.connect(socket, 40, 0.25)
mt.negotiate(conn, nil, nil, nil)
mt.conninfo(conn, "localhost", "127.0.0.1")
mt.helo(conn, "localhost")
for i = 1, 200 do
  mt.mailfrom(conn, "<a@localhost>")
  mt.rcptto(conn, "<b@localhost>")
  for h = 1, 11 do mt.header(conn, "X-Header-" .. h, "value " .. h) end
  mt.header(conn, "From", "a@localhost")
  mt.eoh(conn)
  mt.bodystring(conn, "hello\r\n")
  mt.eom(conn)
  if mt.getreply(conn) ~= SMFIR_CONTINUE then error("message " .. i .. " not accepted") end
end
mt.disconnect(conn)
LUA

run() { # $1 = socket spec for the daemon, $2 = for miltertest
    "$build/milter/mailwarden-milter" -f -c "$work/m.conf" -p "$1" >"$work/log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do grep -q "started" "$work/log" && break; sleep 0.1; done
    grep -q "started" "$work/log" || { cat "$work/log" >&2; exit 1; }
    local start end
    start=$(date +%s%N)
    timeout 60 miltertest -s "$work/session.lua" -D socket="$2"
    end=$(date +%s%N)
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
    awk -v ns=$((end - start)) -v kind="$3" 'BEGIN { printf "%s: %.2f ms per message (200 messages in one session, miltertest start included)\n", kind, ns / 1e6 / 200 }'
}
run "unix:$work/m.sock" "unix:$work/m.sock" "unix socket"
port=$((20000 + RANDOM % 20000))
run "inet:$port@127.0.0.1" "inet:$port@127.0.0.1" "TCP loopback"
