#!/usr/bin/env bash
# Instructions per frame of tp_decode_frame() on each bench_decode set,
# counted by callgrind (exact and independent of other load on the machine,
# unlike bench_decode's frames/s). Collection is on only inside
# tp_decode_frame, so loading the frames does not count.
#
#   bench/bench_decode_callgrind.sh [BUILD_DIR] [FRAMES]
#
# BUILD_DIR defaults to build-release (a Release build; never a sanitizer
# build). The frames come from tests/data unless TP_DATA names another dir.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-release} frames=${2:-20000}
out=$(mktemp -d /tmp/tp_bench_cg.XXXXXX)
trap 'rm -rf "$out"' EXIT
for set in real sim sim-envelope; do
  valgrind --tool=callgrind --toggle-collect=tp_decode_frame \
    --callgrind-out-file="$out/cg.$set" \
    "$build/bench/bench_decode" --set "$set" --frames "$frames" >/dev/null 2>"$out/log.$set"
  ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/log.$set")
  awk -v s="$set" -v ir="$ir" -v n="$frames" \
    'BEGIN { printf "decode %-14s %7.0f instructions per frame (callgrind, %d frames x 5 runs)\n", s, ir / (n * 5), n }'
done
