#!/usr/bin/env bash
# Two tickpipe binaries side by side on the replay benchmarks (bench_pipeline.sh
# (a) and (b)), alternating, medians of RUNS runs, and a byte-for-byte check:
# the same jsonl output and the same SQLite tables (ticks, bars, latest) from both.
# For a change that must keep behaviour and throughput (a refactoring).
#
#   bench/bench_compare.sh OLD_BIN NEW_BIN [COUNT] [SYMBOLS] [RUNS] [GEN_FRAMES_BIN]
set -euo pipefail
old=$1 new=$2 count=${3:-300000} symbols=${4:-200} runs=${5:-5}
gen=${6:-$(dirname "$new")/bench/gen_frames}
work=$(mktemp -d /tmp/tp_compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
frames=$work/frames.txt
"$gen" --count "$count" --symbols "$symbols" --seed 1 --out "$frames" >/dev/null
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
timed() {  # seconds of one run of CMD... on stdout
  local t0=$EPOCHREALTIME
  "$@" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
  awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f\n", b - a }'
}
run_jsonl() { rm -f "$work/$1.jsonl" "$work/dl.jsonl"
  timed "$2" run --source "replay:$frames" --store "jsonl:$work/$1.jsonl" --deadletter "$work/dl.jsonl"; }
run_sqlite() { rm -f "$work/$1.db"* "$work/dl.jsonl"
  timed "$2" run --source "replay:$frames" --store "sqlite:$work/$1.db" --deadletter "$work/dl.jsonl"; }
for i in $(seq "$runs"); do
  run_jsonl old "$old" >> "$work/b.old"; run_jsonl new "$new" >> "$work/b.new"
  run_sqlite old "$old" >> "$work/a.old"; run_sqlite new "$new" >> "$work/a.new"
done
echo "## $count frames, $symbols symbols, $runs runs each, alternating, $(nproc) cores"
for k in a b; do
  o=$(median < "$work/$k.old"); n=$(median < "$work/$k.new")
  printf '(%s) %s: old median %ss, new median %ss, new/old = %s\n' "$k" \
    "$([ $k = a ] && echo 'replay -> SQLite' || echo 'replay -> jsonl')" "$o" "$n" \
    "$(awk -v a="$n" -v b="$o" 'BEGIN{printf "%.3f", a/b}')"
done
cmp -s "$work/old.jsonl" "$work/new.jsonl" && echo "jsonl output: identical ($(wc -l < "$work/new.jsonl") lines)" ||
  { echo "jsonl output: DIFFERS"; exit 1; }
for t in ticks bars latest; do
  q="SELECT * FROM $t ORDER BY 1, 2, 3"
  if [ "$(sqlite3 "$work/old.db" "$q" | sha256sum)" = "$(sqlite3 "$work/new.db" "$q" | sha256sum)" ]; then
    echo "SQLite $t: identical ($(sqlite3 "$work/new.db" "SELECT count(*) FROM $t") rows)"
  else
    echo "SQLite $t: DIFFERS"; exit 1
  fi
done
