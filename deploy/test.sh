#!/usr/bin/env bash
# Runs every Jobcast test: builds first, then CTest (unit, integration against
# real redis-server and jobcastd processes, media, browser and leak checks).
# A missing required component fails the run; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install-deps.sh
./deploy/build.sh
cd build
# Each test runs once: no retries, so a flaky test shows as a failure.
ctest -j"${JOBS:-2}" --output-on-failure --timeout 600 "$@"
