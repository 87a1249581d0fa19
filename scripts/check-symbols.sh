#!/usr/bin/env bash
# Checks the naming rule of STYLE.md 3: every symbol the library exports
# starts with tp_ (functions, variables) or TP_ (constants); everything else
# is static. Compiler-made symbols (__asan_*, __odr_*...) are not ours.
# Usage: scripts/check-symbols.sh LIBRARY.a. Exit 1 with one line per breach.
set -euo pipefail
lib=${1:?usage: check-symbols.sh LIBRARY.a}
[ -f "$lib" ] && [ -r "$lib" ] || { echo "check-symbols: cannot read $lib (want the library archive)" >&2; exit 2; }
syms=$(nm -g --defined-only "$lib") || { echo "check-symbols: nm cannot read $lib" >&2; exit 2; }
bad=$(awk 'NF == 3 { print $3 }' <<< "$syms" | grep -vE '^(tp_|TP_|__)' | sort -u || true)
[ -z "$bad" ] && exit 0
while IFS= read -r s; do
  echo "symbols: $s is exported without the tp_ prefix (make it static or rename it)" >&2
done <<< "$bad"
exit 1
