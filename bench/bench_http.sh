#!/usr/bin/env bash
# What --http costs the pipeline (issue 11): the sim benchmark (COUNT frames
# of bench/gen_frames for SYMBOLS symbols, replayed into SQLite from stdin)
# run alternately
#   (a) without --http, and
#   (b) with --http, the dashboard open in headless Chromium (its /stream
#       socket live) and /metrics scraped every second,
# RUNS times each; prints the median frames/s of both and the ratio. The
# clock runs from the first byte fed to the exit of tickpipe (the browser
# starts before it). Builds a Release tree in build-release.
#
#   bench/bench_http.sh [COUNT] [SYMBOLS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1000000} symbols=${2:-200} runs=${3:-5}
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DTP_WERROR=ON >/dev/null
cmake --build build-release -j"$(nproc)" >/dev/null
bin=build-release/tickpipe
work=$(mktemp -d /tmp/tp_bench_http.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
frames=$work/frames.txt
build-release/bench/gen_frames --count "$count" --symbols "$symbols" --seed 1 --out "$frames" >/dev/null
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# one_run TAG [--http]: seconds from feeding the first frame to tickpipe's exit
one_run() {
  local tag=$1 http=${2:-} port= fifo=$work/in.fifo
  rm -f "$work"/t.db* "$work/dl.jsonl" "$fifo" "$work/err"
  mkfifo "$fifo"
  : >"$work/err"
  "$bin" run --source replay:- --store "sqlite:$work/t.db" --deadletter "$work/dl.jsonl" \
    ${http:+--http 127.0.0.1:0} <"$fifo" 2>"$work/err" &
  local tp=$!
  exec 3>"$fifo"
  local dash= scraper= hold=$work/hold.fifo
  if [ -n "$http" ]; then
    for _ in $(seq 100); do
      port=$(sed -n 's/.*serving http on port \([0-9]*\).*/\1/p' "$work/err"); [ -n "$port" ] && break; sleep 0.1
    done
    rm -f "$hold"; mkfifo "$hold"
    # Children must not hold the fifos open (3: tickpipe's stdin, 4: the browser's).
    NODE_PATH=build-release/web-npm/node_modules node bench/dashboard_open.cjs \
      "http://127.0.0.1:$port/" <"$hold" >"$work/dash.out" 2>&1 3>&- &
    dash=$!; pids+=("$dash")
    exec 4>"$hold"
    for _ in $(seq 300); do grep -q ready "$work/dash.out" && break; sleep 0.1; done
    grep -q ready "$work/dash.out" || { cat "$work/dash.out" >&2; exit 1; }
    ( while curl -sf "http://127.0.0.1:$port/metrics" -o /dev/null; do sleep 1; done ) 3>&- 4>&- &
    scraper=$!; pids+=("$scraper")
  fi
  local t0=$EPOCHREALTIME
  cat "$frames" >&3
  exec 3>&-
  wait "$tp" || { cat "$work/err" >&2; exit 1; }
  local t1=$EPOCHREALTIME
  if [ -n "$http" ]; then
    exec 4>&-
    wait "$dash" || true
    kill "$scraper" 2>/dev/null || true
    wait "$scraper" 2>/dev/null || true
    sed -n 's/^dashboard/  dashboard/p' "$work/dash.out" >&2
  fi
  grep -q "tickpipe: done frames=$count " "$work/err" || { cat "$work/err" >&2; exit 1; }
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}

echo "## run of $(date -u +%Y-%m-%dT%H:%MZ): $count frames, $symbols symbols, $runs runs each, $(nproc) cores"
for i in $(seq "$runs"); do
  a=$(one_run a); echo "$a" >>"$work/a"
  b=$(one_run b --http); echo "$b" >>"$work/b"
  echo "run $i: without --http ${a}s, with dashboard + scrapes ${b}s" >&2
done
ma=$(median <"$work/a") mb=$(median <"$work/b")
awk -v n="$count" -v a="$ma" -v b="$mb" 'BEGIN {
  printf "(a) no --http:                          median %.3fs (%.0f frames/s)\n", a, n / a
  printf "(b) --http, dashboard open, 1 scrape/s: median %.3fs (%.0f frames/s)\n", b, n / b
  printf "throughput lost with --http: %.1f%% (target < 5%%)\n", (1 - a / b) * 100 }'
