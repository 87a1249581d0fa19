#!/bin/bash
# test_peer_equiv.sh - the benchmark peer (bench/peer_protobuf.py) does the
# same work as `tickpipe run --source replay:FILE --store jsonl:OUT`: on a
# frame file mixing real and synthetic frames, envelopes, receive-time
# prefixes, duplicates, heartbeats, non-pricing envelopes, malformed lines,
# missing fields, blocks of reversed lines (late ticks, ties, reorders) and
# two lateness settings, both print the same counters and write the same
# JSON objects in the same order (compared as parsed JSON, numbers as doubles).
set -euo pipefail
: "${TP_BIN:?}" "${TP_BUILD:?}" "${TP_SRC:?}" "${TP_DATA:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
frames="$work/frames.txt"

"$TP_BUILD/bench/gen_frames" --count 3000 --symbols 20 --seed 5 --out "$work/sim.txt" --recv-prefix
"$TP_BUILD/bench/gen_frames" --count 500 --symbols 5 --seed 6 --envelope --out "$work/env.txt"
{
  echo "# a comment"
  awk '{print; print}' "$TP_DATA/yahoo/frames.txt"   # each real frame twice: duplicates
  echo ""
  # the sim frames, every third block of 100 lines reversed: later ticks first
  awk '{ b[NR % 100] = $0 } NR % 100 == 0 { for (i = 1; i <= 100; i++) print b[(NR / 100) % 3 ? i % 100 : (100 - i) % 100] }' "$work/sim.txt"
  head -300 "$work/sim.txt"            # old event times again: late ticks and duplicates
  cat "$work/env.txt"
  echo "CgNCVEMwBw=="                      # id BTC, quoteType 7: heartbeat
  echo '{"type":"news","message":"x"}'     # non-pricing envelope
  echo "CgNCVEMY0A8="                      # id and time, no price: rejected
  echo "!!!!"                              # bad base64
  echo '{"type":"pricing"'                 # bad envelope
  echo "CAE="                              # field 1 as varint: rejected by both
  echo "1736509141234	CgNCVEMVAAAAPxjQDw=="  # prefixed, id+price+time
} > "$frames"

for lateness in 10000 0; do   # (loop body not indented: it holds a here-document)
rm -f "$work/tp.jsonl" "$work/peer.jsonl"
"$TP_BIN" run --source "replay:$frames" --store "jsonl:$work/tp.jsonl" --lateness "${lateness}ms" 2> "$work/tp.err"
/usr/bin/python3 "$TP_SRC/bench/peer_protobuf.py" "$frames" "$work/peer.jsonl" --lateness-ms "$lateness" 2> "$work/peer.err"

tp_sum=$(grep -o 'frames=.*' "$work/tp.err")
peer_sum=$(grep -o 'frames=.*' "$work/peer.err")
echo "tickpipe: $tp_sum"
echo "peer:     $peer_sum"
[ "$tp_sum" = "$peer_sum" ] || { echo "FAIL: summaries differ"; exit 1; }
for k in duplicates rejected skipped late; do
  grep -q " $k=0" <<<" $tp_sum" && { echo "FAIL: the test file should produce $k"; exit 1; }
done

/usr/bin/python3 - "$work/tp.jsonl" "$work/peer.jsonl" <<'PY'
import json, sys
def load(p):
    with open(p) as f:
        return [json.dumps(json.loads(l), sort_keys=True) for l in f if l.strip()]
a, b = load(sys.argv[1]), load(sys.argv[2])
if len(a) != len(b):
    sys.exit("FAIL: %d objects from tickpipe, %d from the peer" % (len(a), len(b)))
for i, (x, y) in enumerate(zip(a, b)):
    if x != y:
        sys.exit("FAIL: object %d differs:\n tickpipe: %s\n peer:     %s" % (i + 1, x, y))
kinds = {}
for x in a:
    k = json.loads(x)["kind"]; kinds[k] = kinds.get(k, 0) + 1
print("equal: %d objects %s" % (len(a), kinds))
assert kinds.get("tick", 0) > 3000 and kinds.get("bar", 0) > 50
PY
done
echo "test_peer_equiv: 2 passed, 0 failed"
