# private-redis.sh: sourced by contrib/quickstart and the benchmark scripts.
# start_private_redis DIR starts a redis-server on 127.0.0.1 on a free port without
# persistence, logging to DIR/redis.log, and sets redis_pid and redis_port; the caller stops it
# by PID.
start_private_redis() {
    local dir=$1 attempt
    redis_pid=
    for attempt in $(seq 20); do
        redis_port=$((20000 + RANDOM % 40000))
        redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
            --dir "$dir" --logfile "$dir/redis.log" &
        redis_pid=$!
        for _ in $(seq 50); do
            redis-cli -p "$redis_port" ping 2>/dev/null | grep -q PONG && return 0
            kill -0 "$redis_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
        redis_pid=
    done
    echo "redis-server did not start (see $dir/redis.log)" >&2
    return 1
}
