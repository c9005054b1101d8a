#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a running Jobcast node:
# installs the packages, builds, and starts jobcastd in the foreground with a
# private Redis in ./data (Ctrl-C stops it).
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
./deploy/build.sh
demo_flag=()
if ./build/server/jobcastd --help | grep -q -- '--demo'; then demo_flag=(--demo); fi
echo "Jobcast: http://localhost:8080/  (https://localhost:8443/ with a self-signed certificate)"
exec ./build/server/jobcastd --config configs/jobcast.sample.yaml --log-format text "${demo_flag[@]}" "$@"
