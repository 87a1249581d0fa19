#!/usr/bin/env bash
# Instructions per tick of the jsonl tick formatting (bench_quote_json's
# render(): tp_quote_json_fields, then seq and the running average),
# counted by callgrind with collection on only inside render().
#
#   bench/bench_quote_json_callgrind.sh [BUILD_DIR] [FRAMES]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-release} frames=${2:-50000}
out=$(mktemp -d /tmp/tp_bench_cg.XXXXXX)
trap 'rm -rf "$out"' EXIT
for set in sim real; do
  valgrind --tool=callgrind --toggle-collect='render*' --callgrind-out-file="$out/cg.$set" \
    "$build/bench/bench_quote_json" --set "$set" --frames "$frames" >/dev/null 2>"$out/log.$set"
  ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/log.$set")
  awk -v s="$set" -v ir="$ir" -v n="$frames" \
    'BEGIN { printf "quote_json %-4s %6.0f instructions per tick (callgrind, %d ticks x 5 runs)\n", s, ir / (n * 5), n }'
done
