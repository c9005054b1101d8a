#!/bin/sh
# Applies per second through the REST API (wrk + apply.lua) beside
# redis-benchmark on the same Redis. Usage: bench/apply/run.sh [BUILD_DIR]
# Env: DURATION (10s), CONNECTIONS (32), THREADS (2), USERS (500), JOBS (100),
#      FSYNC (everysec, as the embedded Redis; "always" for the strictest).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
DURATION=${DURATION:-10s} CONNECTIONS=${CONNECTIONS:-32} THREADS=${THREADS:-2}
USERS=${USERS:-500} JOBS=${JOBS:-100} FSYNC=${FSYNC:-everysec}
work=$(mktemp -d)
redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
secret=bench-secret-0123456789abcdef-0123456789
cleanup() {
  [ -n "${node_pid:-}" ] && kill "$node_pid" 2>/dev/null || true
  [ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work" --appendonly yes \
  --appendfsync "$FSYNC" --save '' --daemonize no >"$work/redis.log" 2>&1 &
redis_pid=$!
until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.05; done

cat >"$work/jobcast.yaml" <<YAML
limits:
  api_rate_per_second: 1000000
  api_rate_burst: 1000000
  # Every simulated user comes from 127.0.0.1: no per-address limits here.
  http_rate_per_second: 1000000
  http_rate_burst: 1000000
server:
  max_connections_per_ip: 0
YAML
JOBCAST_JWT_SECRET=$secret JOBCAST_DATA_KEY=$(openssl rand -hex 32) \
  "$build/server/jobcastd" --config "$work/jobcast.yaml" --listen 127.0.0.1:0 --tls-listen off \
  --redis "127.0.0.1:$redis_port" --data-dir "$work/data" 2>"$work/node.log" &
node_pid=$!
port=""
for _ in $(seq 100); do
  port=$(grep -o '"http_port":[0-9]*' "$work/node.log" | head -1 | cut -d: -f2 || true)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { cat "$work/node.log"; exit 1; }
base=http://127.0.0.1:$port

python3 "$here/setup.py" "$base" "$secret" "$USERS" "$JOBS" "$work/targets.txt"

echo "== machine"
echo "$(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), redis $(redis-server --version | awk '{print $3}'), appendfsync $FSYNC"
echo "== wrk: POST /api/v1/rooms/ROOM/jobs/JOB/apply, $CONNECTIONS connections, $THREADS threads, $DURATION"
TARGETS=$work/targets.txt THREADS=$THREADS wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" \
  --latency -s "$here/apply.lua" "$base"
echo "== applications stored: $(redis-cli -p "$redis_port" --scan --pattern "$("$build/bench/ws/jobcast_key" apps '*')" | \
  xargs -I{} redis-cli -p "$redis_port" HLEN {})"
echo "== redis-benchmark on the same Redis ($CONNECTIONS connections)"
redis-benchmark -p "$redis_port" -c "$CONNECTIONS" -n 100000 -q -t set,get,incr,lpush
redis-benchmark -p "$redis_port" -c "$CONNECTIONS" -n 100000 -q \
  XADD bench:stream MAXLEN '~' 10000 '*' kind x data y aud all
