#!/usr/bin/env bash
# Command-line contract: --help for every subcommand (exit 0), bad usage exits
# 2 with a message naming the bad argument, fatal runtime errors exit 1.
set -uo pipefail
TP_BIN=${TP_BIN:?}
work=$(mktemp -d /tmp/tp_cli.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
expect() { # expect STATUS NEEDLE -- ARGS...: exit status and a word of stderr
  local want=$1 needle=$2; shift 3
  local out rc
  out=$(cd "$work" && "$TP_BIN" "$@" 2>&1 >/dev/null); rc=$?
  if [ "$rc" -eq "$want" ] && [[ $out == *"$needle"* ]]; then passed=$((passed + 1))
  else failed=$((failed + 1)); echo "FAIL: tickpipe $* -> $rc '$out' (want $want, '$needle')" >&2; fi
}
for cmd in run ingest process query record feed; do
  if "$TP_BIN" "$cmd" --help | grep -q "usage: tickpipe $cmd"; then passed=$((passed + 1))
  else failed=$((failed + 1)); echo "FAIL: $cmd --help" >&2; fi
done
expect 2 "unknown command" -- frobnicate
expect 2 "--bars: unknown interval '2m'" -- run --source sim:count=1 --bars 1m,2m
expect 2 "--lateness abc" -- run --source sim:count=1 --lateness abc
expect 2 "--source bogus" -- run --source bogus
expect 2 "--store nosuch:x" -- run --source sim:count=1 --store nosuch:x
expect 2 "unknown option '--nope'" -- run --nope
expect 2 "--symbols-per-socket 0" -- run --symbols-per-socket 0
expect 2 "--source replay:$work/missing.txt" -- run --source replay:$work/missing.txt
expect 2 "--log-level loud" -- run --source sim:count=1 --log-level loud
expect 2 "ticks, bars, latest or gaps" -- query --store sqlite:x.db
expect 2 "'candles'" -- query --store sqlite:x.db candles
expect 2 "--from yesterday" -- query --store sqlite:x.db ticks --from yesterday
expect 2 "--format xml" -- query --store sqlite:x.db ticks --format xml
expect 2 "--interval 7m" -- query --store sqlite:x.db bars --interval 7m
expect 2 "needs a value" -- query --store
expect 1 "sqlite:/nonexistent/dir/x.db" -- run --source sim:count=1 --store sqlite:/nonexistent/dir/x.db
expect 1 "--deadletter /nonexistent/dir/dl" -- run --source sim:count=1 --store sqlite:y.db --deadletter /nonexistent/dir/dl
expect 0 "tickpipe: done frames=3 applied=3" -- run --source sim:count=3 --store sqlite:z.db
# query output: CSV header and JSON array
csv=$(cd "$work" && "$TP_BIN" query --store sqlite:z.db latest --limit 1)
if [[ $(head -n 1 <<<"$csv") == "symbol,time,price,cum_avg_price,count" ]]; then passed=$((passed + 1))
else failed=$((failed + 1)); echo "FAIL: csv header: $csv" >&2; fi
if (cd "$work" && "$TP_BIN" query --store sqlite:z.db ticks --format json) | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin); assert len(r)==3 and r[0]["seq"]==1, r'; then passed=$((passed + 1))
else failed=$((failed + 1)); echo "FAIL: json output" >&2; fi
# --symbols-file: one long comma-separated line and one-per-line both work
{ printf 'S%d,' $(seq 1 400); echo; echo "# comment"; echo "T1"; echo "T2 # trailing"; } > "$work/syms.txt"
(cd "$work" && "$TP_BIN" run --source sim:count=4000 --symbols-file syms.txt --store sqlite:syms.db 2>/dev/null)
n=$(sqlite3 "$work/syms.db" "SELECT count(DISTINCT symbol) FROM ticks WHERE symbol GLOB 'S*' OR symbol IN ('T1','T2')")
if [ "$n" = 402 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAIL: --symbols-file gave $n symbols, want 402" >&2; fi
expect 2 "--symbols-file $work/none.txt" -- run --source sim:count=1 --symbols-file "$work/none.txt"

echo "test_cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
