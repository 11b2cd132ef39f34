#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Builds, on a machine with LLVM (this one), everything test/gpu/run-on-device.sh
# runs on a GPU machine that has only a CUDA driver (no LLVM, no Nova build):
# statically linked check programs and the device binaries. Usage:
#
#   bash test/gpu/prepare-device-run.sh [OUT]     (default build/gpu-bundle)
#
# then, through the device tool, carrying OUT:
#
#   bash build/gpu-bundle/run-on-device.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${NOVA_BUILD_DIR:-$root/build}
out=${1:-$build/gpu-bundle}
nova_opt=$build/bin/nova-opt
for f in "$nova_opt" "$build/lib/libNovaRuntimeCuda.a" "$build/lib/libNovaRuntime.a"; do
  [[ -e $f ]] || { echo "prepare-device-run: $f is missing: build Nova first (bash scripts/build.sh)" >&2; exit 1; }
done
rm -rf "$out"
mkdir -p "$out"
cd "$out"
inputs=$root/test/Integration/CUDA/Inputs
"$nova_opt" "$inputs/small.mlir" --target=cuda --emit=obj -o small.o --emit-header=small.h
cc -O2 -I. -I"$root/runtime/include" "$inputs/small-check.c" small.o \
  "$build/lib/libNovaRuntimeCuda.a" "$build/lib/libNovaRuntime.a" \
  -ldl -static-libstdc++ -lstdc++ -lm -o small-check
for kind in ptx cubin; do
  "$nova_opt" "$root/examples/grok1-small/model.yaml" --emit=$kind -o grok1-small.$kind
done
cp "$root/test/gpu/run-on-device.sh" "$root/test/gpu/load-module.py" .
echo "prepare-device-run: $(ls | wc -l) files in $out"
