#!/usr/bin/env bash
# Installs the Debian 12 packages tickpipe builds, tests and benchmarks with.
# Run as root (or with sudo). Safe to run again.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (sudo $0)" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config clang libclang-rt-14-dev \
  librdkafka-dev libwebsockets-dev libjansson-dev libsqlite3-dev libssl-dev \
  sqlite3 openssl kcat procps bc \
  python3 python3-protobuf python3-websockets python3-cassandra python3-confluent-kafka \
  python3-prometheus-client nodejs npm chromium \
  >/dev/null
echo "install-deps.sh: done"
