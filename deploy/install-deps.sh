#!/usr/bin/env bash
# Installs every Debian 12 package Jobcast needs to build, run and test.
# Safe to run again: apt-get skips what is already there.
set -euo pipefail

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

packages=(
  # build
  build-essential cmake pkg-config clang libclang-rt-14-dev clang-format clang-tidy
  # libraries
  libglib2.0-dev libssl-dev zlib1g-dev libhiredis-dev nlohmann-json3-dev libvalijson-dev libyaml-cpp-dev
  libwebsockets-dev libwebsockets-evlib-glib
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev libnice-dev
  libsrtp2-dev
  # the quarterly report's XLSX export
  libxlsxwriter-dev
  # GStreamer elements used at run time
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-nice gstreamer1.0-x
  # services and tools the server and tests use
  redis-server redis-tools curl ffmpeg
  # TURN relay for the interview calls (deploy/coturn.conf); the relay-only call test starts one
  coturn
  # tests
  libgtest-dev googletest libgmock-dev libcurl4-openssl-dev valgrind
  # the report test reads the XLSX export back
  python3-openpyxl
  # benchmarks (bench/apply, bench/hls); nginx also runs deploy/nginx-edge.conf in web_edge_cache
  wrk nginx-light
  # the deploy lints verify deploy/jobcastd.service with systemd-analyze
  systemd
  # pages: browser tests drive Debian's Chromium (npm playwright-core); CJK font for screenshots
  chromium fonts-wqy-microhei
  # the viewer's Firefox test (tests/web/firefox.mjs, WebDriver BiDi via npm puppeteer-core)
  firefox-esr
  # Noto Sans Mongolian (traditional script) for the pages, served by the node at /fonts/
  fonts-noto-core
)

# The pages' npm packages need Node.js with npm; Debian's will do where the
# machine has none of its own.
if ! command -v npm >/dev/null 2>&1; then packages+=(nodejs npm); fi

export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
if [ -z "${JOBCAST_SKIP_APT_UPDATE:-}" ]; then $SUDO apt-get update -q; fi
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"

# A packaged redis-server starts a system instance; Jobcast starts its own and
# does not need it.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet redis-server 2>/dev/null; then
  $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
fi
