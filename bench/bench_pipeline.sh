#!/usr/bin/env bash
# Benchmarks of the embedded pipeline (issue 2), each side by side with its
# peer in the same run, alternating, medians of RUNS runs:
#  (a) replay -> SQLite of COUNT frames for SYMBOLS symbols vs the SQLite
#      floor (bench_sqlite_floor: one prepared INSERT into the same table);
#  (b) replay -> JSON lines vs bench/peer_protobuf.py (python3-protobuf);
#  (c) decode alone (bench_decode) and the peak RSS of (a) and (b).
# Builds a Release tree in build-release (never a sanitizer build).
#
#   bench/bench_pipeline.sh [COUNT] [SYMBOLS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-300000} symbols=${2:-200} runs=${3:-5}
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DTP_WERROR=ON >/dev/null
cmake --build build-release -j"$(nproc)" >/dev/null
bin=build-release/tickpipe
work=$(mktemp -d /tmp/tp_bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
frames=$work/frames.txt
build-release/bench/gen_frames --count "$count" --symbols "$symbols" --seed 1 --out "$frames" >/dev/null

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# timed CMD...: wall seconds of one run on stdout, peak RSS (KiB) appended to $work/rss.<tag>
timed() {
  local tag=$1; shift
  local t0=$EPOCHREALTIME
  /usr/bin/time -f "%M" -o "$work/rss.tmp" "$@" >/dev/null 2>"$work/err.tmp" || { cat "$work/err.tmp" >&2; exit 1; }
  local t1=$EPOCHREALTIME
  cat "$work/rss.tmp" >> "$work/rss.$tag"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

echo "## run of $(date -u +%Y-%m-%dT%H:%MZ): $count frames, $symbols symbols, $runs runs each, $(nproc) cores"
echo
# (a)
for i in $(seq "$runs"); do
  rm -f "$work"/*.db*
  t=$(build-release/bench/bench_sqlite_floor "$frames" "$work/floor.db" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
  echo "$t" >> "$work/a.floor"
  rm -f "$work"/*.db* "$work/dl.jsonl"
  timed a "$bin" run --source "replay:$frames" --store "sqlite:$work/tp.db" --deadletter "$work/dl.jsonl" >> "$work/a.tp"
done
fa=$(median < "$work/a.floor"); ta=$(median < "$work/a.tp")
echo "(a) replay -> SQLite: tickpipe median ${ta}s ($(awk -v n="$count" -v t="$ta" 'BEGIN{printf "%.0f", n/t}') frames/s),"\
     "SQLite floor median ${fa}s; ratio tickpipe/floor = $(awk -v a="$ta" -v b="$fa" 'BEGIN{printf "%.2f", a/b}') (target <= 1.25)"
# (b)
for i in $(seq "$runs"); do
  rm -f "$work"/*.jsonl
  timed b "$bin" run --source "replay:$frames" --store "jsonl:$work/tp.jsonl" --deadletter "$work/dl.jsonl" >> "$work/b.tp"
  timed py /usr/bin/python3 bench/peer_protobuf.py "$frames" "$work/peer.jsonl" >> "$work/b.py"
done
tb=$(median < "$work/b.tp"); pb=$(median < "$work/b.py")
echo "(b) replay -> JSON lines: tickpipe median ${tb}s ($(awk -v n="$count" -v t="$tb" 'BEGIN{printf "%.0f", n/t}') frames/s),"\
     "Python protobuf peer median ${pb}s; speed-up = $(awk -v a="$pb" -v b="$tb" 'BEGIN{printf "%.1f", a/b}')x (target >= 20x)"
# (c)
echo "(c) decode alone, one core:"
build-release/bench/bench_decode --frames 1000000 2>&1 | sed 's/^/    /'
echo "    peak RSS: tickpipe replay->SQLite $(median < "$work/rss.a") KiB, replay->jsonl $(median < "$work/rss.b") KiB;"\
     "Python peer $(median < "$work/rss.py") KiB"
