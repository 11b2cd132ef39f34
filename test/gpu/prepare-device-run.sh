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
# The slot adapter (MoE routing, expert matmuls, rms_norm, sampling) from
# the installed package with CUDA kernels, and the interpreter's tokens for
# the inputs the application uses (written by its CPU build here).
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" > "$work/install.log"
app=$root/examples/slot-adapter/app
for target in cuda cpu; do
  cmake -S "$app" -B "$work/$target" -G Ninja -DCMAKE_PREFIX_PATH="$work/prefix" \
    -DSLOT_ADAPTER_TARGET=$target > "$work/$target.log"
  cmake --build "$work/$target" >> "$work/$target.log"
done
cp "$work/cuda/slot-adapter-app" slot-adapter-cuda
model=$root/examples/slot-adapter/model.yaml
"$build/bin/nova-run" "$model" --random-params adapter.safetensors --seed 3 > /dev/null
mkdir -p "$work/in"
"$work/cpu/slot-adapter-app" adapter.safetensors 42 "$work/in" > cpu-tokens.txt 2> /dev/null
"$build/bin/nova-run" "$model" --backend interp --params adapter.safetensors \
  --input hidden="$work/in/hidden.npy" --input mask="$work/in/mask.npy" \
  --input temperature="$work/in/temperature.npy" --input top_p=0.9 \
  --input seed=42 --input step=0 | grep -E '^(token|prob) =' > expected-tokens.txt
cmp cpu-tokens.txt expected-tokens.txt
cp "$root/test/gpu/run-on-device.sh" "$root/test/gpu/load-module.py" .
echo "prepare-device-run: $(ls | wc -l) files in $out"
