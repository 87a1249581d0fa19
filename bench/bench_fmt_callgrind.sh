#!/usr/bin/env bash
# Instructions per number of tp_fmt_double() on each bench_fmt set, counted
# by callgrind with collection on only inside tp_fmt_double (exact, and
# independent of other load on the machine).
#
#   bench/bench_fmt_callgrind.sh [BUILD_DIR] [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-release} count=${2:-20000}
out=$(mktemp -d /tmp/tp_bench_cg.XXXXXX)
trap 'rm -rf "$out"' EXIT
names=("float32 prices" "doubles in [10,1000)" "random doubles")
for set in 0 1 2; do
  valgrind --tool=callgrind --toggle-collect=tp_fmt_double --callgrind-out-file="$out/cg.$set" \
    "$build/bench/bench_fmt" --count "$count" --set "$set" >/dev/null 2>"$out/log.$set"
  ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/log.$set")
  awk -v s="${names[$set]}" -v ir="$ir" -v n="$count" \
    'BEGIN { printf "fmt %-22s %6.0f instructions per number (callgrind, %d numbers x 5 runs)\n", s, ir / (n * 5), n }'
done
