#!/usr/bin/env bash
# Two tickpipe binaries side by side on the same replay (issue 10: moving
# the run loop into src/pipeline/ must not change its cost or its output):
#  (a) replay -> SQLite and (b) replay -> JSON lines, alternating OLD and
#      NEW, wall-time medians of RUNS runs and the NEW/OLD ratio;
#  (c) callgrind instruction counts of one run of each (all threads), which
#      stay meaningful when other work shares the machine;
#  (d) the outputs compared byte for byte: summary line, every table
#      through `tickpipe query`, the JSON lines, the dead-letter file.
# Build both binaries in the same build type (RelWithDebInfo or Release).
#
#   bench/bench_compare.sh OLD_BIN NEW_BIN [COUNT] [SYMBOLS] [RUNS]
set -euo pipefail
old=$(realpath "$1") new=$(realpath "$2")
count=${3:-200000} symbols=${4:-200} runs=${5:-5}
here=$(cd "$(dirname "$0")/.." && pwd)
gen=${GEN_FRAMES:-$here/build/bench/gen_frames}
work=$(mktemp -d /tmp/tp_bench_cmp.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
"$gen" --count "$count" --symbols "$symbols" --seed 1 --out frames.txt >/dev/null
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
run() {  # run BIN TAG STORE-KIND: one replay into a fresh store, prints wall seconds
  local bin=$1 tag=$2 kind=$3 t0 t1
  rm -rf "$tag.$kind" "$tag.$kind-wal" "$tag.$kind-shm" "$tag.$kind.dl"
  t0=$EPOCHREALTIME
  "$bin" run --source replay:frames.txt --store "$kind:$tag.$kind" --deadletter "$tag.$kind.dl" \
    2> "$tag.$kind.err"
  t1=$EPOCHREALTIME
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
echo "## old vs new binary, $(date -u +%Y-%m-%dT%H:%MZ): $count frames, $symbols symbols, $runs runs each, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
for kind in sqlite jsonl; do
  for i in $(seq "$runs"); do
    run "$old" old "$kind" >> "t.old.$kind"
    run "$new" new "$kind" >> "t.new.$kind"
  done
  o=$(median < "t.old.$kind") n=$(median < "t.new.$kind")
  echo "replay -> $kind: old median ${o}s, new median ${n}s, new/old $(awk -v a="$n" -v b="$o" 'BEGIN{printf "%.3f", a/b}')"
done
for kind in sqlite jsonl; do
  for tag in old new; do
    bin=$old; [ "$tag" = new ] && bin=$new
    rm -rf "cg.$tag.$kind" "cg.$tag.$kind-wal" "cg.$tag.$kind-shm"
    valgrind --tool=callgrind --callgrind-out-file="cg.$tag.$kind.out" "$bin" run \
      --source replay:frames.txt --store "$kind:cg.$tag.$kind" --deadletter "cg.$tag.$kind.dl" \
      2> "cg.$tag.$kind.log"
  done
  io=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "cg.old.$kind.log")
  in=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "cg.new.$kind.log")
  echo "callgrind replay -> $kind: old $io, new $in instructions, new/old $(awk -v a="$in" -v b="$io" 'BEGIN{printf "%.4f", a/b}')"
done
same=1
for tag in old new; do
  bin=$old; [ "$tag" = new ] && bin=$new
  for t in ticks bars latest gaps; do "$bin" query --store "sqlite:$tag.sqlite" "$t" > "$tag.q.$t"; done
done
for f in sqlite.err jsonl.err jsonl sqlite.dl q.ticks q.bars q.latest q.gaps; do
  cmp -s "old.$f" "new.$f" || { echo "outputs differ: $f"; same=0; }
done
[ "$same" = 1 ] && echo "outputs: identical (summary lines, ticks/bars/latest/gaps, JSON lines, dead letters)"
[ "$same" = 1 ]
