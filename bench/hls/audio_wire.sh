#!/bin/sh
# The audio-only rendition on the wire: jobcastd --demo, then for SECONDS
# (30) a player's traffic is replayed with curl: the media playlist reloaded
# once a target duration, every new segment fetched once. Bytes are counted
# as received (status line and headers + body; TCP/IP framing not counted).
# Then ffprobe reads the fetched segments in order: every one decodes, and
# each starts where the one before ended (the gap in ms is printed).
# Usage: bench/hls/audio_wire.sh [BUILD_DIR]   Env: SECONDS_ (30), RENDITION (audio)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../../build}
span=${SECONDS_:-30}
rendition=${RENDITION:-audio}
. "$here/../lib.sh"
bench_workdir
cat >"$work/jobcast.yaml" <<YAML
limits:
  media_rate_per_second: 1000000
  media_rate_burst: 1000000
YAML
bench_start_node --demo --config "$work/jobcast.yaml"
playlist="$base/hls/demo/$rendition/index.m3u8"
for _ in $(seq 300); do
  [ "$(curl -s "$playlist" | grep -cv '^#')" -ge 3 ] && break
  sleep 0.1
done
curl -s "$base/hls/demo/master.m3u8" | grep -B1 "^$rendition/index.m3u8" | head -1
mkdir -p "$work/seg"
: >"$work/seen"
playlist_bytes=0 segment_bytes=0 segments=0 reloads=0
end=$(( $(date +%s) + span ))
while [ "$(date +%s)" -lt "$end" ]; do
  tick=$(date +%s%N)
  n=$(curl -s -o "$work/pl" -w '%{size_header} %{size_download}' "$playlist")
  playlist_bytes=$((playlist_bytes + ${n% *} + ${n#* }))
  reloads=$((reloads + 1))
  for name in $(grep -v '^#' "$work/pl"); do
    grep -qx "$name" "$work/seen" && continue
    echo "$name" >>"$work/seen"
    # The first reload takes the newest three segments, as players start near the live edge.
    [ "$reloads" -eq 1 ] && [ "$(grep -cv '^#' "$work/pl")" -gt 3 ] &&
      ! grep -v '^#' "$work/pl" | tail -3 | grep -qx "$name" && continue
    n=$(curl -s -o "$work/seg/$(printf %06d "$segments")-$name" -w '%{size_header} %{size_download}' \
      "$base/hls/demo/$rendition/$name")
    segment_bytes=$((segment_bytes + ${n% *} + ${n#* }))
    segments=$((segments + 1))
  done
  # The next reload one target duration (1 s) after this one began, as players do.
  left=$(( 1000000000 - ($(date +%s%N) - tick) ))
  [ "$left" -gt 0 ] && sleep "$(printf '0.%09d' "$left")"
done
echo "rendition=$rendition seconds=$span segments=$segments segment_bytes=$segment_bytes playlist_reloads=$reloads playlist_bytes=$playlist_bytes"
media=$(python3 -c "
import os,subprocess,sys
d='$work/seg'; t=0
for f in os.listdir(d):
    out=subprocess.run(['ffprobe','-v','error','-select_streams','a:0','-show_entries','packet=duration_time','-of','csv=p=0',os.path.join(d,f)],capture_output=True,text=True).stdout.split()
    t+=sum(float(x.split(',')[0]) for x in out if x.split(',')[0])
print(f'{t:.2f}')")
echo "media_seconds=$media segments_kbps_per_media_second=$(echo "scale=1; $segment_bytes * 8 / $media / 1000" | bc)"
echo "on the wire in $span s: segments_kbps=$(echo "scale=1; $segment_bytes * 8 / $span / 1000" | bc) with_playlists_kbps=$(echo "scale=1; ($segment_bytes + $playlist_bytes) * 8 / $span / 1000" | bc)"
# Timestamps: each segment's start (the ID3 PRIV timestamp of packed audio,
# the first PES PTS of MPEG-TS: ffprobe), its end (start + the decoded packets'
# durations, ffprobe), and the gap to the segment before. Then the segments
# as one VOD playlist through ffmpeg's HLS demuxer: decoded end to end.
python3 - "$work/seg" <<'PY'
import os, subprocess, sys
d = sys.argv[1]
def priv(b):
    i = b.find(b"com.apple.streaming.transportStreamTimestamp\0")
    return None if i < 0 else int.from_bytes(b[i + 45:i + 53], "big") / 90000
prev = None; prev_seq = None; worst = 0; bad = 0
files = sorted(os.listdir(d))
for f in files:
    seq = int(f.rsplit("-", 1)[1].split(".")[0])
    path = os.path.join(d, f)
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries",
                          "packet=pts_time,duration_time", "-of", "csv=p=0", path],
                         capture_output=True, text=True).stdout.split()
    rows = [r.split(",") for r in out if r]
    if not rows:
        print(f, "no audio packets"); bad = 1; continue
    dur = sum(float(r[1]) for r in rows)
    start = priv(open(path, "rb").read()) if f.endswith(".aac") else float(rows[0][0])
    # Only between segments that follow each other (a slow reload may miss one).
    gap = None if prev is None or seq != prev_seq + 1 else (start - prev) * 1000
    if gap is not None: worst = max(worst, abs(gap))
    print(f"{f} start={start:.4f} duration={dur:.4f} packets={len(rows)} gap_ms={'-' if gap is None else f'{gap:.2f}'}")
    prev = start + dur; prev_seq = seq
with open(os.path.join(d, "all.m3u8"), "w") as pl:
    pl.write("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-PLAYLIST-TYPE:VOD\n")
    for f in files: pl.write(f"#EXTINF:1.0,\n{f}\n")
    pl.write("#EXT-X-ENDLIST\n")
r = subprocess.run(["ffmpeg", "-v", "error", "-allowed_extensions", "ALL", "-i", os.path.join(d, "all.m3u8"),
                    "-map", "0:a:0", "-f", "null", "-"], capture_output=True, text=True)
print(f"largest gap between segments: {worst:.2f} ms; ffmpeg decoded the {len(files)} segments as one stream: "
      f"{'yes' if r.returncode == 0 and not r.stderr.strip() else 'NO: ' + r.stderr.strip()[:300]}")
sys.exit(1 if bad or worst > 25 or r.returncode else 0)
PY
