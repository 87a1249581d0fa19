#!/usr/bin/env bash
# Every exported symbol of the library starts with tp_ (scripts/check-symbols.sh),
# and the checker itself catches a planted function without the prefix.
set -euo pipefail
check=${TP_SRC:?}/scripts/check-symbols.sh
lib=${TP_BUILD:?}/libtickpipe_lib.a
bash "$check" "$lib"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf 'int tp_fine(void) { return 0; }\nint kv_leak(void) { return 1; }\n' > "$tmp/planted.c"
cc -c -o "$tmp/planted.o" "$tmp/planted.c"
cp "$lib" "$tmp/lib.a"; ar r "$tmp/lib.a" "$tmp/planted.o" 2>/dev/null
if out=$(bash "$check" "$tmp/lib.a" 2>&1); then
  echo "test_symbols: check-symbols.sh missed kv_leak" >&2; exit 1
fi
case $out in
  *kv_leak*) ;;
  *) echo "test_symbols: the breach report does not name kv_leak: $out" >&2; exit 1 ;;
esac
case $out in
  *tp_fine*) echo "test_symbols: tp_fine was reported: $out" >&2; exit 1 ;;
esac
# Something that is not an archive (a build directory) is an error, not a pass.
rc=0; bash "$check" "$TP_BUILD" 2>/dev/null || rc=$?
if [ "$rc" != 2 ]; then
  echo "test_symbols: check-symbols.sh on a directory exited $rc, want 2" >&2; exit 1
fi
echo "test_symbols: ok"
