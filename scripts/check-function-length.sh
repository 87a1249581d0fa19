#!/usr/bin/env bash
# Lists functions whose body is longer than a limit (STYLE.md habit 10:
# rare ones over 60 lines). A function here starts at a top-level line
# ending in ") {" and ends at the next line that is exactly "}"; its body
# lines are the lines in between (blank and comment lines included).
# Usage: scripts/check-function-length.sh [-n LIMIT] FILE_OR_DIR...
# Prints "path:line: name: N lines" per breach; exit 1 when there is any.
set -euo pipefail
limit=60
if [ "${1:-}" = -n ]; then limit=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: $0 [-n LIMIT] FILE_OR_DIR..." >&2; exit 2; }
files=$(find "$@" -name '*.c' | sort)
[ -n "$files" ] || exit 0
# shellcheck disable=SC2086
awk -v limit="$limit" '
    FNR == 1 { infn = 0; sig = "" }
    !infn && /^[A-Za-z_].*\(/ { sig = $0; sigline = FNR }
    !infn && /\)[[:space:]]*\{[[:space:]]*$/ && sig != "" {
        infn = 1; start = FNR
        name = sig; sub(/\(.*/, "", name); sub(/.*[ *]/, "", name)
        next
    }
    infn && /^}[[:space:]]*$/ {
        infn = 0; n = FNR - start - 1; sig = ""
        if (n > limit) { printf "%s:%d: %s: %d lines\n", FILENAME, sigline, name, n; bad = 1 }
    }
    END { exit bad }
' $files
