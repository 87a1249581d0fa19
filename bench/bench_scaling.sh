#!/usr/bin/env bash
# Does the cost per frame of replay -> SQLite stay flat (issue 12)?
#  (a) COUNT frames for 200 symbols vs the same count for 20,000 symbols (--bars 1m);
#  (b) --bars 1m vs all 12 intervals, 200 symbols;
# each as the ratio of the medians and as the median of each round's ratio;
# each configuration run RUNS times, alternating; medians of wall time and of
# CPU time (user + system, all threads), and the ratios. Targets: <= 1.5.
# Beside (b), in the same rounds, bench_bars_floor writes the rows of the
# 12-interval store (its ticks with the 1m bars, then with all 12
# intervals' bars) with a plain SQLite loop: the ratio SQLite itself sets.
# Builds a Release tree in build-release (never a sanitizer build).
#
#   bench/bench_scaling.sh [COUNT] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-300000} runs=${2:-5}
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DTP_WERROR=ON >/dev/null
cmake --build build-release -j2 >/dev/null
bin=build-release/tickpipe
work=$(mktemp -d /tmp/tp_scaling.XXXXXX)
trap 'rm -rf "$work"' EXIT
all=1s,5s,10s,15s,30s,1m,5m,15m,30m,1h,4h,1d
for s in 200 20000; do
  build-release/bench/gen_frames --count "$count" --symbols "$s" --seed 1 --out "$work/f$s.txt" >/dev/null
done
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
one() {   # one TAG SYMBOLS BARS: appends wall and CPU seconds to $work/TAG.{wall,cpu}
  rm -f "$work"/t.db*
  /usr/bin/time -f "%e %U %S" -o "$work/time.tmp" "$bin" run --source "replay:$work/f$2.txt" \
    --store "sqlite:$work/t.db" --bars "$3" 2>/dev/null
  awk '{ print $1 }' "$work/time.tmp" >> "$work/$1.wall"
  awk '{ print $2 + $3 }' "$work/time.tmp" >> "$work/$1.cpu"
}
echo "## run of $(date -u +%Y-%m-%dT%H:%MZ): $count frames, $runs runs each, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
floor() {   # floor TAG INTERVALS: appends the floor's seconds to $work/TAG.wall
  rm -f "$work"/fl.db*
  build-release/bench/bench_bars_floor "$work/i12.db" "$work/fl.db" --intervals "$2" |
    sed -E 's/.*seconds=([0-9.]+).*/\1/' >> "$work/$1.wall"
}
for _ in $(seq "$runs"); do
  one s200 200 1m
  one s20000 20000 1m
  one i12 200 "$all"
  [ -f "$work/i12.db" ] || cp "$work/t.db" "$work/i12.db"
  floor f1 1m
  floor f12 "$all"
done
for k in wall cpu; do
  a=$(median < "$work/s200.$k") b=$(median < "$work/s20000.$k") c=$(median < "$work/i12.$k")
  echo "$k seconds: 200 symbols 1m $a | 20,000 symbols 1m $b (ratio $(awk -v x="$b" -v y="$a" 'BEGIN{printf "%.2f", x/y}')) |"\
       "200 symbols, 12 intervals $c (ratio $(awk -v x="$c" -v y="$a" 'BEGIN{printf "%.2f", x/y}'))"
done
a=$(median < "$work/f1.wall") b=$(median < "$work/f12.wall")
echo "SQLite floor (bench_bars_floor, the same rows, no processing): ticks + 1m bars $a s | ticks +"\
     "12 intervals' bars $b s (ratio $(awk -v x="$b" -v y="$a" 'BEGIN{printf "%.2f", x/y}'))"
# The host's speed changes from minute to minute; the runs of one round are
# seconds apart, so the ratio within each round, then their median, is the
# steadier figure.
rounds() {   # rounds A B: each round's B/A wall ratio, then their median
  paste "$work/$1.wall" "$work/$2.wall" | awk '{ printf "%.2f\n", $2 / $1 }' > "$work/r.tmp"
  echo "$(paste -sd' ' "$work/r.tmp") (median $(median < "$work/r.tmp"))"
}
echo "per-round wall ratios: 20,000/200 symbols $(rounds s200 s20000) |"\
     "12 intervals/1m $(rounds s200 i12) | floor $(rounds f1 f12)"
