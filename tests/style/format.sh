#!/usr/bin/env bash
# Fails when a C++ source differs from .clang-format: clang-format -i fixes it.
# usage: format.sh SOURCE_DIR
set -euo pipefail
cd "$1"
command -v clang-format >/dev/null || { echo "clang-format is missing (deploy/install-deps.sh)" >&2; exit 1; }
git ls-files -- '*.cpp' '*.h' | xargs clang-format --dry-run --Werror
echo "format: $(git ls-files -- '*.cpp' '*.h' | wc -l) files clean"
