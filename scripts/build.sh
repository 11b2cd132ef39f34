#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Installs the system packages (scripts/bootstrap.sh), configures and builds
# Nova in build/ (override with NOVA_BUILD_DIR). Extra arguments are passed
# to ninja as targets.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${NOVA_BUILD_DIR:-$root/build}"

bash "$root/scripts/bootstrap.sh"

llvm_prefix="$(llvm-config-22 --prefix)"
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR="$llvm_prefix/lib/cmake/mlir" \
    -DLLVM_EXTERNAL_LIT="$llvm_prefix/bin/lit" \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DLLVM_USE_LINKER=lld ${NOVA_CMAKE_ARGS:-}
fi
ninja -C "$build" "$@"
