#!/usr/bin/env bash
# Differential test: `tickpipe run --store jsonl:` against an independent
# implementation of DESIGN.md in Python with Google's protobuf library
# (bench/peer_protobuf.py). Frames: the real captured frames plus sim frames
# with duplicates, out-of-order (late) ticks, heartbeats and garbage mixed
# in. Every output line must be equal as JSON (numbers compared as doubles).
set -euo pipefail
TP_BIN=${TP_BIN:?} TP_BUILD=${TP_BUILD:?} TP_SRC=${TP_SRC:?} TP_SHARED=${TP_SHARED:?}
work=$(mktemp -d /tmp/tp_parity.XXXXXX)
trap 'rm -rf "$work"' EXIT
"$TP_BUILD/bench/gen_frames" --count 30000 --symbols 40 --seed 3 --out "$work/sim.txt" >/dev/null
{
  cat "$TP_SHARED/data/yahoo/frames.txt"
  # Reverse blocks of 400 lines now and then: later ticks first, so earlier
  # ones arrive after their bar closed (late), and bars see ties and reorders.
  awk '{ buf[NR % 400] = $0 } NR % 400 == 0 { if ((NR / 400) % 3 == 0) { for (i = 399; i >= 0; i--) print buf[i] } else { for (i = 1; i <= 400; i++) print buf[i % 400] } }' "$work/sim.txt"
  echo "CgNIQjEwBw=="                       # heartbeat
  echo "garbage!"
  head -n 50 "$work/sim.txt"                # old snapshots again: duplicates or late
  tail -n 1 "$work/sim.txt"; tail -n 1 "$work/sim.txt"
} > "$work/frames.txt"
for lateness in 10000 0; do
  "$TP_BIN" run --source "replay:$work/frames.txt" --store "jsonl:$work/tp.jsonl" \
    --deadletter "$work/dl.jsonl" --lateness "${lateness}ms" 2> "$work/tp.err"
  /usr/bin/python3 "$TP_SRC/bench/peer_protobuf.py" "$work/frames.txt" "$work/peer.jsonl" \
    --lateness-ms "$lateness" 2> "$work/peer.err"
  /usr/bin/python3 - "$work/tp.jsonl" "$work/peer.jsonl" <<'PY'
import json, sys
a = open(sys.argv[1]).read().splitlines()
b = open(sys.argv[2]).read().splitlines()
assert len(a) == len(b), f"{len(a)} lines from tickpipe, {len(b)} from the peer"
late = sum(1 for x in a if json.loads(x)["kind"] == "bar")
for i, (x, y) in enumerate(zip(a, b)):
    if json.loads(x) != json.loads(y):
        sys.exit(f"line {i + 1} differs:\n tickpipe: {x}\n peer:     {y}")
PY
  tp_sum=$(tail -n 1 "$work/tp.err" | sed 's/^tickpipe: //')
  peer_sum=$(tail -n 1 "$work/peer.err" | sed 's/^peer_protobuf: //')
  [ "$tp_sum" = "$peer_sum" ] || { echo "FAIL: summaries differ: '$tp_sum' vs '$peer_sum'" >&2; exit 1; }
  case "$tp_sum" in *" late=0") echo "FAIL: the input produced no late ticks: $tp_sum" >&2; exit 1;; esac
  rm -f "$work/tp.jsonl" "$work/peer.jsonl" "$work/dl.jsonl"
done
echo "test_peer_parity: 2 passed, 0 failed"
