#!/usr/bin/env bash
# policyd-bench: mailwarden-policyd under load. Starts the test DNS responder with one SPF
# record, the daemon on a private unix socket with two rate limits (client and sender, never
# reached) on the state backend given (lmdb; redis at ADDR:PORT, or without ADDR:PORT a private
# redis-server on loopback), runs bench-policyd with 100 connections and reports the daemon's
# CPU time per request (from /proc/PID/stat, around the measured run), then one connection
# asking every 20 ms (the latency of one request on an idle connection); stops everything by PID.
# MW_POLICYD=PATH runs another mailwarden-policyd binary (an older build, side by side).
#
# usage: tests/bench/policyd-bench.sh [BUILD_DIR] [SECONDS] [lmdb|redis [ADDR:PORT]]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/_build}" && pwd)
seconds=${2:-5}
backend=${3:-lmdb}
redis=${4:-}
work=$(mktemp -d /tmp/mw-policyd-bench-XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
chmod 755 "$work"

echo 'pass.test TXT "v=spf1 ip4:192.0.2.0/24 -all"' >"$work/bench.zone"
"$build/tests/dns/mw-testdnsd" -p 0 --port-file "$work/dns.port" -z "$work/bench.zone" >"$work/dns.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/dns.port" ] && break; sleep 0.1; done

if [ "$backend" = redis ] && [ -z "$redis" ]; then
    # shellcheck source=../private-redis.sh
    . "$top/tests/private-redis.sh"
    start_private_redis "$work"
    pids+=("$redis_pid")
    redis=127.0.0.1:$redis_port
fi

state="state_backend = lmdb
state_path = $work/state/state.mdb"
[ "$backend" = redis ] && state="state_backend = redis
redis_servers = $redis
redis_prefix = mw-bench-$$:"
cat >"$work/m.conf" <<CONF
[general]
user = nobody
allow_root = $([ "$(id -u)" -eq 0 ] && echo no || echo yes)
authserv_id = mx.test
internal_networks =
policy_pid_file = $work/policyd.pid
log_level = warning
[policy]
policy_socket = unix:$work/policy.sock
[dns]
dns_servers = 127.0.0.1@$(cat "$work/dns.port")
[state]
$state
[limits]
ratelimit = per_client client_ip 1000/1s burst=100000000
ratelimit = per_sender sender 1000/1s burst=100000000
CONF
"${MW_POLICYD:-$build/policy/mailwarden-policyd}" -f -c "$work/m.conf" >"$work/policyd.log" 2>&1 &
policyd=$!
pids+=("$policyd")
for _ in $(seq 100); do [ -S "$work/policy.sock" ] && break; sleep 0.1; done
"$build/tests/bench/bench-policyd" --socket "$work/policy.sock" --connections 10 --seconds 1 >/dev/null # warm
# utime + stime of a process, in clock ticks
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
cpu_line() { # NAME TICKS REQUESTS
    awk -v name="$1" -v t="$2" -v hz="$(getconf CLK_TCK)" -v n="$3" -v s="$seconds" \
        'BEGIN { printf "%s CPU: %.2f s in %s s, %.1f us per request (%.0f%% of one core)\n", name, t / hz, s, 1e6 * t / hz / n, 100 * t / hz / s }'
}
echo "state: $backend${redis:+ at $redis}"
before=$(cpu_ticks "$policyd")
[ -n "${redis_pid:-}" ] && redis_before=$(cpu_ticks "$redis_pid")
"$build/tests/bench/bench-policyd" --socket "$work/policy.sock" --connections 100 --seconds "$seconds" | tee "$work/bench.out"
after=$(cpu_ticks "$policyd")
requests=$(sed -n 's/^policyd: \([0-9]*\) requests.*/\1/p' "$work/bench.out")
cpu_line policyd $((after - before)) "$requests"
[ -n "${redis_pid:-}" ] && cpu_line redis-server $(($(cpu_ticks "$redis_pid") - redis_before)) "$requests"
"$build/tests/bench/bench-policyd" --socket "$work/policy.sock" --connections 1 --seconds 2 --idle-gap-ms 20 |
    sed -e 's/^policyd:/idle connection:/' -e '/^client CPU/d'
