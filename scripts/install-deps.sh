#!/usr/bin/env bash
# Installs the Debian 12 packages tickpipe builds, tests and benchmarks with.
# Run it as root or as a user who may sudo (it re-runs itself through sudo).
# Safe to run again.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    exec sudo -- "$0" "$@"
  fi
  echo "install-deps.sh: needs root to install Debian packages, and sudo is not installed: run it as root" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
# Node.js and npm build the dashboard's assets. A machine may already carry a
# Node.js that bundles npm (NodeSource's nodejs conflicts with Debian's npm),
# so ask apt for them only when the commands are missing.
node_pkgs=()
command -v node >/dev/null 2>&1 || node_pkgs+=(nodejs)
command -v npm >/dev/null 2>&1 || node_pkgs+=(npm)
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${node_pkgs[@]}" \
  build-essential cmake pkg-config clang libclang-rt-14-dev \
  librdkafka-dev libwebsockets-dev libjansson-dev libsqlite3-dev libssl-dev libinih-dev \
  sqlite3 openssl kcat procps bc groff-base man-db systemd \
  python3 python3-protobuf python3-websockets python3-cassandra python3-confluent-kafka python3-yaml \
  python3-prometheus-client chromium \
  >/dev/null
echo "install-deps.sh: done"
