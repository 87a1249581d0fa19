#!/usr/bin/env bash
# Exactly-once results of `tickpipe run` on a replay, with the real binary:
#  1. one clean run: summary line exact, counts add up, dead-letter lines;
#  2. running the same command again changes nothing;
#  3. kill -9 at several moments during a replay, then a re-run: the same
#     tables and the same dead-letter file as the clean run;
#  4. a growing recording is tailed where it was left;
#  5. replay:- reads stdin.
set -euo pipefail
TP_BIN=${TP_BIN:?} TP_BUILD=${TP_BUILD:?}
work=$(mktemp -d /tmp/tp_exactly_once.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill -9 "$p" 2>/dev/null || true; done; [ -n "${TP_KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }

# Frames: 120k sim frames for 60 symbols, with rejected lines, heartbeats,
# duplicates, comments and blank lines mixed in at fixed places.
"$TP_BUILD/bench/gen_frames" --count 120000 --symbols 60 --seed 7 --out "$work/base.txt" >/dev/null
hb='CgNIQjEwBw=='  # id "HB1", quoteType 7: a heartbeat
awk -v hb="$hb" '
  NR % 9973 == 0 { print "not base64 at all!" }
  NR % 20011 == 0 { print "{\"type\":\"pricing\",\"message\":\"@@@\"}" }
  NR % 15013 == 0 { print hb; print "# a comment"; print "" }
  NR % 7919 == 0 { print; }      # a duplicate of the frame below: printed twice
  { print }
' "$work/base.txt" > "$work/frames.txt"
frames="$work/frames.txt"

dump() { # dump DB: every table, every column, doubles at full precision
  sqlite3 "$1" "
    SELECT symbol,time,seq,printf('%!.17g',price),printf('%!.17g',cum_avg_price),currency,exchange,
           quote_type,market_hours,printf('%!.17g',change_percent),day_volume,printf('%!.17g',day_high),
           printf('%!.17g',day_low),printf('%!.17g',change),open_price,previous_close,last_size,bid,
           bid_size,ask,ask_size,price_hint,hex(payload) FROM ticks ORDER BY symbol,time,seq;
    SELECT symbol,interval,start,printf('%!.17g',open),printf('%!.17g',high),printf('%!.17g',low),
           printf('%!.17g',close),volume,printf('%!.17g',vwap),count FROM bars ORDER BY 1,2,3;
    SELECT symbol,time,printf('%!.17g',price),printf('%!.17g',cum_avg_price),count FROM latest ORDER BY 1;"
}

run() { # run DB DL [extra args]: a replay of $frames
  local db=$1 dl=$2; shift 2
  "$TP_BIN" run --source "replay:$frames" --store "sqlite:$db" --deadletter "$dl" --bars 1m,5m "$@"
}

# 1. clean run
run "$work/a.db" "$work/a.dl" 2> "$work/a.err" || fail "clean run failed: $(cat "$work/a.err")"
summary=$(tail -n 1 "$work/a.err")
[[ $summary =~ ^tickpipe:\ done\ frames=([0-9]+)\ applied=([0-9]+)\ duplicates=([0-9]+)\ rejected=([0-9]+)\ skipped=([0-9]+)\ late=([0-9]+)$ ]] \
  || fail "summary line: '$summary'"
read -r F A D R S L <<<"${BASH_REMATCH[*]:1}"
nonblank=$(grep -cv -e '^$' -e '^#' "$frames")
[ "$F" -eq "$nonblank" ] || fail "frames=$F but the file has $nonblank frame lines"; ok
[ "$F" -eq $((A + D + R + S)) ] || fail "frames != applied+duplicates+rejected+skipped: $summary"; ok
[ "$R" -eq $(( $(grep -c 'not base64' "$frames") + $(grep -c '@@@' "$frames") )) ] || fail "rejected=$R"; ok
[ "$S" -eq "$(grep -c "^$hb\$" "$frames")" ] || fail "skipped=$S"; ok
[ "$D" -ge "$(awk 'NR>1 && $0==prev {n++} {prev=$0} END {print n+0}' "$frames")" ] || fail "duplicates=$D"; ok
[ "$(wc -l < "$work/a.dl")" -eq "$R" ] || fail "dead-letter has $(wc -l < "$work/a.dl") lines, want $R"; ok
grep -q '"reason":"bad base64"' "$work/a.dl" && grep -q "\"source\":\"$frames\"" "$work/a.dl" \
  || fail "dead-letter lines lack reason or source: $(head -n 1 "$work/a.dl")"; ok
[ "$(sqlite3 "$work/a.db" 'SELECT count(*) FROM ticks')" -eq "$A" ] || fail "ticks rows != applied"; ok
dump "$work/a.db" > "$work/a.dump"

# 2. the same command again changes nothing
run "$work/a.db" "$work/a.dl" 2> "$work/a2.err" || fail "second run failed"
grep -q '^tickpipe: done frames=0 applied=0 duplicates=0 rejected=0 skipped=0 late=0$' "$work/a2.err" \
  || fail "second run: $(tail -n 1 "$work/a2.err")"; ok
dump "$work/a.db" | cmp -s - "$work/a.dump" || fail "a second run changed the tables"; ok
[ "$(wc -l < "$work/a.dl")" -eq "$R" ] || fail "a second run changed the dead-letter file"; ok

# 3. kill -9 at several moments, then finish
ticks() { sqlite3 -cmd '.timeout 5000' "$work/b.db" 'SELECT count(*) FROM ticks' 2>/dev/null || echo 0; }
for target in 5000 20000 35000 50000; do   # far from the end (~120k): a run must not finish first
  # started directly (not through a shell function) so that $! is tickpipe itself;
  # batches of 8192 frames (smaller than the default) so that the kills fall
  # between commits and the re-run with default batches still must match
  "$TP_BIN" run --source "replay:$frames" --store "sqlite:$work/b.db" --deadletter "$work/b.dl" \
    --bars 1m,5m --batch 8192 2>>"$work/b.err" &
  pid=$!; pids+=("$pid")
  deadline=$((SECONDS + 60))
  while kill -0 "$pid" 2>/dev/null && [ "$(ticks)" -lt "$target" ] && [ $SECONDS -lt $deadline ]; do
    sleep 0.02   # polling interval of the condition, not a fixed wait
  done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
done
kills=$(grep -c '^tickpipe: done' "$work/b.err" || true)
[ "$kills" -eq 0 ] || fail "a run meant to be killed finished first ($kills times); the test proved nothing"; ok
run "$work/b.db" "$work/b.dl" 2> "$work/b2.err" || fail "re-run after kill -9 failed: $(cat "$work/b2.err")"
dump "$work/b.db" | cmp -s - "$work/a.dump" || fail "tables after kill -9 + re-run differ from one clean run"; ok
cmp -s "$work/a.dl" "$work/b.dl" || fail "dead-letter after kill -9 + re-run differs from one clean run"; ok

# 4. a growing recording is tailed where it was left
head -n 50000 "$frames" > "$work/grow.txt"
"$TP_BIN" run --source "replay:$work/grow.txt" --store "sqlite:$work/c.db" --deadletter "$work/c.dl" --bars 1m,5m 2>/dev/null
tail -n +50001 "$frames" >> "$work/grow.txt"
"$TP_BIN" run --source "replay:$work/grow.txt" --store "sqlite:$work/c.db" --deadletter "$work/c.dl" --bars 1m,5m 2> "$work/c.err"
[[ $(tail -n 1 "$work/c.err") == "tickpipe: done frames=$((F - $(head -n 50000 "$frames" | grep -cv -e '^$' -e '^#')))"* ]] \
  || fail "tail run: $(tail -n 1 "$work/c.err")"; ok
sqlite3 "$work/c.db" 'SELECT count(*) FROM ticks' | grep -qx "$A" || fail "tailed recording: tick count"; ok

# 5. replay:- has no position; it reads stdin to the end
head -n 1000 "$frames" | "$TP_BIN" run --source replay:- --store "sqlite:$work/d.db" --deadletter "$work/d.dl" 2> "$work/d.err"
grep -q '^tickpipe: done frames=1000 ' "$work/d.err" || fail "replay:-: $(tail -n 1 "$work/d.err")"; ok

# 6. replay:- hands frames over as they arrive, and SIGTERM stops it cleanly
mkfifo "$work/fifo"
"$TP_BIN" run --source replay:- --store "sqlite:$work/e.db" --deadletter "$work/e.dl" < "$work/fifo" 2> "$work/e.err" &
pid=$!; pids+=("$pid")
exec 7> "$work/fifo"
head -n 20 "$work/base.txt" >&7        # 20 frames, and the pipe stays open
deadline=$((SECONDS + 30))
until [ "$(sqlite3 -cmd '.timeout 2000' "$work/e.db" 'SELECT count(*) FROM ticks' 2>/dev/null || echo 0)" -ge 20 ]; do
  [ $SECONDS -lt $deadline ] || fail "frames written to an open pipe were not stored within 30 s"
  sleep 0.05
done; ok
# a second writer on the same store is refused while this run holds it
if "$TP_BIN" run --source sim:count=10 --store "sqlite:$work/e.db" --deadletter "$work/x.dl" 2> "$work/x.err"; then
  fail "a second concurrent run on one store was accepted"
fi
grep -q 'another tickpipe run is writing' "$work/x.err" || fail "second writer: $(cat "$work/x.err")"; ok
kill -TERM "$pid"
wait "$pid" || fail "SIGTERM: exit status $?"
exec 7>&-
grep -q '^tickpipe: stopped frames=20 applied=20 ' "$work/e.err" || fail "SIGTERM: $(tail -n 1 "$work/e.err")"; ok

echo "test_run_exactly_once: $checks passed, 0 failed"
