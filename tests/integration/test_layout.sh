#!/usr/bin/env bash
# The source tree keeps the layout README describes (scripts/check-layout.sh),
# and the checker itself catches a planted breach of each kind. No function
# in src/cli/ (commands: options and wiring) or src/pipeline/ is over 60
# lines (scripts/check-function-length.sh), and that checker catches one.
set -euo pipefail
src=${TP_SRC:?}/src
check=${TP_SRC}/scripts/check-layout.sh
bash "$check" "$src"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
plant() {  # folder file include: a copy of src with one bad include must fail
  rm -rf "$tmp/src"; cp -r "$src" "$tmp/src"
  echo "#include \"$3\"" >> "$tmp/src/$1/$2"
  if bash "$check" "$tmp/src" 2>/dev/null; then
    echo "test_layout: check-layout.sh missed $1/$2 including $3" >&2; exit 1
  fi
}
plant sink jsonl.c ../source/tp_source.h
plant process processor.c ../source/tp_source.h
plant cql cql_wire.c ../sink/tp_store.h
plant codec decode.c ../source/tp_source.h
plant pipeline kafka_process.c ../cli/tp_cmd.h
rm -rf "$tmp/src"; cp -r "$src" "$tmp/src"; touch "$tmp/src/cmd_x.c"
if bash "$check" "$tmp/src" 2>/dev/null; then
  echo "test_layout: a command at the top of src/ was not caught" >&2; exit 1
fi
lengths=${TP_SRC}/scripts/check-function-length.sh
bash "$lengths" "$src/cli" "$src/pipeline"
{ echo "static int long_one(void) {"; for i in $(seq 61); do echo "    (void)$i;"; done
  echo "    return 0;"; echo "}"; } > "$tmp/long.c"
if bash "$lengths" "$tmp/long.c" >/dev/null; then
  echo "test_layout: check-function-length.sh missed a 62-line function" >&2; exit 1
fi
echo "test_layout: ok"
