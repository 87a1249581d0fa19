#!/usr/bin/env bash
# Guards at the command line (DESIGN.md "Command line", rule 6):
#  1. output paths equal to a source or to each other are bad usage (exit 2);
#  2. a store remembers --bars and --lateness: other ones are refused (exit 2);
#  3. query: read-only, never creates (exit 1 "no such store"), header always,
#     exit 1 when stdout fails (/dev/full), stops at a closed pipe, reads a
#     store in a directory it may not write;
#  4. a full disk is named as the cause, not "cannot rollback";
#  5. feed --listen binds exactly the address or fails; a duration needs a
#     unit; --symbols with a replay source is warned about;
#  6. run and process decide exit codes alike: a dead-letter file that cannot
#     be opened is a runtime error (1), other settings on a store bad usage (2);
#  7. values from --config reach every command's work, not only its parser.
set -uo pipefail
TP_BIN=${TP_BIN:?} TP_BUILD=${TP_BUILD:?}
work=$(mktemp -d /tmp/tp_cli_guards.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() { for p in "${pids[@]:-}"; do kill -9 "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
passed=0 failed=0
pass() { passed=$((passed + 1)); }
failure() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
expect() { # expect STATUS NEEDLE -- ARGS...: exit status and a word of stderr
  local want=$1 needle=$2; shift 3
  local out rc
  out=$(cd "$work" && timeout 60 "$TP_BIN" "$@" 2>&1 >/dev/null); rc=$?
  if [ "$rc" -eq "$want" ] && [[ $out == *"$needle"* ]]; then pass
  else failure "tickpipe $* -> $rc '$out' (want $want, '$needle')"; fi
}
"$TP_BUILD/bench/gen_frames" --count 2000 --symbols 4 --seed 5 --out "$work/f.txt" >/dev/null
ln -s f.txt "$work/link.txt"

# 1. output loops
expect 2 "same file" -- run --source replay:f.txt --store sqlite:a.db --deadletter f.txt
expect 2 "same file" -- run --source replay:f.txt --store sqlite:a.db --deadletter link.txt
expect 2 "same file" -- run --source replay:f.txt --store jsonl:f.txt --deadletter d.jsonl
expect 2 "same file" -- run --source replay:f.txt --store jsonl:./out.jsonl --deadletter out.jsonl
expect 2 "same file" -- run --source replay:f.txt --store sqlite:f.txt --deadletter d.jsonl
expect 2 "same file" -- run --source sim:count=5 --store sqlite:x.db --deadletter x.db
expect 2 "same file" -- record --source replay:f.txt --out link.txt
expect 2 "same file" -- ingest --source replay:f.txt --kafka 127.0.0.1:1 --deadletter f.txt
expect 2 "same file" -- process --kafka 127.0.0.1:1 --store jsonl:p.jsonl --deadletter p.jsonl
[ "$(wc -l < "$work/f.txt")" -eq 2000 ] && pass || failure "a refused run changed the source file"

# 2. settings remembered by the store
expect 0 "done" -- run --source replay:f.txt --store sqlite:s.db --deadletter s.dl --bars 1m
expect 2 "--bars 1m --lateness 10s" -- run --source replay:f.txt --store sqlite:s.db --deadletter s.dl --bars 1m,5m --lateness 30s
expect 2 "built with" -- run --source replay:f.txt --store sqlite:s.db --deadletter s.dl --lateness 5s
expect 0 "done frames=0" -- run --source replay:f.txt --store sqlite:s.db --deadletter s.dl --bars 1m --lateness 10s

# 3. query
expect 1 "no such store" -- query --store sqlite:typo.db ticks
[ ! -e "$work/typo.db" ] && pass || failure "query created the missing store"
hdr=$(cd "$work" && "$TP_BIN" query --store sqlite:s.db bars --symbol NOPE)
[ "$hdr" = "symbol,interval,start,open,high,low,close,volume,vwap,count" ] && pass || failure "empty result header: '$hdr'"
(cd "$work" && "$TP_BIN" query --store sqlite:s.db ticks > /dev/full 2> q.err); rc=$?
[ "$rc" -eq 1 ] && grep -q "No space left" "$work/q.err" && pass || failure "query > /dev/full: rc=$rc $(cat "$work/q.err")"
"$TP_BIN" run --source sim:count=200000,symbols=50 --store "sqlite:$work/big.db" --deadletter "$work/big.dl" 2>/dev/null
(cd "$work" && "$TP_BIN" query --store sqlite:big.db ticks | head -c 100 > /dev/null; echo "${PIPESTATUS[0]}" > pipe.rc)
[ "$(cat "$work/pipe.rc")" = 1 ] && pass || failure "query into a closed pipe: exit $(cat "$work/pipe.rc"), want 1"
mkdir "$work/ro" && cp "$work/s.db" "$work/ro/" && chmod 755 "$work/ro" && chmod 644 "$work/ro/s.db"
n=$(cd / && setpriv --reuid=nobody --regid=nogroup --clear-groups "$TP_BIN" query --store "sqlite:$work/ro/s.db" latest 2> "$work/ro.err" | wc -l)
[ "$n" -eq 5 ] && pass || failure "query of a store in a read-only directory: $n lines, $(cat "$work/ro.err")"

# 4. a full disk (here: the file size limit) is named
(cd "$work" && trap '' XFSZ && ulimit -f 300 && "$TP_BIN" run --source sim:count=100000 --store sqlite:full.db --deadletter full.dl 2> full.err); rc=$?
[ "$rc" -eq 1 ] && grep -q "File too large" "$work/full.err" && ! grep -q "cannot rollback" "$work/full.err" \
  && pass || failure "disk full: rc=$rc $(cat "$work/full.err")"

# 5. small contracts
(cd "$work" && timeout 10 "$TP_BIN" feed --replay f.txt --listen 1.2.3.4:0 > feed.out 2> feed.err); rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && grep -q "1.2.3.4" "$work/feed.err" && pass \
  || failure "feed --listen 1.2.3.4:0: rc=$rc $(cat "$work/feed.out" "$work/feed.err")"
expect 2 "--lateness 10: say the unit" -- run --source sim:count=1 --store sqlite:l.db --lateness 10
expect 0 "done" -- run --source sim:count=1 --store sqlite:l0.db --lateness 0
expect 0 "--symbols is ignored" -- run --source replay:f.txt --symbols AAPL --store sqlite:w.db --deadletter w.dl

# 6. the same runtime error is exit 1 for run and process (the broker is
#    never reached: both fail while opening the processor)
expect 1 "cannot open" -- run --source replay:f.txt --store sqlite:e.db --deadletter nodir/d.jsonl
expect 1 "cannot open" -- process --kafka 127.0.0.1:1 --store sqlite:e.db --deadletter nodir/d.jsonl
expect 2 "built with" -- process --kafka 127.0.0.1:1 --store sqlite:s.db --deadletter s.dl --bars 5m

# 7. --config values outlive the option parsing (run, record, ingest, process)
printf '[run]\nsource = replay:f.txt\nstore = sqlite:cfg.db\ndeadletter = cfg.dl\n' > "$work/run.ini"
expect 0 "done frames=2000" -- run --config run.ini
printf '[record]\nsource = replay:f.txt\nout = cfg.txt\n' > "$work/rec.ini"
expect 0 "done frames=2000" -- record --config rec.ini
printf '[ingest]\nsource = replay:f.txt\nkafka = 127.0.0.1:1\nkafka-conf = no.such.property=1\n' > "$work/ing.ini"
expect 2 "no.such.property" -- ingest --config ing.ini
printf '[process]\nkafka = 127.0.0.1:1\nstore = sqlite:e.db\ndeadletter = nodir/cfg.jsonl\n' > "$work/proc.ini"
expect 1 "nodir/cfg.jsonl: cannot open" -- process --config proc.ini

echo "test_cli_guards: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
