#!/bin/sh
# Quarterly report generation with 2,000 rooms and 200,000 applications
# seeded through the REST API, beside a whole-keyspace scan of the same data.
# Usage: bench/report/run.sh [BUILD_DIR]
# Env: ROOMS (2000), USERS (1000), APPLICATIONS (200000), REPS (9).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
ROOMS=${ROOMS:-2000} USERS=${USERS:-1000} APPLICATIONS=${APPLICATIONS:-200000} REPS=${REPS:-9}
secret=bench-secret-0123456789abcdef-0123456789
. "$here/../lib.sh"
bench_workdir
bench_start_redis everysec
bench_open_limits "$work/jobcast.yaml"
bench_start_node --config "$work/jobcast.yaml" --redis "127.0.0.1:$redis_port"

echo "== machine"
bench_machine
echo "== seed: $ROOMS live rooms, $USERS jobseekers, $APPLICATIONS applications through the API"
python3 "$here/setup.py" "$base" "$secret" "$ROOMS" "$USERS" "$work/targets.txt"
WRK_LIB=$here/.. TARGETS=$work/targets.txt THREADS=2 APPLICATIONS=$APPLICATIONS \
  wrk -t2 -c32 -d1800s -s "$here/seed.lua" "$base" &
wrk_pid=$!
# Stops wrk (SIGINT: it prints its summary) once the report counts every application.
python3 - "$here" "$base" "$secret" "$APPLICATIONS" "$wrk_pid" <<'PY'
import json, os, signal, sys, time, urllib.request
sys.path.insert(0, sys.argv[1])
from setup import token
base, secret, total, pid = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
admin = token(secret, "admin", "bench-admin")
while True:
    time.sleep(1)
    req = urllib.request.Request(base + "/api/v1/reports/quarterly")
    req.add_header("authorization", "Bearer " + admin)
    if json.loads(urllib.request.urlopen(req).read())["figures"]["applications"] >= total:
        os.kill(pid, signal.SIGINT)
        break
PY
wait "$wrk_pid"
echo "== keys in Redis: $(redis-cli -p "$redis_port" DBSIZE)"
echo "== report generation (the rooms are ended first)"
python3 "$here/measure.py" "$base" "$secret" "$work/targets.txt.rooms" "$redis_port" \
  "$APPLICATIONS" "$REPS"
echo "== reference: one whole-keyspace scan for applications per league (EVAL, inside Redis)"
python3 - "$redis_port" "$here/scan_reference.lua" <<'PY'
import subprocess, sys, time
script = open(sys.argv[2]).read()
for _ in range(3):
    t = time.monotonic()
    out = subprocess.run(["redis-cli", "-p", sys.argv[1], "EVAL", script, "0"],
                         capture_output=True, text=True, check=True).stdout.split()
    print(f"scan: {out[0]} rooms, {out[1]} applications, {(time.monotonic() - t) * 1000:.0f} ms")
PY
