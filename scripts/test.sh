#!/usr/bin/env bash
# Builds tickpipe with warnings as errors and runs the whole test suite
# (unit, stage and integration tiers). Usage: scripts/test.sh [BUILD_DIR] [extra cmake args]
# TP_CTEST_ARGS adds ctest arguments, e.g. TP_CTEST_ARGS="-LE soak" leaves out the long soaks;
# TP_CTEST_JOBS (default 2) is how many tests run at once.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
cmake -S . -B "$build" -DTP_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"${TP_CTEST_JOBS:-2}" --timeout 900 ${TP_CTEST_ARGS:-}
