#!/usr/bin/env bash
# --http at the command line: a bad address is bad usage (exit 2, naming
# --http); a port already taken is a runtime error (exit 1); a bare port
# binds 127.0.0.1 only; [::1]:0 binds IPv6 loopback; --help lists the
# options of run and process; a finite replay with --http still ends by
# itself with its summary line.
set -uo pipefail
bin=${TP_BIN:?}
work=$(mktemp -d /tmp/tp_http_cli.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
expect() { # expect STATUS NEEDLE -- ARGS...
  local want=$1 needle=$2; shift 3
  local out rc
  out=$(cd "$work" && timeout 30 "$bin" "$@" 2>&1 >/dev/null); rc=$?
  if [ "$rc" -eq "$want" ] && [[ $out == *"$needle"* ]]; then ok
  else bad "tickpipe $* -> $rc '$out' (want $want, '$needle')"; fi
}
wait_port() { # wait_port ERRFILE: the port of 'serving http on port N', within 10 s
  for _ in $(seq 100); do
    local p
    p=$(sed -n 's/.*serving http on port \([0-9]*\).*/\1/p' "$1")
    [ -n "$p" ] && { echo "$p"; return 0; }
    sleep 0.1
  done
  return 1
}
expect 2 "--http nohost::: expected PORT, HOST:PORT" -- run --source sim:count=1 --http nohost:: --store "sqlite:$work/a.db"
expect 2 "--http 99999" -- run --source sim:count=1 --http 99999 --store "sqlite:$work/a.db"
expect 2 "localhost is not an IP address" -- run --source sim:count=1 --http localhost:0 --store "sqlite:$work/a.db"
expect 2 "--http x" -- process --kafka 127.0.0.1:1 --store "sqlite:$work/p.db" --http x
for cmd in run process; do
  if "$bin" $cmd --help | grep -q -- "--http ADDR"; then ok; else bad "$cmd --help lists no --http"; fi
done

# a live run holding a port; a second one on the same port fails with exit 1
: >"$work/one.err"
"$bin" run --source sim:rate=20,symbols=2 --store "sqlite:$work/one.db" --deadletter "$work/dl1" \
  --http 0 2>"$work/one.err" &
pids+=($!)
if port=$(wait_port "$work/one.err"); then
  ok
  expect 1 "cannot listen" -- run --source sim:count=1 --store "sqlite:$work/two.db" --http "127.0.0.1:$port"
  if curl -sf "http://127.0.0.1:$port/healthz" | grep -q ok; then ok; else bad "bare port: no /healthz on 127.0.0.1"; fi
  # connections that close before sending a request (browsers preconnect)
  for _ in 1 2 3 4 5; do exec 5<>"/dev/tcp/127.0.0.1/$port"; exec 5>&-; done
  for _ in 1 2 3 4 5; do exec 5<>"/dev/tcp/127.0.0.1/$port"; printf 'GET /metr' >&5; exec 5>&-; done
  if curl -sf "http://127.0.0.1:$port/healthz" | grep -q ok; then ok; else bad "the server died after idle connections closed"; fi
  lan=$(hostname -I 2>/dev/null | awk '{print $1}')
  if [ -n "$lan" ] && [ "$lan" != 127.0.0.1 ]; then
    if curl -s -m 2 "http://$lan:$port/healthz" >/dev/null; then bad "bare port also listens on $lan"; else ok; fi
  fi
else
  bad "no 'serving http' line: $(cat "$work/one.err")"
fi

# IPv6 loopback
: >"$work/six.err"
"$bin" run --source sim:rate=20,symbols=2 --store "sqlite:$work/six.db" --deadletter "$work/dl6" \
  --http '[::1]:0' 2>"$work/six.err" &
pids+=($!)
if port=$(wait_port "$work/six.err") && curl -sf -g "http://[::1]:$port/healthz" | grep -q ok; then ok
else bad "[::1]:0: $(cat "$work/six.err")"; fi

# a finite replay ends by itself with --http on
"$bin" record --source sim:count=300,symbols=3 --out "$work/rec.txt" 2>/dev/null
if timeout 30 "$bin" run --source "replay:$work/rec.txt" --store "sqlite:$work/r.db" --deadletter "$work/dlr" \
     --http 0 2>"$work/r.err" && grep -q "tickpipe: done frames=300 " "$work/r.err"; then ok
else bad "replay with --http: $(cat "$work/r.err")"; fi

echo "test_http_cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
