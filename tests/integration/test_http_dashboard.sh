#!/usr/bin/env bash
# The dashboard end to end: `run --source sim --http 127.0.0.1:0` and
# headless Chromium (playwright-core from npm, built into build/web-npm)
# sees the quote table fill and candles draw and update, then saves a
# screenshot (TP_SCREENSHOT, default in the temp dir). Needs npm, node and
# chromium: fails, never skips, when they are missing.
set -euo pipefail
bin=${TP_BIN:?} build=${TP_BUILD:?} src=${TP_SRC:?}
fail() { echo "test_http_dashboard: FAIL: $*" >&2; exit 1; }
command -v node >/dev/null || fail "node is missing (scripts/install-deps.sh installs nodejs and npm)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "chromium is missing (scripts/install-deps.sh installs it)"
[ -d "$build/web-npm/node_modules/playwright-core" ] ||
  fail "playwright-core is missing from $build/web-npm (npm was not found when building: install npm, rebuild)"
[ -f "$build/web/lightweight-charts.js" ] || fail "$build/web/lightweight-charts.js was not built"

dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
: >"$dir/err"
"$bin" run --source sim:rate=60,symbols=6,seed=7 --bars 1s,1m --store "sqlite:$dir/t.db" \
  --deadletter "$dir/dl.jsonl" --http 127.0.0.1:0 --web-root "$build/web" 2>"$dir/err" &
pid=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/.*serving http on port \([0-9]*\).*/\1/p' "$dir/err")
  [ -n "$port" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/err" >&2; fail "tickpipe exited"; }
  sleep 0.1
done
[ -n "$port" ] || fail "no 'serving http' line within 10 s"
shot=${TP_SCREENSHOT:-$dir/dashboard.png}
NODE_PATH="$build/web-npm/node_modules" timeout 120 node "$src/tests/e2e/dashboard.cjs" \
  "http://127.0.0.1:$port/?interval=1s" "$shot" || fail "the dashboard did not fill and update"
[ -s "$shot" ] || fail "no screenshot"
kill -INT "$pid"
wait "$pid" || fail "tickpipe did not stop cleanly"
pid=
grep -q "tickpipe: stopped" "$dir/err" || fail "no summary line"
echo "test_http_dashboard: ok (screenshot $shot)"
