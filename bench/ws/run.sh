#!/bin/sh
# Runs the live-channel load test against a fresh redis-server and jobcastd.
# usage: bench/ws/run.sh BUILD_DIR N [extra ws_load args]
# env: MAX_CONNECTIONS (live.max_connections, default 20000),
#      COALESCE_MS (live.coalesce_ms, default 50),
#      FANOUT_THREADS (live.fanout_threads, default 0: one per core)
set -eu
build=${1:-build}
n=${2:-1000}
shift 2 || true
work=$(mktemp -d)
trap 'kill $jc $rs 2>/dev/null; wait 2>/dev/null; [ -n "${KEEP_LOG:-}" ] && cp "$work/log" "$KEEP_LOG"; rm -rf "$work"' EXIT
ulimit -n "$(ulimit -Hn)"
port=$((20000 + $$ % 10000))
redis-server --port $port --save '' --appendonly no --dir "$work" >/dev/null &
rs=$!
sleep 0.5
redis-cli -p $port HSET "$("$build/bench/ws/jobcast_key" room bench)" id bench title Bench status live \
  employer_id emp-1 >/dev/null
cat > "$work/jobcast.yaml" <<YAML
live:
  frames_per_s: 100000
  chat_rate_count: 10000
  max_connections: ${MAX_CONNECTIONS:-20000}
  coalesce_ms: ${COALESCE_MS:-50}
  fanout_threads: ${FANOUT_THREADS:-0}
# Every simulated viewer comes from 127.0.0.1: no per-address limits here.
server:
  max_connections_per_ip: 0
limits:
  session_rate_per_second: 1000000
  session_rate_burst: 1000000
YAML
export JOBCAST_JWT_SECRET=bench-secret-0123456789abcdef-0123456789
"$build/server/jobcastd" --config "$work/jobcast.yaml" --listen 127.0.0.1:0 --tls-listen off \
  --redis 127.0.0.1:$port --data-dir "$work/data" --log-level info 2>"$work/log" &
jc=$!
for _ in $(seq 50); do
  http=$(grep -o '"http_port":[0-9]*' "$work/log" | head -1 | cut -d: -f2) || true
  [ -n "$http" ] && break
  sleep 0.1
done
[ -n "$http" ] || { echo "jobcastd did not start:"; cat "$work/log"; exit 1; }
token=$("$build/server/jobcastd" token --role counsellor --sub bench-sender --room bench)
"$build/bench/ws/ws_load" --port "$http" --room bench --token "$token" --viewers "$n" --pid $jc "$@"
