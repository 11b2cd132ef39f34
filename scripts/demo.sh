#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Nova's main job on the bundled examples, from a fresh Debian 12 machine:
# installs what is needed, builds, then
#   1. imports the full Grok-1 spec, shards its 770 parameters with Grok-1's
#      partition rules and prints a summary of the sharding report;
#   2. compiles the small Grok-shaped model to CPU kernels and runs it end to
#      end: a random int8 checkpoint, a prompt of token ids, a prefill and
#      decode steps, each call checked against the reference interpreter,
#      the sampled tokens and the time per decode step (then the interpreter
#      alone, for comparison).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${NOVA_BUILD_DIR:-$root/build}"
# The first build takes a few minutes on 2 cores: show ninja's progress.
echo "== building nova-opt, nova-run and nova-ckpt (build/bin/) =="
# (ninja's [n/N] lines, bootstrap's and any error; pipefail keeps the
# build's exit status)
bash "$root/scripts/build.sh" nova-opt nova-run nova-ckpt 2>&1 |
  awk '/^\[[0-9]+\/[0-9]+\]|^bootstrap|error|FAILED/ { print; fflush() }' 
bin="$build/bin"
work="$build/demo"
mkdir -p "$work"

echo "== Grok-1: import, verify, shard (examples/grok1) =="
start=$EPOCHREALTIME
"$bin/nova-opt" "$root/examples/grok1/model.yaml" \
  --rules "$root/examples/grok1/rules.yaml" --explain-sharding \
  -o "$work/grok1.mlir" 2>/dev/null > "$work/grok1-sharding.tsv"
end=$EPOCHREALTIME
awk -F'\t' '/decoder_layer_0\/|^language_model/ {
  sub(/ \(.*/, "", $2); printf "%-58s %-8s %-28s %12d\n", $1, $2, $3, $4 }' \
  "$work/grok1-sharding.tsv"
tail -1 "$work/grok1-sharding.tsv"
awk -v s="$start" -v e="$end" -v ir="$work/grok1.mlir" \
  -v report="$work/grok1-sharding.tsv" \
  'BEGIN { printf "imported and sharded in %.2f s; IR in %s, report in %s\n", e - s, ir, report }'

echo
echo "== grok1-small compiled to CPU kernels, checked against the interpreter (examples/grok1-small) =="
model="$root/examples/grok1-small/model.yaml"
"$bin/nova-run" "$model" --random-params "$work/grok1-small.safetensors" --seed 1
echo "(random weights: the sampled tokens below show the machinery, not a trained model)"
# Every call also runs on the interpreter with the same inputs: tokens must be
# identical, other outputs within the whole-model budget (docs/tolerance.md).
"$bin/nova-run" "$model" --params "$work/grok1-small.safetensors" \
  --generate 12 --prompt 1,2,3,4,5,6,7,8 --seed 42 --temperature 0.8 --top-p 0.95 \
  --backend cpu --check interp
echo
echo "== the same on the reference interpreter alone =="
"$bin/nova-run" "$model" --params "$work/grok1-small.safetensors" \
  --generate 12 --prompt 1,2,3,4,5,6,7,8 --seed 42 --temperature 0.8 --top-p 0.95
