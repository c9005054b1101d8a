#!/usr/bin/env bash
# Jobcast's egress engine and Janus side by side in one run, loaded by the
# same light client (egress_load: ICE check, DTLS handshake, then it counts
# SRTP bytes). For each repeat and each N, alternately:
#   - jobcast: a fresh whep_bench_room (720p30 ~1.5 Mbps x264 + Opus, the
#     real WHEP endpoint, JOBCAST_BENCH_ENGINE=udp), N egress_load viewers;
#   - janus: a fresh Janus (Debian's, default settings apart from what is
#     below) with a private config dir: HTTP transport on a free port, only
#     the streaming plugin with one RTP mountpoint (H.264
#     packetization-mode=1 + Opus on loopback ports), no other transport or
#     plugin, ICE restricted to this host's own IPv4 address (Janus offers
#     no loopback candidates; Linux carries traffic to the host's own
#     address over lo); fed by gst-launch with the same encode as the room;
#     N `egress_load --janus` viewers.
# Measured from /proc of the server only (clients in a separate process):
# CPU (utime+stime over a window), threads, RSS; the idle server (no
# viewers; for the room this includes its encode) is measured first and
# subtracted.
#
#   bench/whep/janus.sh [build-dir] [N...]      default N: 100 200 400; REPEATS=2
set -euo pipefail
BUILD="${1:-build}"
shift || true
COUNTS=("$@")
[ ${#COUNTS[@]} -gt 0 ] || COUNTS=(100 200 400)
REPEATS="${REPEATS:-2}"
SETTLE=6
WINDOW=10
HZ=$(getconf CLK_TCK)
HOST_IP="${HOST_IP:-$(ip -4 route get 1.1.1.1 2>/dev/null | awk '{for (i = 1; i < NF; i++) if ($i == "src") print $(i + 1)}')}"
[ -n "$HOST_IP" ] || { echo "no IPv4 address for Janus's candidates (set HOST_IP)" >&2; exit 1; }
JANUS_LIB="${JANUS_LIB:-/usr/lib/x86_64-linux-gnu/janus}"

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
threads() { awk '/^Threads:/ {print $2}' "/proc/$1/status"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
free_udp_pair() {
  python3 -c 'import socket
while True:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    if p % 2 == 0 and p < 65000:
        t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            t.bind(("127.0.0.1", p + 2)); print(p, p + 2); break
        except OSError: pass'
}

# The same programme as tests/media/test_programme.cpp, payloaded for Janus.
feeder() {
  local vport=$1 aport=$2
  exec gst-launch-1.0 -q \
    videotestsrc is-live=true pattern=smpte ! video/x-raw,width=1280,height=720,framerate=30/1 ! \
    videoconvert ! video/x-raw,format=I420 ! \
    x264enc tune=zerolatency speed-preset=ultrafast key-int-max=60 bitrate=1500 ! \
    video/x-h264,profile=constrained-baseline ! h264parse config-interval=-1 ! \
    rtph264pay pt=102 mtu=1200 config-interval=-1 aggregate-mode=zero-latency ! \
    udpsink host=127.0.0.1 port="$vport" sync=false async=false \
    audiotestsrc is-live=true wave=sine volume=0.5 freq=440 ! audioconvert ! audioresample ! \
    audio/x-raw,rate=48000,channels=2 ! opusenc ! rtpopuspay pt=111 ! \
    udpsink host=127.0.0.1 port="$aport" sync=false async=false
}

janus_config() {
  local dir=$1 http_port=$2 vport=$3 aport=$4
  mkdir -p "$dir/conf" "$dir/plugins" "$dir/transports" "$dir/none"
  ln -sf "$JANUS_LIB/plugins/libjanus_streaming.so" "$dir/plugins/"
  ln -sf "$JANUS_LIB/transports/libjanus_http.so" "$dir/transports/"
  cat >"$dir/conf/janus.jcfg" <<EOF
general: {
  configs_folder = "$dir/conf"
  plugins_folder = "$dir/plugins"
  transports_folder = "$dir/transports"
  events_folder = "$dir/none"
  loggers_folder = "$dir/none"
  debug_level = 4
  session_timeout = 0
}
nat: {
  ice_enforce_list = "$HOST_IP"
}
EOF
  cat >"$dir/conf/janus.transport.http.jcfg" <<EOF
general: { json = "plain" base_path = "/janus" http = true port = $http_port https = false }
admin: { admin_http = false }
EOF
  cat >"$dir/conf/janus.plugin.streaming.jcfg" <<EOF
general: { }
bench: {
  type = "rtp"
  id = 1
  description = "bench"
  media = (
    { type = "video" mid = "v" port = $vport pt = 102 codec = "h264"
      fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f" },
    { type = "audio" mid = "a" port = $aport pt = 111 codec = "opus" }
  )
}
EOF
}

# The room's last "heap N" line (bytes in use, mallinfo2), in KB; "-" for Janus.
heap_kb() { [ -f "$1" ] && awk '/^heap/ {h = $2} END {print (h ? int(h / 1024) : "-")}' "$1" || echo -; }

# measure NAME N SERVER_PID HEAP_FILE CLIENT_ARGS...: idle, then N viewers; one row.
measure() {
  local name=$1 n=$2 server=$3 heap_file=$4
  shift 4
  local t0 t1 idle_cpu idle_threads idle_rss vout viewers th rss cpu
  sleep 3
  t0=$(ticks "$server"); sleep 5; t1=$(ticks "$server")
  idle_cpu=$(echo "scale=2; ($t1 - $t0) * 100 / $HZ / 5" | bc)
  idle_threads=$(threads "$server"); idle_rss=$(rss_kb "$server"); idle_heap=$(heap_kb "$heap_file")
  vout=$(mktemp)
  "$BUILD/bench/whep/egress_load" "$@" "$n" "$SETTLE" "$WINDOW" >"$vout" 2>"$vout.err" &
  viewers=$!
  for _ in $(seq 1800); do grep -q '^ready' "$vout" && break; sleep 0.1; done
  sleep "$SETTLE"
  t0=$(ticks "$server"); sleep "$WINDOW"; t1=$(ticks "$server")
  th=$(threads "$server"); rss=$(rss_kb "$server"); heap=$(heap_kb "$heap_file")
  wait $viewers || true
  local heap_per=-
  [ "$heap" = - ] || heap_per=$(echo "scale=1; ($heap - $idle_heap) / $n" | bc)
  cpu=$(echo "scale=2; ($t1 - $t0) * 100 / $HZ / $WINDOW" | bc)
  printf "%-8s %-4s %-7s %-8s %-8s %-8s %-7s %-8s %-9s %-10s %-9s %-9s %s\n" "$name" "$n" \
    "$cpu" "$idle_cpu" "$(echo "scale=3; ($cpu - $idle_cpu) / $n" | bc)" \
    "$th" "$idle_threads" "$(echo "scale=2; ($th - $idle_threads) / $n" | bc)" \
    "$((rss / 1024))" "$((idle_rss / 1024))" "$(echo "scale=1; ($rss - $idle_rss) / $n" | bc)" \
    "$heap_per" "$(grep -h '^ready\|^{' "$vout" | tr '\n' ' ')"
  rm -f "$vout" "$vout.err"
}

printf "%-8s %-4s %-7s %-8s %-8s %-8s %-7s %-8s %-9s %-10s %-9s %-9s %s\n" server N cpu% idle% \
  cpu%/vwr threads idle_th thr/vwr rss_MB idle_rss KB/vwr heapKB/v client
for rep in $(seq "$REPEATS"); do
  for n in "${COUNTS[@]}"; do
    out=$(mktemp)
    JOBCAST_BENCH_ENGINE=udp "$BUILD/bench/whep/whep_bench_room" 100000 >"$out" 2>/dev/null &
    room=$!
    for _ in $(seq 50); do grep -q '^port' "$out" && break; sleep 0.1; done
    port=$(awk '/^port/ {print $2}' "$out")
    measure jobcast "$n" $room "$out" "http://127.0.0.1:$port/whep/bench"
    kill $room; wait $room 2>/dev/null || true
    rm -f "$out"

    dir=$(mktemp -d)
    http_port=$(free_port)
    read -r vport aport < <(free_udp_pair)
    janus_config "$dir" "$http_port" "$vport" "$aport"
    janus -N -L "$dir/janus.log" -C "$dir/conf/janus.jcfg" -F "$dir/conf" >/dev/null 2>&1 &
    jpid=$!
    for _ in $(seq 100); do
      curl -s -o /dev/null "http://127.0.0.1:$http_port/janus/info" && break
      sleep 0.1
    done
    feeder "$vport" "$aport" &
    fpid=$!
    measure janus "$n" $jpid - --janus "http://127.0.0.1:$http_port/janus"
    kill $fpid; wait $fpid 2>/dev/null || true
    kill $jpid; wait $jpid 2>/dev/null || true
    rm -rf "$dir"
  done
done
