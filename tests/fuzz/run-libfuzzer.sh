#!/bin/sh
# Builds the fuzz targets with clang/libFuzzer in build-fuzz/ and runs each for
# a bounded number of runs (see tests/fuzz/CMakeLists.txt). Exit code is CTest's.
set -eu
cd "$(dirname "$0")/../.."
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DJOBCAST_FUZZ=ON \
  >/dev/null
cmake --build build-fuzz --target jwt_fuzz request_fuzz wire_ws_fuzz wire_rest_fuzz -j"$(nproc)"
cd build-fuzz && ctest -R '^fuzz\.' --output-on-failure
