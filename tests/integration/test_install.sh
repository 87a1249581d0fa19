#!/usr/bin/env bash
# cmake --install into a fresh prefix: the binary, the man page, the example
# config and the systemd unit land where they should; the installed binary
# runs; the man page renders without warnings and documents, in each
# command's section, every option that command's --help prints; the example
# config is valid for every command; the unit passes systemd-analyze verify
# (when systemd-analyze is installed).
set -uo pipefail
TP_BUILD=${TP_BUILD:?} TP_SRC=${TP_SRC:?}
work=$(mktemp -d /tmp/tp_install.XXXXXX)
trap 'rm -rf "$work"' EXIT
passed=0 failed=0
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }
cmds="run ingest process query record feed"

prefix=$work/usr
if cmake --install "$TP_BUILD" --prefix "$prefix" >"$work/install.log" 2>&1; then ok
else fail "cmake --install"; cat "$work/install.log" >&2; fi
bin=$prefix/bin/tickpipe page=$prefix/share/man/man1/tickpipe.1
conf=$prefix/share/doc/tickpipe/examples/tickpipe.conf unit=$prefix/lib/systemd/system/tickpipe@.service
for f in "$bin" "$page" "$conf" "$unit"; do [ -f "$f" ] && ok || fail "not installed: $f"; done
[ -x "$bin" ] && ok || fail "$bin is not executable"
grep -qx "ExecStart=$bin %i --config /etc/tickpipe/tickpipe.conf" "$unit" && ok \
  || fail "unit ExecStart: $(grep ExecStart "$unit")"

# The installed binary runs, and the example config suits every command.
for cmd in $cmds; do
  "$bin" "$cmd" --help >"$work/help.$cmd" 2>&1 && grep -q "usage: tickpipe $cmd" "$work/help.$cmd" && ok \
    || fail "installed $cmd --help"
  out=$("$bin" "$cmd" --config "$conf" --print-config 2>&1) && ok || fail "example config for $cmd: $out"
done

# The man page renders cleanly...
warn=$(groff -man -Tascii -ww -z "$page" 2>&1)
[ -z "$warn" ] && ok || fail "groff warnings: $warn"
if command -v man >/dev/null; then
  MANWIDTH=200 LANG=C man -l "$page" 2>"$work/man.err" | col -bx >"$work/man.txt"
else
  groff -man -Tascii -P-c -P-b -P-u "$page" >"$work/man.txt" 2>"$work/man.err"
fi
[ -s "$work/man.txt" ] && [ ! -s "$work/man.err" ] && ok || fail "man -l: $(cat "$work/man.err")"
# ...and documents each command's options in that command's section.
section() { # section TITLE: the lines of one subsection of the rendered page
  awk -v t="$1" '$0 == "   " t { on = 1; next } on && /^([^ ]|   [^ ])/ { on = 0 } on' "$work/man.txt"
}
section "Options of every command" >"$work/sec.common"
for cmd in $cmds; do
  section "$cmd" >"$work/sec.$cmd"
  [ -s "$work/sec.$cmd" ] || fail "man page has no section for $cmd"
  for opt in $(grep -o '^  --[a-z0-9-]*' "$work/help.$cmd" | sed 's/^  //'); do
    case $opt in --config|--print-config|--help) sec=common ;; *) sec=$cmd ;; esac
    grep -Eq "^ +$opt( |\$)" "$work/sec.$sec" && ok || fail "man page: $cmd $opt is not documented"
  done
done

# The unit, as systemd reads it.
if command -v systemd-analyze >/dev/null; then
  mkdir -p "$work/units"
  cp "$unit" "$work/units/tickpipe@run.service"
  out=$(MANPATH=$prefix/share/man systemd-analyze verify "$work/units/tickpipe@run.service" 2>&1); rc=$?
  [ "$rc" -eq 0 ] && [ -z "$out" ] && ok || fail "systemd-analyze verify: $rc $out"
else
  echo "test_install: systemd-analyze not installed; unit not verified" >&2
fi

echo "test_install: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
