#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Installs every system package Nova needs to build and test on Debian 12 (bookworm).
# Idempotent: packages already present are left alone; apt-get runs only when one is missing.
set -euo pipefail

packages=(
  # Toolchain: LLVM/MLIR 22 (bookworm-security), clang + lld, CMake + Ninja.
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 lld-22 libclang-rt-22-dev libomp-22-dev libdnnl-dev libopenblas-dev
  cmake ninja-build python3
  # The installed-package test builds a user application with CMake and with
  # make + pkg-config.
  make pkg-config
  # Sharded execution: MPICH (mpirun.mpich, libmpich.so.12; no headers needed).
  mpich
  # Spec import (RE2: linear-time partition-rule regexes), unit tests, benchmarks.
  libyaml-cpp-dev libre2-dev libgtest-dev libgmock-dev libbenchmark-dev
  # zlib/zstd/xml are link-time deps advertised by Debian's LLVM CMake config.
  zlib1g-dev libzstd-dev libxml2-dev libedit-dev libcurl4-openssl-dev libffi-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "bootstrap: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "bootstrap: done"
