#!/usr/bin/env bash
# bench_ab_jsonl.sh - replay -> JSON lines with two tickpipe binaries side by
# side (A = before a change, B = after), alternating, on the same generated
# frames: medians of wall seconds and of CPU seconds (user + sys, which
# other load on a shared machine inflates less), then instructions per
# frame of each under callgrind (exact) on the first CG_FRAMES frames, and a
# byte comparison of the two outputs (they must be identical). The whole
# program's count moves with thread timing (waits, which thread renders the
# JSON), so the formatting share is counted apart: collection only inside
# tp_quote_json_fields and js_put_tick (the tick's JSON, wherever it runs).
#
#   bench/bench_ab_jsonl.sh A_BIN B_BIN [COUNT] [SYMBOLS] [RUNS] [CG_FRAMES]
set -euo pipefail
a=$1 b=$2 count=${3:-300000} symbols=${4:-200} runs=${5:-5} cg=${6:-50000}
cd "$(dirname "$0")/.."
work=$(mktemp -d /tmp/tp_bench_ab.XXXXXX)
trap 'rm -rf "$work"' EXIT
gen=build-release/bench/gen_frames
[ -x "$gen" ] || gen=build/bench/gen_frames
"$gen" --count "$count" --symbols "$symbols" --seed 1 --out "$work/frames.txt" >/dev/null
head -n "$cg" "$work/frames.txt" > "$work/cg.txt"
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
one() { # BIN TAG: appends wall and cpu seconds
  rm -f "$work/$2.jsonl"
  /usr/bin/time -f "%e %U %S" -o "$work/t" "$1" run --source "replay:$work/frames.txt" \
    --store "jsonl:$work/$2.jsonl" --deadletter "$work/dl" 2>/dev/null
  read -r wall user sys < "$work/t"
  echo "$wall" >> "$work/$2.wall"
  awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }' >> "$work/$2.cpu"
}
for _ in $(seq "$runs"); do one "$a" a; one "$b" b; done
cmp -s "$work/a.jsonl" "$work/b.jsonl" && same=identical || same=DIFFERENT
for t in a b; do
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.$t" \
    "$([ $t = a ] && echo "$a" || echo "$b")" run --source "replay:$work/cg.txt" \
    --store "jsonl:$work/cg.$t.jsonl" --deadletter "$work/dl" 2>"$work/cglog.$t" >/dev/null
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/cglog.$t" > "$work/ir.$t"
  valgrind --tool=callgrind --callgrind-out-file="$work/cgf.$t" \
    --toggle-collect=tp_quote_json_fields --toggle-collect=js_put_tick \
    "$([ $t = a ] && echo "$a" || echo "$b")" run --source "replay:$work/cg.txt" \
    --store "jsonl:$work/cgf.$t.jsonl" --deadletter "$work/dl" 2>"$work/cgflog.$t" >/dev/null
  sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/cgflog.$t" > "$work/irf.$t"
done
echo "## replay -> jsonl, $count frames, $symbols symbols, $runs runs each ($(date -u +%Y-%m-%dT%H:%MZ))"
for t in a b; do
  printf '%s: wall median %ss, cpu median %ss (%.0f frames per cpu-second); %.0f instructions per frame, %.0f of them formatting the tick line (callgrind, %d frames)\n' \
    "$([ $t = a ] && echo "A $a" || echo "B $b")" "$(median < "$work/$t.wall")" "$(median < "$work/$t.cpu")" \
    "$(awk -v n="$count" -v c="$(median < "$work/$t.cpu")" 'BEGIN { print n / c }')" \
    "$(awk -v ir="$(cat "$work/ir.$t")" -v n="$cg" 'BEGIN { print ir / n }')" \
    "$(awk -v ir="$(cat "$work/irf.$t")" -v n="$cg" 'BEGIN { print ir / n }')" "$cg"
done
echo "outputs: $same"
