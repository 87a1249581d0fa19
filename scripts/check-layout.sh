#!/usr/bin/env bash
# Checks the layout rules of README's "Layout" section: data flows one way.
#   - codec depends on core only; cql (the protocol client) on core only;
#   - process and sink never include source (process writes into sink);
#     cql never includes sink;
#   - pipeline (the loops driving the stages) may use every stage, never cli;
#   - nothing below src/ includes the commands (src/cli/);
#   - no .c file is left at the top of src/ (commands live in src/cli/).
# Usage: scripts/check-layout.sh [SRC_DIR]. Exit 1 with one line per breach.
set -euo pipefail
src=${1:-"$(dirname "$0")/../src"}
bad=0
breach() { echo "layout: $1" >&2; bad=1; }
includes() {  # folder -> "file:included-folder" for each quoted include of ../X/
  grep -HoE '^#[[:space:]]*include[[:space:]]+"\.\./[a-z_]+/' "$src/$1"/*.[ch] 2>/dev/null |
    sed -E 's#^([^:]+):.*"\.\./([a-z_]+)/#\1:\2#'
}
allow() {  # folder, allowed include folders...
  local dir=$1; shift
  local line f to ok a
  while IFS= read -r line; do
    f=${line%%:*}; to=${line##*:}; ok=0
    for a in "$@"; do [ "$to" = "$a" ] && ok=1; done
    [ $ok = 1 ] || breach "${f#"$src"/} includes src/$to/ (src/$dir/ may use: $*)"
  done < <(includes "$dir")
}
allow core
allow codec core
allow cql core
allow bus core codec
allow source core codec
allow process core codec sink
allow sink core codec cql
allow feed core codec source
allow http core codec sink process
allow pipeline core codec bus source process sink
for f in "$src"/*.c "$src"/*.h; do
  [ -e "$f" ] && breach "${f#"$src"/} sits at the top of src/ (commands belong in src/cli/)"
done
exit $bad
