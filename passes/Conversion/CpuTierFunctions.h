//===- CpuTierFunctions.h - Functions resolved per CPU tier -----*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Lowering is the same for every CPU tier; where the best code depends on
// the instructions a tier has, the IR calls one of these functions, which
// nova-declare-cpu-tier-functions declares and LLVM IR emission defines for
// each tier's copy of the code (defineCpuTierFunctions, passes/Pipelines),
// before it is optimized: every call is inlined and folded there.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_CONVERSION_CPUTIERFUNCTIONS_H
#define NOVA_PASSES_CONVERSION_CPUTIERFUNCTIONS_H

#include "llvm/ADT/StringRef.h"

namespace mlir::nova {

/// () -> i1: whether the tier has AVX512-BF16 (vdpbf16ps).
inline constexpr llvm::StringLiteral kCpuHasBf16Dot = "__nova_cpu_has_bf16_dot";

/// (acc: vector<16xf32>, x: vector<16xi32>, w: vector<16xi32>) ->
/// vector<16xf32>: per lane, with hi(v) and lo(v) the bf16 halves of v,
///     acc = fma(hi(x), hi(w), acc);  acc = fma(lo(x), lo(w), acc)
/// vdpbf16ps on a tier that has it (which equals this unless an operand,
/// product or sum is subnormal), the two FMAs elsewhere.
inline constexpr llvm::StringLiteral kCpuDotBf16Pairs =
    "__nova_cpu_dot_bf16_pairs";

} // namespace mlir::nova

#endif // NOVA_PASSES_CONVERSION_CPUTIERFUNCTIONS_H
