#!/bin/sh
# bench_kafka.sh - Kafka-mode benchmarks on loopback (see bench_kafka.py).
# Usage: bench/bench_kafka.sh [BUILD_DIR]   (a release build, never sanitizers)
# Env: BENCH_FRAMES (200000), BENCH_RUNS (5), BENCH_RATE (2000/s), BENCH_SECONDS (10).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
if grep -q 'TP_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" 2>/dev/null; then
    echo "bench_kafka: $build is a sanitizer build; use a release build" >&2
    exit 2
fi
TP_BIN=$build/tickpipe TP_BUILD=$build TP_DATA=${TP_DATA:-$here/../tests/data} \
    exec /usr/bin/python3 "$here/bench_kafka.py" 2>&1 | grep -v '^%'
