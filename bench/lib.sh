# Shared set-up for the benchmarks' run.sh scripts (sourced, POSIX sh): a work
# folder removed on exit with every process started here, a free loopback port,
# a Redis, and a jobcastd whose HTTP port is read from its start-up line.
# Callers set `build` (the build folder) before bench_start_node.

bench_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_cleanup() {
  [ -n "${node_pid:-}" ] && kill "$node_pid" 2>/dev/null || true
  [ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null || true
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}

# Sets $work and removes it (and stops what was started) on exit.
bench_workdir() {
  work=$(mktemp -d)
  trap bench_cleanup EXIT
}

# bench_start_redis FSYNC: an AOF Redis on a free port; sets $redis_port, $redis_pid.
bench_start_redis() {
  redis_port=$(bench_free_port)
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --appendonly yes \
    --appendfsync "$1" --save '' --daemonize no >"$work/redis.log" 2>&1 &
  redis_pid=$!
  until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.05; done
}

# bench_open_limits FILE: a config without per-address limits, since every
# simulated user of a benchmark comes from 127.0.0.1.
bench_open_limits() {
  cat >"$1" <<YAML
limits:
  api_rate_per_second: 1000000
  api_rate_burst: 1000000
  http_rate_per_second: 1000000
  http_rate_burst: 1000000
server:
  max_connections_per_ip: 0
YAML
}

# bench_start_node ARGS...: jobcastd on a free port with a fresh data key and
# $secret (if set) as the token secret; sets $node_pid, $port and $base.
bench_start_node() {
  JOBCAST_JWT_SECRET=${secret:-bench-secret-0123456789abcdef-0123456789} \
    JOBCAST_DATA_KEY=$(openssl rand -hex 32) \
    "$build/server/jobcastd" --listen 127.0.0.1:0 --tls-listen off --data-dir "$work/data" \
    "$@" >"$work/node.out" 2>"$work/node.log" &
  node_pid=$!
  port=""
  for _ in $(seq 100); do
    port=$(grep -o '"http_port":[0-9]*' "$work/node.log" | head -1 | cut -d: -f2 || true)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { cat "$work/node.log"; exit 1; }
  base=http://127.0.0.1:$port
}

bench_machine() {
  echo "$(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), redis $(redis-server --version | awk '{print $3}')"
}
