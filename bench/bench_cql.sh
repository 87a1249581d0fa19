#!/usr/bin/env bash
# bench_cql.sh [BUILD_DIR] [FRAMES] [REPEAT] - rows/s written to the CQL v4
# test server (tests/integration/cql_server.py) by tickpipe's own client
# (`tickpipe run --store cassandra://`, ticks in unlogged per-partition
# batches, many requests in flight) next to the DataStax Python driver
# writing the same tick rows with execute_concurrent_with_args and a prepared
# INSERT, to the same server in the same run. Prints medians.
#
# The test server is single-threaded Python: it is the bottleneck for both
# clients, so these numbers compare clients against one slow server, not
# what a Cassandra cluster would take. Use a release build (not sanitizers).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$here/../build}
frames_n=${2:-40000}
repeat=${3:-3}
work=$(mktemp -d /tmp/tp_bench_cql.XXXXXX)
srv=
cleanup() { [ -n "$srv" ] && kill "$srv" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

/usr/bin/python3 "$here/../tests/integration/cql_server.py" --port-file "$work/ports.json" &
srv=$!
for _ in $(seq 200); do [ -s "$work/ports.json" ] && break; sleep 0.05; done
[ -s "$work/ports.json" ] || { echo "cql_server did not start" >&2; exit 1; }
port=$(/usr/bin/python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['nodes'][0])" "$work/ports.json")
ctl=$(/usr/bin/python3 -c "import json,sys;print(json.load(open(sys.argv[1]))['control'])" "$work/ports.json")
stat() { /usr/bin/python3 -c "
import json,socket,sys
s=socket.create_connection(('127.0.0.1',int(sys.argv[1])));s.sendall(b'stats\n')
print(json.loads(s.makefile().readline())[sys.argv[2]])" "$ctl" "$1"; }

"$build/bench/gen_frames" --count "$frames_n" --symbols 20 --seed 5 --out "$work/frames.txt" >/dev/null
echo "frames=$frames_n repeat=$repeat server=cql_server.py (python, single thread)"
tp_rates=() tp_total=() inflight=()
for i in $(seq "$repeat"); do
  before=$(stat rows_written)
  t0=$(date +%s.%N)
  "$build/tickpipe" run --source "replay:$work/frames.txt" --store "cassandra://127.0.0.1:$port/tp_$i" \
    --bars 1m --deadletter "$work/dl.jsonl" --log-level info 2> "$work/run.err"
  t1=$(date +%s.%N)
  after=$(stat rows_written)
  ticks=$(grep -o 'applied=[0-9]*' "$work/run.err" | cut -d= -f2)
  mif=$(grep -o 'max_in_flight=[0-9]*' "$work/run.err" | cut -d= -f2)
  reqs=$(grep -o ' requests=[0-9]*' "$work/run.err" | cut -d= -f2)
  r=$(echo "$ticks / ($t1 - $t0)" | bc -l); tot=$(echo "($after - $before) / ($t1 - $t0)" | bc -l)
  printf 'tickpipe run %d: %d ticks in %.2f s = %.0f tick rows/s (%.0f rows/s incl. bars, latest, state; %.0f requests/s), max in flight %d\n' \
    "$i" "$ticks" "$(echo "$t1 - $t0" | bc -l)" "$r" "$tot" "$(echo "$reqs / ($t1 - $t0)" | bc -l)" "$mif"
  tp_rates+=("$r"); tp_total+=("$tot"); inflight+=("$mif")
done
py_rates=()
while read -r line; do
  r=$(echo "$line" | /usr/bin/python3 -c "import json,sys;print(json.load(sys.stdin)['rows_per_s'])")
  printf 'python driver: %s\n' "$line"
  py_rates+=("$r")
done < <(/usr/bin/python3 "$here/bench_cql_driver.py" "$port" tp_1 py "$repeat" 2>/dev/null)
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
tpm=$(median "${tp_rates[@]}"); pym=$(median "${py_rates[@]}")
printf 'median: tickpipe %.0f tick rows/s (%.0f rows/s all tables), max in flight %s; python driver %.0f rows/s; ratio %.2f\n' \
  "$tpm" "$(median "${tp_total[@]}")" "$(median "${inflight[@]}")" "$pym" "$(echo "$tpm / $pym" | bc -l)"
echo "server max responses per read (in flight seen by server): $(stat max_in_flight)"
