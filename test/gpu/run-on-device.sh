#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Runs on the GPU machine (CUDA driver and PyTorch, no LLVM) what
# test/gpu/prepare-device-run.sh built here; prints one line per check and
# "N passed, N failed" last. Exit status 0 only when every check passed.
set -uo pipefail
cd "$(dirname "$0")"
passed=0
failed=0
check() {
  local name=$1
  shift
  echo "== $name: $*"
  if "$@"; then
    passed=$((passed + 1))
    echo "-- $name: passed"
  else
    failed=$((failed + 1))
    echo "-- $name: FAILED"
  fi
}
date -u +'%Y-%m-%dT%H:%M:%SZ'
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv || true
# A compiled CUDA object (elementwise + quantized matmul kernels, managed
# buffers, Nova's launch runtime) against exactly known results.
check small-check ./small-check
# The driver accepts grok1-small's kernels (cubin for sm_90a, and the PTX
# JIT-compiled by the driver) and has every kernel the host code launches.
check grok1-small-cubin python3 load-module.py grok1-small.cubin
check grok1-small-ptx python3 load-module.py grok1-small.ptx
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
