#!/usr/bin/env bash
# bench_ws.sh - frames/s one WebSocket connection sustains from `tickpipe feed`
# on loopback: the tickpipe client (`record --out /dev/null`, one socket)
# next to a Python websockets client receiving the same stream. Median of
# RUNS runs each. The Python client disables permessage-deflate (lws
# serves without it; with it negotiated per default the Python side is far slower). Use a release (non-sanitizer) build:
#   TP_BIN=build/tickpipe bench/bench_ws.sh [FRAMES] [RUNS]
set -euo pipefail
BIN=${TP_BIN:-build/tickpipe}
FRAMES=${1:-200000}
RUNS=${2:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
W=$(mktemp -d /tmp/tp-bench-ws.XXXXXX)
FEED_PID=
trap '[ -n "$FEED_PID" ] && kill $FEED_PID 2>/dev/null; rm -rf "$W"' EXIT

cd "$HERE/.."
/usr/bin/python3 - "$W/rec.txt" <<'PY'
import sys
sys.path.insert(0, "tests/integration")
from ws_testlib import symbols, write_recording
write_recording(sys.argv[1], symbols(20), per_symbol=500, step_us=0)
PY
SYMS=$(/usr/bin/python3 -c 'print(",".join("S%03d-X" % i for i in range(20)))')

start_feed() {
  "$BIN" feed --replay "$W/rec.txt" --listen 127.0.0.1:0 --speed 0 --loop >"$W/feed.out" 2>"$W/feed.err" &
  FEED_PID=$!
  for _ in $(seq 100); do grep -q listening "$W/feed.out" && break; sleep 0.05; done
  URL=$(grep -o 'ws://[^ ]*' "$W/feed.out")
}
stop_feed() { kill -INT $FEED_PID; wait $FEED_PID || true; FEED_PID=; }

tp_client() {
  local t0 t1
  t0=$(date +%s.%N)   # includes process start, connect and subscribe
  "$BIN" record --source "yahoo:${URL}?version=2" --symbols "$SYMS" --symbols-per-socket 100 \
    --out /dev/null --max-frames "$FRAMES" 2>/dev/null
  t1=$(date +%s.%N)
  echo "$FRAMES / ($t1 - $t0)" | bc -l
}
py_client() {
  /usr/bin/python3 - "${URL}?version=2" "$SYMS" "$FRAMES" <<'PY'
import asyncio, json, sys, time
import websockets
async def main(url, syms, n):
    # max_queue=None: with the default (32) the client stops reading once 32
    # messages wait unread, so after the last recv() it never reaches feed's
    # close frame and close() sits out its timeouts (~30 s, code 1006)
    async with websockets.connect(url, compression=None, max_queue=None) as ws:
        await ws.send(json.dumps({"subscribe": syms.split(",")}))
        t0 = time.monotonic()
        for _ in range(n):
            await ws.recv()
        print(n / (time.monotonic() - t0), flush=True)
asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
PY
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

tp=(); py=()
for _ in $(seq "$RUNS"); do
  start_feed; tp+=("$(tp_client)"); stop_feed
  start_feed; py+=("$(py_client)"); stop_feed
done
TP=$(printf '%s\n' "${tp[@]}" | median)
PY=$(printf '%s\n' "${py[@]}" | median)
printf 'bench_ws: %d frames over one connection, version=2 envelope, median of %d runs\n' "$FRAMES" "$RUNS"
printf '  tickpipe client (record -> /dev/null): %10.0f frames/s\n' "$TP"
printf '  python websockets %s client:        %10.0f frames/s\n' "$(/usr/bin/python3 -c 'import websockets; print(websockets.__version__)')" "$PY"
printf '  ratio: %.2fx\n' "$(echo "$TP / $PY" | bc -l)"
