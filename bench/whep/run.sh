#!/usr/bin/env bash
# WHEP viewers per core. For each N: starts a fresh room (whep_bench_room: a
# 720p30 ~1.5 Mbps programme behind the real WHEP endpoint), measures it idle,
# then starts N webrtcbin viewers in a separate process (whep_bench_viewers)
# and measures the room process while they watch: CPU (utime+stime from
# /proc), threads, RSS, and the frame rate each viewer receives.
#
#   bench/whep/run.sh [build-dir] [N...]      e.g. bench/whep/run.sh build 1 10 20 40
#
# ENGINE=udp serves the viewers through the egress engine (whep.engine: udp)
# and loads it with egress_load (ICE + DTLS, then counts packets) instead.
set -euo pipefail
ENGINE="${ENGINE:-webrtcbin}"
if [ "$ENGINE" = udp ]; then VIEWERS=egress_load; else VIEWERS=whep_bench_viewers; fi
BUILD="${1:-build}"
shift || true
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(1 5 10 20 30 40 60)
SETTLE=6
WINDOW=10
HZ=$(getconf CLK_TCK)

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

printf "%-4s %-9s %-9s %-8s %-8s %-9s %-9s %s\n" N room_cpu% viewers_cpu% threads rss_MB \
  thr/viewer MB/viewer viewers
for n in "${COUNTS[@]}"; do
  out=$(mktemp)
  JOBCAST_BENCH_ENGINE="$ENGINE" "$BUILD/bench/whep/whep_bench_room" 1000 >"$out" 2>/dev/null &
  room=$!
  for _ in $(seq 50); do grep -q '^port' "$out" && break; sleep 0.1; done
  port=$(awk '/^port/ {print $2}' "$out")
  sleep 3
  t0=$(ticks $room); sleep 5; t1=$(ticks $room)
  idle_cpu=$(echo "scale=1; ($t1 - $t0) * 100 / $HZ / 5" | bc)
  idle_threads=$(threads $room); idle_rss=$(rss_kb $room)

  vout=$(mktemp)
  "$BUILD/bench/whep/$VIEWERS" "http://127.0.0.1:$port/whep/bench" "$n" \
    "$SETTLE" "$WINDOW" 30 >"$vout" 2>/dev/null &
  viewers=$!
  for _ in $(seq 600); do grep -q '^ready' "$vout" && break; sleep 0.1; done
  sleep "$SETTLE"
  t0=$(ticks $room); v0=$(ticks $viewers 2>/dev/null || echo 0)
  sleep "$WINDOW"
  t1=$(ticks $room); v1=$(ticks $viewers 2>/dev/null || echo 0)
  th=$(threads $room); rss=$(rss_kb $room)
  wait $viewers || true
  cpu=$(echo "scale=1; ($t1 - $t0) * 100 / $HZ / $WINDOW" | bc)
  vcpu=$(echo "scale=1; ($v1 - $v0) * 100 / $HZ / $WINDOW" | bc)
  per_thr=$(echo "scale=1; ($th - $idle_threads) / $n" | bc)
  per_mb=$(echo "scale=2; ($rss - $idle_rss) / 1024 / $n" | bc)
  printf "%-4s %-9s %-9s %-8s %-8s %-9s %-9s %s\n" "$n" "$cpu" "$vcpu" "$th" \
    "$((rss / 1024))" "$per_thr" "$per_mb" "$(grep '^{' "$vout")"
  echo "     idle room: cpu ${idle_cpu}% threads $idle_threads rss $((idle_rss / 1024)) MB"
  kill $room; wait $room 2>/dev/null || true
  rm -f "$out" "$vout"
done
