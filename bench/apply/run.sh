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
secret=bench-secret-0123456789abcdef-0123456789
. "$here/../lib.sh"
bench_workdir
bench_start_redis "$FSYNC"
bench_open_limits "$work/jobcast.yaml"
bench_start_node --config "$work/jobcast.yaml" --redis "127.0.0.1:$redis_port"

python3 "$here/setup.py" "$base" "$secret" "$USERS" "$JOBS" "$work/targets.txt"

echo "== machine"
echo "$(bench_machine), appendfsync $FSYNC"
echo "== wrk: POST /api/v1/rooms/ROOM/jobs/JOB/apply, $CONNECTIONS connections, $THREADS threads, $DURATION"
WRK_LIB=$here/.. TARGETS=$work/targets.txt THREADS=$THREADS wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" \
  --latency -s "$here/apply.lua" "$base"
echo "== applications stored: $(redis-cli -p "$redis_port" --scan --pattern "$("$build/bench/ws/jobcast_key" apps '*')" | \
  xargs -I{} redis-cli -p "$redis_port" HLEN {})"
echo "== redis-benchmark on the same Redis ($CONNECTIONS connections)"
redis-benchmark -p "$redis_port" -c "$CONNECTIONS" -n 100000 -q -t set,get,incr,lpush
redis-benchmark -p "$redis_port" -c "$CONNECTIONS" -n 100000 -q \
  XADD bench:stream MAXLEN '~' 10000 '*' kind x data y aud all
