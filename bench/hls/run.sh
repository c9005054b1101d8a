#!/bin/sh
# HLS serving, jobcastd against nginx on the same bytes in the same run.
# jobcastd runs its demo room (synthetic camera, real encoders); before each
# pair of measurements the newest source segment and the media playlist are
# fetched from it and written into nginx's root under the same path, so both
# servers send identical bytes. wrk -t1 at -c100 and -c1000, DURATION each,
# ROUNDS rounds (who goes first alternates), then the ratio over the run. Usage: bench/hls/run.sh [BUILD_DIR]
# Env: DURATION (4s), ROUNDS (3), CONNECTIONS ("100 1000"), FRONT_THREADS (1).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
DURATION=${DURATION:-4s} ROUNDS=${ROUNDS:-3} CONNECTIONS=${CONNECTIONS:-100 1000}
FRONT_THREADS=${FRONT_THREADS:-1}
. "$here/../lib.sh"
bench_workdir
chmod 755 "$work"  # nginx workers read its www/
ulimit -n 65536 2>/dev/null || true

# jobcastd: the bench comes from one address, so the per-address media rate
# and the connection cap are raised here explicitly.
cat >"$work/jobcast.yaml" <<YAML
limits:
  media_rate_per_second: 1000000
  media_rate_burst: 1000000
server:
  max_connections_per_ip: 0
  front_threads: $FRONT_THREADS
YAML
bench_start_node --demo --config "$work/jobcast.yaml"
node=$base
playlist=/hls/demo/source/index.m3u8
for _ in $(seq 200); do
  curl -sf "$node$playlist" -o /dev/null && [ "$(curl -s "$node$playlist" | grep -c '\.ts$')" -ge 3 ] && break
  sleep 0.1
done

# nginx: one worker, sendfile, keep-alive without a request cap, no access log.
nginx_port=$(bench_free_port)
mkdir -p "$work/www/hls/demo/source" "$work/nginx"
cat >"$work/nginx.conf" <<NGINX
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 4096; }
http {
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_requests 1000000;
    keepalive_timeout 30s;
    access_log off;
    types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
    client_body_temp_path $work/nginx;
    proxy_temp_path $work/nginx;
    fastcgi_temp_path $work/nginx;
    uwsgi_temp_path $work/nginx;
    scgi_temp_path $work/nginx;
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/www;
        location /hls/ { add_header Access-Control-Allow-Origin *; }
    }
}
NGINX
chmod -R a+rX "$work/www"
nginx -c "$work/nginx.conf" -p "$work/nginx"
sleep 0.3

echo "== machine"
echo "$(nproc) CPUs, $(lscpu | sed -n 's/^Model name: *//p'), $(uname -r), $(nginx -v 2>&1), $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "== jobcastd front threads: $FRONT_THREADS; wrk -t1, $DURATION, rounds: $ROUNDS"

# One wrk run: prints "requests/s bytes/s non2xx".
measure() {
  wrk -t1 -c"$1" -d"$DURATION" "$2" >"$work/wrk.txt" 2>&1 || true
  rps=$(sed -n 's/^Requests\/sec: *//p' "$work/wrk.txt")
  bytes=$(sed -n 's/^Transfer\/sec: *//p' "$work/wrk.txt")
  bad=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' "$work/wrk.txt")
  echo "$rps $bytes ${bad:-0}"
}

printf '%-9s %-6s %5s %9s %12s %10s %12s %10s %6s\n' kind conns round size \
  jobcastd_rps jobcastd_Bps nginx_rps nginx_Bps ratio
for round in $(seq "$ROUNDS"); do
  for conns in $CONNECTIONS; do
    for kind in segment playlist; do
      # The newest segment stays listed for several segment durations.
      curl -s "$node$playlist" >"$work/www$playlist"
      if [ "$kind" = segment ]; then
        path=/hls/demo/source/$(grep '\.ts$' "$work/www$playlist" | tail -1)
        curl -s "$node$path" -o "$work/www$path"
      else
        path=$playlist
      fi
      size=$(stat -c %s "$work/www$path")
      cmp -s "$work/www$path" "$work/check" 2>/dev/null || true
      # Who goes first alternates, so neither always meets the same moment
      # of the encoders' work (both run beside them).
      if [ $((round % 2)) = 1 ]; then
        set -- $(measure "$conns" "$node$path")
        j_rps=$1 j_bps=$2 j_bad=$3
        set -- $(measure "$conns" "http://127.0.0.1:$nginx_port$path")
        n_rps=$1 n_bps=$2 n_bad=$3
      else
        set -- $(measure "$conns" "http://127.0.0.1:$nginx_port$path")
        n_rps=$1 n_bps=$2 n_bad=$3
        set -- $(measure "$conns" "$node$path")
        j_rps=$1 j_bps=$2 j_bad=$3
      fi
      echo "$kind $conns $j_rps $n_rps" >>"$work/totals"
      ratio=$(python3 -c "print(f'{float(\"$j_rps\")/float(\"$n_rps\"):.2f}')" 2>/dev/null || echo "?")
      printf '%-9s %-6s %5s %9s %12s %10s %12s %10s %6s\n' "$kind" "$conns" "$round" "$size" \
        "$j_rps" "$j_bps" "$n_rps" "$n_bps" "$ratio"
      if [ "$j_bad" != 0 ] || [ "$n_bad" != 0 ]; then
        echo "   non-2xx answers: jobcastd $j_bad, nginx $n_bad"
      fi
    done
  done
done
echo "== over the run (requests in all rounds, jobcastd / nginx)"
awk '{ j[$1" "$2] += $3; n[$1" "$2] += $4 }
     END { for (k in j) printf "%-18s %.2f\n", k, j[k] / n[k] }' "$work/totals" | sort
