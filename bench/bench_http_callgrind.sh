#!/usr/bin/env bash
# The instructions --http adds, counted by callgrind (wall time on a shared
# machine swings too much to see a few per cent): the same replay of COUNT
# gen_frames frames into SQLite from stdin, (a) without --http, (b) with
# --http, a /stream?conflate=250 client (what the dashboard opens) and
# /metrics scraped every second. Prints the instructions of the pipeline's
# threads (main: processor + store; reader: decode) and of the HTTP thread.
#
#   bench/bench_http_callgrind.sh [COUNT]
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-200000}
cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DTP_WERROR=ON >/dev/null
cmake --build build-release -j"$(nproc)" >/dev/null
bin=$PWD/build-release/tickpipe
work=$(mktemp -d /tmp/tp_bench_cg.XXXXXX)
trap 'rm -rf "$work"' EXIT
build-release/bench/gen_frames --count "$count" --symbols 200 --seed 1 --out "$work/frames.txt" >/dev/null

# run TAG [--http]: callgrind of one replay; per-thread totals in $work/TAG.*
run() {
  local tag=$1 http=${2:-}
  rm -f "$work"/t.db* "$work/dl.jsonl" "$work/in.fifo"
  mkfifo "$work/in.fifo"
  : >"$work/$tag.err"
  valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$work/$tag.%p" \
    "$bin" run --source replay:- --store "sqlite:$work/t.db" --deadletter "$work/dl.jsonl" \
    ${http:+--http 127.0.0.1:0} <"$work/in.fifo" 2>"$work/$tag.err" &
  local tp=$! port= client=
  exec 3>"$work/in.fifo"
  if [ -n "$http" ]; then
    for _ in $(seq 600); do
      port=$(sed -n 's/.*serving http on port \([0-9]*\).*/\1/p' "$work/$tag.err"); [ -n "$port" ] && break; sleep 0.1
    done
    /usr/bin/python3 - "$port" >"$work/client.out" 2>&1 3>&- <<'PY' &
import asyncio, json, sys, urllib.request, websockets
async def main(port):
    async with websockets.connect("ws://127.0.0.1:%s/stream?conflate=250" % port, max_size=None) as ws:
        print("connected", flush=True)
        events = scrapes = 0
        async def scrape():
            nonlocal scrapes
            while True:
                await asyncio.get_running_loop().run_in_executor(
                    None, lambda: urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port).read())
                scrapes += 1
                await asyncio.sleep(1)
        t = asyncio.ensure_future(scrape())
        try:
            async for m in ws:
                events += len(json.loads(m))
        except websockets.ConnectionClosed:
            pass
        t.cancel()
        print("client: %d conflated events, %d scrapes" % (events, scrapes))
asyncio.run(main(sys.argv[1]))
PY
    client=$!
    for _ in $(seq 600); do grep -q connected "$work/client.out" && break; sleep 0.1; done
  fi
  cat "$work/frames.txt" >&3
  exec 3>&-
  wait "$tp"
  [ -n "$client" ] && { wait "$client" || true; sed -n 's/^client/  client/p' "$work/client.out"; }
  grep -q "tickpipe: done frames=$count " "$work/$tag.err" || { cat "$work/$tag.err" >&2; exit 1; }
}

# thread totals of run TAG: "main reader http"; thread 1 is main, the
# reader is the busiest other thread, the HTTP thread the one whose
# functions include service_main.
threads() {
  local tag=$1 main=0 reader=0 http=0
  for f in "$work/$tag".*-*; do
    local n
    n=$(sed -n 's/^summary: //p' "$f")
    case $f in
      *-01) main=$n ;;
      *) if grep -q service_main "$f" && grep -q "fn=.*tick" "$f" && grep -q "tp_http\|http.c" "$f"; then
           http=$((http + n)); elif [ "$n" -gt "$reader" ]; then reader=$n; fi ;;
    esac
  done
  echo "$main $reader $http"
}

echo "## callgrind, $count frames, 200 symbols (instructions)"
run a
run b --http
read -r am ar ah < <(threads a)
read -r bm br bh < <(threads b)
awk -v am="$am" -v ar="$ar" -v bm="$bm" -v br="$br" -v bh="$bh" -v n="$count" 'BEGIN {
  printf "(a) no --http:  main %d  reader %d  (%.0f per frame)\n", am, ar, (am + ar) / n
  printf "(b) --http:     main %d  reader %d  (%.0f per frame)  http thread %d (%.0f per frame)\n", bm, br, (bm + br) / n, bh, bh / n
  printf "pipeline threads: %+.2f%% instructions with --http\n", ((bm + br) / (am + ar) - 1) * 100 }'
