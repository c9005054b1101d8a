#!/usr/bin/env bash
# Configures and builds Jobcast in Release into build/ (2 parallel jobs by default).
set -euo pipefail
cd "$(dirname "$0")/.."
JOBS="${JOBS:-2}"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$JOBS"
