#!/usr/bin/env bash
# --config FILE through the real binary: a file gives the same store as the
# same flags; a flag overrides the file; an unknown key, a bad value and a bad
# line exit 2 naming the file, line and key; --print-config prints a config
# file that reads back to the same settings, for every subcommand.
set -uo pipefail
TP_BIN=${TP_BIN:?}
work=$(mktemp -d /tmp/tp_config.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
dump() { # dump DB: every stored row, in a fixed order
  for what in ticks bars latest; do "$TP_BIN" query --store "sqlite:$1" "$what" --format csv; done
}

# 1. The same run from flags and from a file (shared and command sections),
# on a recording (the sim source stamps ticks with the wall clock).
"$TP_BIN" record --source sim:count=3000,symbols=5,seed=7 --out rec.txt 2>/dev/null || fail "record"
"$TP_BIN" run --source replay:rec.txt --store sqlite:flags.db --bars 1m,5m \
  --lateness 2s --deadletter dl1.jsonl --batch 100 2>flags.err || fail "run with flags"
cat > run.ini <<'INI'
# tickpipe configuration
[tickpipe]
log-level = warn          ; shared by the commands that have it
bars = 1h                 ; run overrides it below; query has no --bars
store = sqlite:file.db

[run]
source = replay:rec.txt
bars = 1m,5m
lateness = 2s
deadletter = dl2.jsonl
    batch = 100           ; indented keys are keys

[query]
format = csv
INI
"$TP_BIN" run --config run.ini 2>file.err || fail "run --config"
if [ -s file.db ] && diff <(dump flags.db) <(dump file.db) >/dev/null && diff flags.err file.err >/dev/null; then ok
else fail "run --config gave another store or summary than the same flags"; fi
# query reads its [query] section and the shared store from the same file
if diff <("$TP_BIN" query --config run.ini latest) <("$TP_BIN" query --store sqlite:file.db latest) >/dev/null; then ok
else fail "query --config"; fi

# 2. A flag overrides the file.
"$TP_BIN" run --config run.ini --store sqlite:over.db --source sim:count=10,symbols=1,seed=1 2>over.err \
  || fail "run --config with flags"
n=$(sqlite3 over.db "SELECT count(*) FROM ticks")
if [ "$n" = 10 ] && grep -q "frames=10 " over.err; then ok; else fail "flags did not override the file ($n ticks)"; fi

# 3. Bad files: exit 2, message names file, line and key.
expect_bad() { # expect_bad NEEDLE CONTENT
  printf '%b' "$2" > bad.ini
  local out rc
  out=$("$TP_BIN" run --config bad.ini --source sim:count=1 --store sqlite:bad.db 2>&1 >/dev/null); rc=$?
  if [ "$rc" -eq 2 ] && [[ $out == *"$1"* ]]; then ok
  else fail "bad config '$2' -> $rc '$out' (want 2, '$1')"; fi
}
expect_bad "bad.ini:3: unknown key 'lateneess' in [run]" '[run]\nbars = 1m\nlateneess = 2s\n'
expect_bad "bad.ini:2: lateness = 2 weeks: not a duration" '[run]\nlateness = 2 weeks\n'
expect_bad "bad.ini:4: batch = 0: out of range" '[tickpipe]\nlog-level = info\n[run]\nbatch = 0\n'
expect_bad "bad.ini:2: not a '[section]' or 'key = value' line" '[run]\nlateness 2s\n'
expect_bad "bad.ini:1: unknown section [rnu]" '[rnu]\nbars = 1m\n'
expect_bad "bad.ini:2: unknown key 'latenes' in [tickpipe]" '[tickpipe]\nlatenes = 1s\n'
expect_bad "bad.ini:2: progress = sometimes: expected true or false" '[run]\nprogress = sometimes\n'
expect_bad "bad.ini:3: bars given twice in [run] (first on line 2)" '[run]\nbars = 1m\nbars = 5m\n'
if [ ! -e bad.db ]; then ok; else fail "a bad config file still ran"; fi
out=$("$TP_BIN" run --config missing.ini 2>&1); rc=$?
if [ "$rc" -eq 2 ] && [[ $out == *"missing.ini"* ]]; then ok; else fail "missing file -> $rc '$out'"; fi

# 4. --print-config round-trips for every subcommand, with a file and flags.
printf '[tickpipe]\nlog-level = info\n[process]\nkafka-conf = a.b=1\n[ingest]\nkafka-conf = c.d=2\n' > rt.ini
for cmd in run ingest process query record feed; do
  extra=()
  case $cmd in
    ingest) extra=(--source sim --kafka 127.0.0.1:1 --kafka-conf x.y=3 --timeout 90s) ;;
    process) extra=(--kafka 127.0.0.1:1 --store sqlite:p.db --commit-interval 1500ms --exit-at-end) ;;
    record) extra=(--out rec.txt --flush 30m) ;;
    query) extra=(--limit 5 --format json) ;;
    feed) extra=(--replay rec.txt --speed 0.1) ;;
    run) extra=(--lateness 90s --progress) ;;
  esac
  "$TP_BIN" "$cmd" --config rt.ini "${extra[@]}" --print-config > "p1.$cmd.ini"; rc=$?
  "$TP_BIN" "$cmd" --config "p1.$cmd.ini" --print-config > "p2.$cmd.ini"; rc2=$?
  if [ "$rc" -eq 0 ] && [ "$rc2" -eq 0 ] && grep -q "^\[$cmd\]" "p1.$cmd.ini" \
     && { [ "$cmd" = query ] || grep -q '^log-level = info$' "p1.$cmd.ini"; } && cmp -s "p1.$cmd.ini" "p2.$cmd.ini"; then ok
  else fail "$cmd --print-config does not round-trip"; diff "p1.$cmd.ini" "p2.$cmd.ini" >&2; fi
  # every option of --help is a key of the printed file
  for opt in $("$TP_BIN" "$cmd" --help | grep -o '^  --[a-z0-9-]*' | sed 's/^  --//'); do
    case $opt in config|print-config|help) continue ;; esac
    grep -Eq "^(; )?$opt =" "p1.$cmd.ini" || fail "$cmd --print-config lacks key $opt"
  done
done
grep -q '^lateness = 90s$' p1.run.ini && grep -q '^progress = true$' p1.run.ini && ok || fail "run flags in print-config"
if [ "$(grep -c '^kafka-conf = ' p1.ingest.ini)" = 2 ] && grep -q '^kafka-conf = c.d=2$' p1.ingest.ini \
   && grep -q '^timeout = 90s$' p1.ingest.ini; then ok; else fail "ingest list keys in print-config"; fi
grep -q '^commit-interval = 1500ms$' p1.process.ini && grep -q '^exit-at-end = true$' p1.process.ini \
  && grep -q '^kafka-conf = a.b=1$' p1.process.ini && ok || fail "process print-config"

# 5. Every option of every command is a key [tickpipe] may share
# (src/cli/opts.c known_key); a new option must be added there.
for cmd in run ingest process query record feed; do
  for opt in $("$TP_BIN" "$cmd" --help | grep -o '^  --[a-z0-9-]*' | sed 's/^  --//'); do
    case $opt in config|print-config|help) continue ;; esac
    printf '[tickpipe]\n%s = 1\n' "$opt" > shared.ini
    out=$("$TP_BIN" feed --config shared.ini --print-config 2>&1)
    [[ $out == *"unknown key"* ]] && fail "--$opt of $cmd is missing from known_key() in src/cli/opts.c"
  done
done
ok

echo "test_config: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
