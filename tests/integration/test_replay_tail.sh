#!/usr/bin/env bash
# Frame files that are still growing or were replaced (DESIGN.md "Frame files"):
#  1. `record` appends while `run` tails the same file in a loop: the tables
#     equal one run over the finished file, and nothing is dead-lettered
#     (a last line without its newline is neither read nor checkpointed);
#  2. a file replaced at the same path (other content, or shorter) is read in full;
#  3. `record` never glues a new session onto a torn last line;
#  4. a line too long to hold is rejected, dead-lettered and skipped, not fatal.
set -euo pipefail
TP_BIN=${TP_BIN:?} TP_BUILD=${TP_BUILD:?}
work=$(mktemp -d /tmp/tp_replay_tail.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill -9 "$p" 2>/dev/null || true; done; [ -n "${TP_KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }
dump() {
  sqlite3 "$1" "
    SELECT symbol,time,seq,printf('%!.17g',price),printf('%!.17g',cum_avg_price),hex(payload) FROM ticks ORDER BY 1,2,3;
    SELECT symbol,interval,start,printf('%!.17g',open),printf('%!.17g',high),printf('%!.17g',low),
           printf('%!.17g',close),volume,printf('%!.17g',vwap),count FROM bars ORDER BY 1,2,3;
    SELECT symbol,time,printf('%!.17g',price),printf('%!.17g',cum_avg_price),count FROM latest ORDER BY 1;"
}
summary() { grep '^tickpipe: done' "$1" | tail -n 1; }

# 1. record writes (flushing every 5 ms, so lines are often torn at a read)
#    while run tails the file again and again; record is stopped (SIGINT)
#    once at least four tailing runs and two seconds have passed, so the
#    runs overlap the recording however slow this machine is today
rec="$work/rec.txt"
"$TP_BIN" record --source "sim:count=0,rate=20000,symbols=20,seed=3" --out "$rec" --flush 5ms \
  2> "$work/rec.err" &
rpid=$!; pids+=("$rpid")
runs=0 start=$SECONDS
while [ "$runs" -lt 4 ] || [ $((SECONDS - start)) -lt 2 ]; do
  [ $((SECONDS - start)) -lt 120 ] || fail "four tailing runs took more than 120 s"
  kill -0 "$rpid" 2>/dev/null || fail "record ended by itself: $(cat "$work/rec.err")"
  [ -e "$rec" ] || continue
  "$TP_BIN" run --source "replay:$rec" --store "sqlite:$work/tail.db" --deadletter "$work/tail.dl" \
    --bars 1s,1m 2>> "$work/tail.err" || fail "a tailing run failed: $(tail -n 3 "$work/tail.err")"
  runs=$((runs + 1))
done
kill -INT "$rpid"
wait "$rpid" || fail "record failed: $(cat "$work/rec.err")"
"$TP_BIN" run --source "replay:$rec" --store "sqlite:$work/tail.db" --deadletter "$work/tail.dl" \
  --bars 1s,1m 2>> "$work/tail.err" || fail "last tailing run failed"
ok
recorded=$(wc -l < "$rec")
[ "$recorded" -gt 1000 ] || fail "record wrote only $recorded frames"; ok
"$TP_BIN" run --source "replay:$rec" --store "sqlite:$work/once.db" --deadletter "$work/once.dl" \
  --bars 1s,1m 2> "$work/once.err" || fail "one run over the finished file failed"
[[ $(summary "$work/once.err") == "tickpipe: done frames=$recorded "*" rejected=0 "* ]] \
  || fail "one run over $recorded lines: $(summary "$work/once.err")"; ok
[ ! -s "$work/tail.dl" ] || fail "tailing dead-lettered $(wc -l < "$work/tail.dl") torn lines: $(head -c 300 "$work/tail.dl")"; ok
n1=$(sqlite3 "$work/tail.db" 'SELECT count(*) FROM ticks') n2=$(sqlite3 "$work/once.db" 'SELECT count(*) FROM ticks')
[ "$n1" = "$n2" ] || fail "tailing stored $n1 ticks, one run $n2"; ok
dump "$work/tail.db" > "$work/tail.dump"
dump "$work/once.db" > "$work/once.dump"
cmp -s "$work/tail.dump" "$work/once.dump" || fail "tables after tailing differ from one run over the finished file"; ok

# 2. a replaced file at the same path is read in full: other content, then shorter
"$TP_BUILD/bench/gen_frames" --count 3000 --symbols 5 --seed 1 --out "$work/a.txt" >/dev/null
"$TP_BUILD/bench/gen_frames" --count 3000 --symbols 5 --seed 2 --start 1736600000000 --out "$work/b.txt" >/dev/null
cp "$work/a.txt" "$work/f.txt"
"$TP_BIN" run --source "replay:$work/f.txt" --store "sqlite:$work/r.db" --deadletter "$work/r.dl" 2> "$work/r1.err"
[[ $(summary "$work/r1.err") == "tickpipe: done frames=3000 "* ]] || fail "first file: $(summary "$work/r1.err")"; ok
cp "$work/b.txt" "$work/f.new" && mv "$work/f.new" "$work/f.txt"
"$TP_BIN" run --source "replay:$work/f.txt" --store "sqlite:$work/r.db" --deadletter "$work/r.dl" 2> "$work/r2.err"
[[ $(summary "$work/r2.err") == "tickpipe: done frames=3000 "* ]] || fail "replaced file: $(summary "$work/r2.err")"; ok
grep -q "replaced" "$work/r2.err" || fail "no warning for the replaced file: $(cat "$work/r2.err")"; ok
# same size, same line ends, another first line: only the fingerprint tells
cp "$work/b.txt" "$work/f.new"
/usr/bin/python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[4]=ord("A") if b[4]!=ord("A") else ord("B"); open(p,"wb").write(b)' "$work/f.new"
mv "$work/f.new" "$work/f.txt"
"$TP_BIN" run --source "replay:$work/f.txt" --store "sqlite:$work/r.db" --deadletter "$work/r.dl" 2> "$work/r2b.err"
[[ $(summary "$work/r2b.err") == "tickpipe: done frames=3000 "* ]] || fail "first line changed: $(summary "$work/r2b.err")"; ok
head -n 1000 "$work/a.txt" > "$work/f.txt"    # truncated in place: shorter than the checkpoint
"$TP_BIN" run --source "replay:$work/f.txt" --store "sqlite:$work/r.db" --deadletter "$work/r.dl" 2> "$work/r3.err"
[[ $(summary "$work/r3.err") == "tickpipe: done frames=1000 "* ]] || fail "truncated file: $(summary "$work/r3.err")"; ok

# 3. a torn last line left by a killed record is not glued to the next session
head -n 3 "$work/a.txt" > "$work/torn.txt"
printf '1736500000000\tCgdCVEMtVV' >> "$work/torn.txt"     # no newline: a killed writer
"$TP_BIN" record --source "sim:count=5,seed=9" --out "$work/torn.txt" 2>/dev/null
[ "$(wc -l < "$work/torn.txt")" -eq 9 ] || fail "torn.txt has $(wc -l < "$work/torn.txt") lines, want 3+1+5"; ok
[ "$(grep -c 'CgdCVEMtVV$' "$work/torn.txt")" -eq 1 ] || fail "the torn line was glued to the next frame"; ok
"$TP_BIN" run --source "replay:$work/torn.txt" --store "sqlite:$work/t.db" --deadletter "$work/t.dl" 2> "$work/t.err"
[[ $(summary "$work/t.err") == "tickpipe: done frames=9 applied=8 duplicates=0 rejected=1 "* ]] \
  || fail "torn file: $(summary "$work/t.err")"; ok

# 4. a line over 64 MiB: rejected ("line too long", its first bytes kept), skipped, not fatal
{ head -n 2 "$work/a.txt"; head -c $((65 * 1024 * 1024)) /dev/zero | tr '\0' 'A'; echo; sed -n 3,4p "$work/a.txt"; } > "$work/long.txt"
"$TP_BIN" run --source "replay:$work/long.txt" --store "sqlite:$work/l.db" --deadletter "$work/l.dl" 2> "$work/l.err" \
  || fail "a long line was fatal: $(tail -n 2 "$work/l.err")"
[[ $(summary "$work/l.err") == "tickpipe: done frames=5 applied=4 duplicates=0 rejected=1 "* ]] \
  || fail "long line: $(summary "$work/l.err")"; ok
grep -q '"reason":"line too long"' "$work/l.dl" || fail "dead-letter: $(head -c 200 "$work/l.dl")"; ok
[ "$(wc -c < "$work/l.dl")" -lt 4096 ] || fail "the dead-letter line holds the whole long line"; ok

echo "test_replay_tail: $checks passed, 0 failed"
