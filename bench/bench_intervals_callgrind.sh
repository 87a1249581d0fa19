#!/usr/bin/env bash
# What bar intervals cost, counted in instructions (callgrind, every thread
# of the process), which do not swing with the host's speed the way wall
# time does (issue 12: all 12 intervals <= 1.5x of one). Replays COUNT sim
# frames of 200 symbols into a fresh SQLite store with
#   --bars 1m | all 12 intervals | the 7 intervals of a minute and longer
# and prints each run's instructions, its ratio to 1m, and where they went:
# SQLite, libc (mostly SQLite's copies and allocations), tickpipe's own code.
# The third run shows what the sub-minute bars alone cost.
#
#   bench/bench_intervals_callgrind.sh [COUNT]      (default 100000)
#
# Builds a Release tree in build-release (never a sanitizer build). Two
# runs go at once (one per core); 100,000 frames take about two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-100000}
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DTP_WERROR=ON >/dev/null
cmake --build build-release -j2 >/dev/null
bin=$PWD/build-release/tickpipe
work=$(mktemp -d /tmp/tp_intervals_cg.XXXXXX)
trap 'rm -rf "$work"' EXIT
build-release/bench/gen_frames --count "$count" --symbols 200 --seed 1 --out "$work/f.txt" >/dev/null
all=1s,5s,10s,15s,30s,1m,5m,15m,30m,1h,4h,1d
long=1m,5m,15m,30m,1h,4h,1d
one() {   # one TAG BARS
  (cd "$work" && valgrind --tool=callgrind --callgrind-out-file="$work/cg.$1" \
    "$bin" run --source "replay:$work/f.txt" --store "sqlite:$work/$1.db" --bars "$2" \
    >/dev/null 2>"$work/log.$1")
}
one one 1m & one all "$all" & wait
one long "$long"
# Instructions in all, from valgrind's summary (callgrind_annotate's total
# stops at 2^31), and per object file, from the per-function list.
split() {   # split TAG: "total sqlite libc tickpipe"
  total=$(sed -n 's/.*I *refs: *\([0-9,]*\).*/\1/p' "$work/log.$1" | tr -d ,)
  callgrind_annotate "$work/cg.$1" 2>/dev/null | awk -v total="$total" '
    / \[.*\]$/ { n = $1; gsub(",", "", n); o = $NF
                 if (o ~ /libsqlite3/) q += n; else if (o ~ /libc\.so/) c += n
                 else if (o ~ /tickpipe\]$/) t += n }
    END { printf "%.0f %.0f %.0f %.0f\n", total, q, c, t }'
}
echo "## run of $(date -u +%Y-%m-%dT%H:%MZ): $count frames, 200 symbols, replay -> SQLite, callgrind"
read -r t1 q1 c1 p1 <<< "$(split one)"
for tag in one all long; do
  read -r t q c p <<< "$(split $tag)"
  case $tag in one) name="1m";; all) name="all 12 intervals";; long) name="7 intervals >= 1m";; esac
  awk -v n="$name" -v t="$t" -v q="$q" -v c="$c" -v p="$p" -v t1="$t1" -v q1="$q1" -v c1="$c1" \
      -v p1="$p1" -v f="$count" 'BEGIN {
    printf "%-18s %6.0f instructions/frame  ratio %.3f | SQLite %+6.0f libc %+5.0f tickpipe %+5.0f per frame against 1m\n",
      n, t / f, t / t1, (q - q1) / f, (c - c1) / f, (p - p1) / f }'
done
for tag in one all long; do
  echo "bars rows ($tag): $(sqlite3 "$work/$tag.db" 'SELECT count(*) FROM bars'), ticks rows: $(sqlite3 "$work/$tag.db" 'SELECT count(*) FROM ticks')"
done
