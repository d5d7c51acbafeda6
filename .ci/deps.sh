#!/usr/bin/env bash
# Installs what cairn needs to build and test on Debian 12. Used by README.md and .ci/run.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config ca-certificates \
  librocksdb-dev libzstd-dev libssl-dev libcli11-dev nlohmann-json3-dev \
  libgtest-dev libgmock-dev libbenchmark-dev libkeyutils-dev python3 clang >/dev/null
# libFuzzer and the sanitizer runtimes for the fuzz targets (fuzz/): only recommended by clang.
$SUDO apt-get install -y -qq --no-install-recommends libclang-rt-dev >/dev/null
