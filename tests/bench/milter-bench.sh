#!/usr/bin/env bash
# milter-bench: mailwarden-milter behind a real Postfix, side by side with Postfix alone.
#
# Starts, in a temporary directory: the test DNS responder (tests/dns/mw-testdnsd) with the
# zone bench-mail writes (SPF, the DKIM key, DMARC p=reject for pass.test), a private
# redis-server, smtp-sink, one mailwarden-milter per configuration below, and a private Postfix
# (own main.cf/master.cf/queue, nothing chrooted, master as our child) with one smtpd listener
# per configuration on 127.0.0.1, each relaying to the sink:
#
#   postfix     Postfix alone (no milter)
#   unix-lmdb   the milter on a unix socket, state in LMDB
#   tcp-lmdb    the milter on TCP loopback, state in LMDB
#   unix-redis  the milter on a unix socket, state in Redis
#   tcp-redis   the milter on TCP loopback, state in Redis
#   unix-floor, tcp-floor (not run by default): the milter with nothing to check, the floor
#               under the others: the mail counts as outbound (internal_networks keeps its
#               default, loopback), so SPF, DKIM, DMARC and reputation are not evaluated, no
#               rate limit is configured and nothing is signed; what remains is the milter
#               protocol on both sides (Postfix's smtpd and cleanup, and ours), the engine's
#               stages and the log line.
#
# Every message: ~11 KB, one RSA-2048 DKIM signature (d=pass.test), SPF, DKIM, DMARC, two rate
# limits (client address and sender, never reached) and reputation, one log line. smtp-source
# connects from 127.0.0.1, which internal_networks treats as outbound by default: the milters
# run with internal_networks empty, so the mail is inbound and gets every check (the log lines
# printed at the end show the results: spf=pass dkim=pass:pass.test dmarc=pass).
# Needs root (the Postfix master starts as root; tcpdump), postfix (smtp-source, smtp-sink),
# redis-server and tcpdump.
#
# Each round runs every configuration once, in an order that rotates from round to round:
#   load     smtp-source -s 20 -m MESSAGES (a new SMTP session per message): accepted msgs/s,
#            and the milter's CPU per message (utime+stime of /proc/PID/stat, all threads)
# and then the one-session runs, in LATENCY_REPS (default 5) batches per configuration that
# take turns, so that each milter batch runs seconds from a Postfix-alone one:
#   single   smtp-source -s 1 -d -m SINGLE/LATENCY_REPS (one session, back to back): the median
#            time between two accepted messages (Postfix's replies, seen with tcpdump); the
#            milter's added latency is that minus Postfix alone's batch of the same number.
# It waits for the queue to drain between runs. The summary gives medians with min-max.
# Everything is stopped by PID at the end.
#
# usage: tests/bench/milter-bench.sh [BUILD_DIR] [ROUNDS] [MESSAGES] [SINGLE]
#   defaults: _build 5 2000 200; CONFIGS="postfix unix-lmdb ..." selects configurations.
#   CAPTURE=1: tcpdump on loopback (the milters' TCP ports) during the one-session runs, and a
#   count of delayed-ACK stalls: the milter's bare ACK 30 ms or more after the MTA's data;
#   KEEP_CAPTURE=PREFIX keeps each round's capture as PREFIX.roundN.pcap.
#   REALTIME=1: the one-session runs with the servers, their threads and children and the client
#   at real-time priority (chrt -f 10), reset after: on a shared machine whose cores other
#   work keeps busy, the one-session figures then measure the path and not the run queue.
#   PROFILE=NAME: perf record -g -e cpu-clock on that configuration's milter for 20 s of its first
#   load run (MESSAGES should keep it busy that long); the data and two reports in
#   PROFILE_OUT.perf.{data,txt} and PROFILE_OUT.dso.txt (default /tmp/milter-bench.NAME).
#   BASELINE=PATH: another mailwarden-milter binary (an older build) for configurations named
#   old-unix-lmdb, old-tcp-redis..., run side by side with the others (before/after figures).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/_build}" && pwd)
rounds=${2:-5}
messages=${3:-2000}
single=${4:-200}
configs=(${CONFIGS:-postfix unix-lmdb tcp-lmdb unix-redis tcp-redis})

for program in /usr/sbin/postfix /usr/sbin/postconf /usr/sbin/postqueue /usr/sbin/smtp-source \
    /usr/sbin/smtp-sink /usr/bin/tcpdump "$build/milter/mailwarden-milter" "$build/tests/dns/mw-testdnsd" \
    "$build/tests/bench/bench-mail"; do
    [ -x "$program" ] || { echo "milter-bench: $program is missing (make, apt-get install postfix)" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "milter-bench: needs root (the Postfix master starts as root)" >&2; exit 2; }

# tmpfs by default: queue file syncs would otherwise measure the disk more than the milter.
work=$(mktemp -d "${BENCH_DIR:-/dev/shm}/mw-milter-bench-XXXXXX")
chmod 755 "$work" # Postfix (user postfix) reaches the unix sockets here
pids=()
master_pid=
cleanup() {
    if [ -n "$master_pid" ]; then
        kill "$master_pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$master_pid" 2>/dev/null || break; sleep 0.1; done
    fi
    for p in "${pids[@]}" $(jobs -p); do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_for() { # $1 = what, then a command that succeeds when ready (at most 20 s)
    local what=$1
    shift
    for _ in $(seq 200); do "$@" 2>/dev/null && return 0; sleep 0.1; done
    echo "milter-bench: $what did not start" >&2
    exit 1
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

"$build/tests/bench/bench-mail" "$work/message.txt" "$work/bench.zone"
"$build/tests/dns/mw-testdnsd" -p 0 --port-file "$work/dns.port" -z "$work/bench.zone" \
    >"$work/dns.log" 2>&1 &
pids+=($!)
wait_for "mw-testdnsd" test -s "$work/dns.port"

# shellcheck source=../private-redis.sh
. "$top/tests/private-redis.sh"
start_private_redis "$work"
pids+=("$redis_pid")

sink_port=$(free_port)
/usr/sbin/smtp-sink -u nobody "127.0.0.1:$sink_port" 1000 >"$work/sink.log" 2>&1 &
pids+=($!)
wait_for "smtp-sink" listening "$sink_port"

# One milter per configuration; milter_spec[NAME] is what Postfix's smtpd_milters names.
declare -A milter_spec milter_pid smtpd_port
for name in "${configs[@]}"; do
    smtpd_port[$name]=$(free_port)
    [ "$name" = postfix ] && continue
    case ${name#old-} in
    unix-*) socket="unix:$work/$name.sock" milter_spec[$name]="unix:$work/$name.sock" ;;
    tcp-*) port=$(free_port) socket="inet:$port@127.0.0.1" milter_spec[$name]="inet:127.0.0.1:$port" ;;
    esac
    internal= limits="ratelimit = per_client client_ip 1000/1s burst=100000000
ratelimit = per_sender sender 1000/1s burst=100000000"
    case $name in
    *-floor)
        internal="127.0.0.0/8 ::1/128" limits=
        state="state_backend = lmdb
state_path = $work/$name-state/state.mdb" ;;
    *-lmdb) state="state_backend = lmdb
state_path = $work/$name-state/state.mdb" ;;
    *-redis) state="state_backend = redis
redis_servers = 127.0.0.1:$redis_port
redis_prefix = $name:" ;;
    esac
    cat >"$work/$name.conf" <<CONF
[general]
user = nobody
allow_root = no
authserv_id = mx.test
internal_networks = $internal
milter_pid_file = $work/$name.pid
log_level = info
[milter]
milter_socket = $socket
milter_socket_mode = 0660
milter_socket_owner = nobody:postfix
[dns]
dns_servers = 127.0.0.1@$(cat "$work/dns.port")
[state]
$state
[limits]
$limits
CONF
    program=$build/milter/mailwarden-milter
    [[ $name == old-* ]] && program=${BASELINE:?old-* configurations need BASELINE=PATH}
    "$program" -f -c "$work/$name.conf" >"$work/$name.log" 2>&1 &
    milter_pid[$name]=$!
    pids+=($!)
done
for name in "${configs[@]}"; do
    [ "$name" = postfix ] && continue
    wait_for "mailwarden-milter ($name)" grep -q "started" "$work/$name.log"
done

# The private Postfix: as tests/unit/test-postfix.cc, one smtpd per configuration.
pf=$work/postfix
mkdir -p "$pf/etc" "$pf/queue" "$pf/data"
chown postfix:postfix "$pf/data"
cat >"$pf/etc/main.cf" <<CF
# A private instance for mailwarden's milter benchmark (tests/bench/milter-bench.sh).
compatibility_level = 3.6
queue_directory = $pf/queue
data_directory = $pf/data
mail_owner = postfix
setgid_group = postdrop
maillog_file = $pf/maillog
maillog_file_prefixes = $pf
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx.test
mydomain = test
myorigin = \$myhostname
mydestination =
local_recipient_maps =
relay_domains = example.net
mynetworks = 127.0.0.0/8
alias_maps =
alias_database =
biff = no
relayhost = [127.0.0.1]:$sink_port
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
# Accept at the rate smtpd can, not at the rate of delivery.
in_flow_delay = 0
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
# The wiring README.md recommends.
milter_default_action = tempfail
milter_protocol = 6
milter_connect_macros = j {daemon_name} {client_addr} {client_name}
milter_mail_macros = i {auth_authen} {auth_type} {mail_addr}
milter_end_of_data_macros = i
CF
{
    for name in "${configs[@]}"; do
        echo "127.0.0.1:${smtpd_port[$name]} inet n - n - - smtpd -o smtpd_milters=${milter_spec[$name]:-}"
    done
    cat <<'CF'
pickup unix n - n 60 1 pickup
cleanup unix n - n - 0 cleanup
qmgr unix n - n 300 1 qmgr
rewrite unix - - n - - trivial-rewrite
bounce unix - - n - 0 bounce
defer unix - - n - 0 bounce
trace unix - - n - 0 bounce
verify unix - - n - 1 verify
flush unix n - n 1000? 0 flush
proxymap unix - - n - - proxymap
smtp unix - - n - - smtp
relay unix - - n - - smtp
showq unix n - n - - showq
error unix - - n - - error
retry unix - - n - - error
discard unix - - n - - discard
anvil unix - - n - 1 anvil
scache unix - - n - 1 scache
postlog unix-dgram n - n - 1 postlogd
CF
} >"$pf/etc/master.cf"
/usr/sbin/postfix -c "$pf/etc" check
"$(/usr/sbin/postconf -c "$pf/etc" -h daemon_directory)/master" -c "$pf/etc" -s \
    >"$pf/master.out" 2>&1 &
master_pid=$!
for name in "${configs[@]}"; do
    wait_for "Postfix (port ${smtpd_port[$name]})" listening "${smtpd_port[$name]}"
done

drain_queue() {
    for _ in $(seq 600); do
        /usr/sbin/postqueue -c "$pf/etc" -p 2>/dev/null | grep -q "Mail queue is empty" && return 0
        sleep 0.2
    done
    echo "milter-bench: the queue did not drain in 120 s" >&2
    exit 1
}
cpu_ms() { # utime+stime of all threads of process $1, in ms; 0 without a process
    [ -n "${1:-}" ] || { echo 0; return; }
    awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) * 1000 / hz }' "/proc/$1/stat"
}
now_ns() { date +%s%N; }
source_args=(-f alice@pass.test -t bob@example.net -M mx.client.test -F "$work/message.txt")

# The load run of configuration $1: "msgs_per_s cpu_ms_per_msg".
load_run() {
    local name=$1 port=${smtpd_port[$1]} pid=${milter_pid[$1]:-} start end cpu0 cpu1
    local profile_pid=
    if [ -n "$pid" ] && [ "${PROFILE:-}" = "$name" ] && [ "$round" = 1 ]; then
        perf record -q -g -e cpu-clock -p "$pid" -o "$work/$name.perf.data" -- sleep 20 \
            >/dev/null 2>&1 &
        profile_pid=$!
    fi
    cpu0=$(cpu_ms "$pid")
    start=$(now_ns)
    timeout 600 /usr/sbin/smtp-source -s 20 -m "$messages" "${source_args[@]}" "127.0.0.1:$port"
    end=$(now_ns)
    cpu1=$(cpu_ms "$pid")
    if [ -n "$profile_pid" ]; then
        wait "$profile_pid" || true
        perf report -i "$work/$name.perf.data" --stdio --no-children --percent-limit 0.5 \
            >"${PROFILE_OUT:-/tmp/milter-bench.$name}.perf.txt" 2>/dev/null || true
        perf report -i "$work/$name.perf.data" --stdio --no-children -g none --sort dso \
            >"${PROFILE_OUT:-/tmp/milter-bench.$name}.dso.txt" 2>/dev/null || true
        cp "$work/$name.perf.data" "${PROFILE_OUT:-/tmp/milter-bench.$name}.perf.data"
        echo "milter-bench: profile of $name in ${PROFILE_OUT:-/tmp/milter-bench.$name}.perf.*" >&2
    fi
    drain_queue
    awk -v n="$messages" -v ns=$((end - start)) -v a="$cpu0" -v b="$cpu1" \
        'BEGIN { printf "%.1f %.3f\n", n / (ns / 1e9), (b - a) / n }'
}

# The one-session runs of a round: LATENCY_REPS batches of SINGLE/LATENCY_REPS messages per
# configuration, the configurations taking turns, so that Postfix alone and each milter run
# seconds apart. One tcpdump records Postfix's "250 ... queued as" replies on every smtpd port
# (smtp-source buffers its own counter); a batch is one SMTP session (one client port). Appends
# "round name batch median_ms_between_replies" lines to $latencies. With CAPTURE=1 the milters'
# TCP ports are recorded too, and their delayed-ACK stalls counted.
# With REALTIME=1: sets the scheduling policy ($1: -f real-time, -o back to normal; $2 priority) of
# the bench's servers, every thread of them and every process they started (Postfix's smtpd,
# cleanup...), so that on a shared, busy machine the one-session runs measure our path rather
# than the wait for a core. Only the one-session runs use it: they take little CPU.
set_scheduling() {
    [ -n "${REALTIME:-}" ] || return 0
    local tree=" $master_pid ${pids[*]} " grown=1 pid parent
    while [ "$grown" = 1 ]; do
        grown=0
        while read -r pid parent; do
            if [[ $tree == *" $parent "* && $tree != *" $pid "* ]]; then
                tree+="$pid "
                grown=1
            fi
        done < <(ps -e -o pid=,ppid=)
    done
    for pid in $tree; do
        chrt -a "$1" -p "$2" "$pid" >/dev/null 2>&1 || true
    done
}

latency_phase() {
    local round=$1 reps=${LATENCY_REPS:-5} filter= name rep i count=${#configs[@]}
    local per_batch=$(((single + reps - 1) / reps)) milter_ports=
    for name in "${configs[@]}"; do filter+="${filter:+ or }src port ${smtpd_port[$name]}"; done
    for name in "${configs[@]}"; do
        [[ ${milter_spec[$name]:-} == inet:* ]] && milter_ports+="${milter_ports:+ or }port ${milter_spec[$name]##*:}"
    done
    tcpdump -i lo -n -tt -l -A -s 256 "tcp and ($filter)" >"$work/replies.txt" 2>/dev/null &
    local replies_pid=$! capture_pid=
    if [ -n "${CAPTURE:-}" ] && [ -n "$milter_ports" ]; then
        tcpdump -i lo -n -s 128 -U -w "$work/milters.pcap" "tcp and ($milter_ports)" 2>/dev/null &
        capture_pid=$!
    fi
    sleep 1
    set_scheduling -f 10
    for rep in $(seq "$reps"); do
        for i in $(seq 0 $((count - 1))); do
            name=${configs[$(((i + rep + round) % count))]}
            timeout 600 ${REALTIME:+chrt -f 10} /usr/sbin/smtp-source -s 1 -d -m "$per_batch" "${source_args[@]}" \
                "127.0.0.1:${smtpd_port[$name]}"
            drain_queue
        done
    done
    set_scheduling -o 0
    sleep 0.5
    kill "$replies_pid" $capture_pid
    wait "$replies_pid" $capture_pid 2>/dev/null || true
    local ports=
    for name in "${configs[@]}"; do ports+="${smtpd_port[$name]}=$name "; done
    python3 -c '
import collections, re, statistics, sys
names = dict(item.split("=") for item in sys.argv[2].split())
batches = collections.defaultdict(list)  # (smtpd port, client port) -> reply times
now = key = None
for line in open(sys.argv[1], errors="replace"):
    m = re.match(r"(\d+\.\d+) IP [0-9.]+\.(\d+) > [0-9.]+\.(\d+):", line)
    if m:
        now, key = float(m[1]), (m[2], m[3])
    elif "queued as" in line and key is not None:
        batches[key].append(now)
        key = None
numbers = collections.Counter()
for (port, client), times in sorted(batches.items(), key=lambda item: item[1][0]):
    gaps = [b - a for a, b in zip(times, times[1:])]
    if port in names and len(gaps) >= 5:
        numbers[port] += 1
        print(sys.argv[3], names[port], numbers[port], "%.3f" % (statistics.median(gaps) * 1000))
' "$work/replies.txt" "$ports" "$round" >>"$latencies"
    if [ -n "$capture_pid" ]; then
        for name in "${configs[@]}"; do
            [[ ${milter_spec[$name]:-} == inet:* ]] || continue
            echo "round $round $name: $(delayed_acks "$work/milters.pcap" "${milter_spec[$name]##*:}")"
            [ -z "${KEEP_CAPTURE:-}" ] || cp "$work/milters.pcap" "$KEEP_CAPTURE.round$round.pcap"
        done
    fi
}

# Delayed-ACK stalls in a capture of the milter's port $2: the MTA sent data and the next
# packet of that connection, 30 ms or more later, is the milter's bare ACK.
delayed_acks() {
    tcpdump -r "$1" -n -tt 2>/dev/null | python3 -c '
import re, sys
port = sys.argv[1]
last = {}  # connection -> (time, from_mta, length)
stalls = packets = 0
for line in sys.stdin:
    m = re.match(r"([0-9.]+) IP [0-9.]+\.(\d+) > [0-9.]+\.(\d+): .*length (\d+)", line)
    if not m:
        continue
    t, src, dst, length = float(m[1]), m[2], m[3], int(m[4])
    from_mta = dst == port
    key = src if from_mta else dst
    packets += 1
    previous = last.get(key)
    if previous and previous[1] and previous[2] > 0 and not from_mta and length == 0 \
            and t - previous[0] >= 0.030:
        stalls += 1
    last[key] = (t, from_mta, length)
print("%d packets, %d delayed-ACK stalls of 30 ms or more" % (packets, stalls))' "$2"
}

# Warm every path once (DNS cache, state files, Postfix processes).
for name in "${configs[@]}"; do
    /usr/sbin/smtp-source -s 5 -m 50 "${source_args[@]}" "127.0.0.1:${smtpd_port[$name]}"
done
drain_queue

echo "milter-bench: $rounds rounds; $messages messages over 20 sessions, and $single in one session" \
    "(${LATENCY_REPS:-5} batches), per configuration"
results=$work/results latencies=$work/latencies
: >"$results"
: >"$latencies"
for round in $(seq "$rounds"); do
    count=${#configs[@]}
    for i in $(seq 0 $((count - 1))); do
        name=${configs[$(((i + round - 1) % count))]}
        read -r rate cpu <<<"$(load_run "$name")"
        echo "$round $name $rate $cpu" >>"$results"
        printf 'round %d %-14s %8s msgs/s  %6s ms CPU/msg\n' "$round" "$name" "$rate" "$cpu"
    done
    latency_phase "$round"
    for name in "${configs[@]}"; do
        printf 'round %d %-14s one session, ms per message in each batch: %s\n' "$round" "$name" \
            "$(awk -v r="$round" -v n="$name" '$1 == r && $2 == n { printf "%s ", $4 }' "$latencies")"
    done
done

# Per round: the ratio to Postfix alone, the one-session time (median of the batches) and the
# added latency (median of the differences to Postfix alone's batch of the same number); then
# medians over the rounds with min-max.
python3 -c '
import collections, statistics, sys
configs = sys.argv[3].split()
rate, cpu = {}, {}
for line in open(sys.argv[1]):
    r, name, msgs, ms = line.split()
    rate[r, name], cpu[r, name] = float(msgs), float(ms)
batch = collections.defaultdict(dict)  # (round, name) -> batch number -> ms per message
for line in open(sys.argv[2]):
    r, name, number, ms = line.split()
    batch[r, name][number] = float(ms)
rounds = sorted({r for r, _ in rate}, key=int)
def show(values, form):
    values = [v for v in values if v is not None]
    if not values:
        return "-"
    return (form + " (" + form + "-" + form + ")") % (statistics.median(values), min(values), max(values))
def per_round(name, r):
    mine, alone = batch.get((r, name), {}), batch.get((r, "postfix"), {})
    one = statistics.median(mine.values()) if mine else None
    added = [mine[b] - alone[b] for b in mine if b in alone]
    return one, statistics.median(added) if added else None
print()
print("%-14s | %-22s | %-19s | %-19s | %-22s | %-22s" % ("config", "accepted msgs/s",
      "x Postfix alone", "milter CPU ms/msg", "one session ms/msg", "added ms/msg"))
for name in configs:
    ratios = [rate[r, name] / rate[r, "postfix"] if (r, "postfix") in rate else None for r in rounds]
    ones, addeds = zip(*(per_round(name, r) for r in rounds))
    print("%-14s | %-22s | %-19s | %-19s | %-22s | %-22s" % (name,
          show([rate[r, name] for r in rounds], "%.0f"), show(ratios, "%.2f"),
          show([cpu[r, name] for r in rounds], "%.3f"), show(ones, "%.2f"), show(addeds, "%.2f")))
' "$results" "$latencies" "${configs[*]}"

echo
for name in "${configs[@]}"; do
    [ "$name" = postfix ] && continue
    log=$work/$name.log
    if [[ $name == *-floor ]]; then
        printf '%s: %d messages logged, %d accepted as outbound; last line:\n  %s\n' \
            "$name" "$(grep -c ' action=' "$log" || true)" \
            "$(grep -c 'outbound.*action=accept' "$log" || true)" "$(grep ' action=' "$log" | tail -1)"
        continue
    fi
    printf '%s: %d messages logged, %d accepted with spf=pass dkim=pass:pass.test dmarc=pass; last line:\n  %s\n' \
        "$name" "$(grep -c ' action=' "$log" || true)" \
        "$(grep -c 'spf=pass dkim=pass:pass.test dmarc=pass .*action=accept' "$log" || true)" \
        "$(grep ' action=' "$log" | tail -1)"
done
