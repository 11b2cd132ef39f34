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
# The slot adapter with CUDA kernels: the interpreter's tokens (computed on
# the machine that prepared the bundle) for the same checkpoint and inputs.
adapter() {
  local out
  out=$(mktemp -d)
  ./slot-adapter-cuda adapter.safetensors 42 "$out" > adapter-tokens.txt &&
    grep '^token =' adapter-tokens.txt | diff - <(grep '^token =' expected-tokens.txt) &&
    python3 - adapter-tokens.txt expected-tokens.txt <<'PY'
import re, sys
got, want = (dict(re.findall(r"^(\w+) = \S+ \[(.*)\]$", open(f).read(), re.M))
             for f in sys.argv[1:3])
g = [float(v) for v in got["prob"].split(",")]
w = [float(v) for v in want["prob"].split(",")]
bad = [(a, b) for a, b in zip(g, w) if abs(a - b) > 2 ** -7 * max(abs(b), 1e-30)]
print("tokens identical; probabilities", "identical" if g == w else
      f"within one bf16 ulp: {g} vs {w}" if not bad else f"differ: {bad}")
sys.exit(1 if bad else 0)
PY
}
check slot-adapter-tokens adapter
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
