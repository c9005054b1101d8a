#!/usr/bin/env bash
# Runs clang-tidy with the checks in .clang-tidy over the server's sources,
# JOBS files at a time (2 unless set), with the flags of
# build/compile_commands.json.
# usage: [JOBS=N] tidy.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
src="$1"
build="$2"
command -v clang-tidy >/dev/null || { echo "clang-tidy is missing (deploy/install-deps.sh)" >&2; exit 1; }
[ -f "$build/compile_commands.json" ] || { echo "no $build/compile_commands.json" >&2; exit 1; }
cd "$src"
files=$(git ls-files -- 'core/*.cpp' 'media/*.cpp' 'rooms/*.cpp' 'signaling/*.cpp' 'server/*.cpp' 'routing/*.cpp' 'backoffice/*.cpp')
# Only files the build compiles (compile_commands.json names them).
listed=$(for f in $files; do grep -q "\"file\": \"$src/$f\"" "$build/compile_commands.json" && echo "$f"; done)
echo "$listed" | xargs -P"${JOBS:-2}" -n4 clang-tidy -p "$build" --quiet 2>/dev/null
echo "tidy: $(echo "$listed" | wc -l) files clean"
