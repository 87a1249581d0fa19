#!/usr/bin/env bash
# Builds tickpipe with warnings as errors and runs the whole test suite
# (unit, stage and integration tiers). Usage: scripts/test.sh [BUILD_DIR] [extra cmake args]
# TP_CTEST_ARGS adds ctest arguments, e.g. TP_CTEST_ARGS="-LE soak" leaves out the long soaks.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
cmake -S . -B "$build" -DTP_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j2 --timeout 900 ${TP_CTEST_ARGS:-}
