//===- Passes.h - Nova conversion passes ------------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_CONVERSION_PASSES_H
#define NOVA_PASSES_CONVERSION_PASSES_H

#include "dialect/NovaDialect.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::nova {

#define GEN_PASS_DECL
#include "passes/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Conversion/Passes.h.inc"

/// Patterns lowering Nova compute ops to linalg/tensor/arith/math/scf.
/// `parallelTiles`: column tiles per large contraction (0: the host's
/// hardware threads, at least 2).
void populateNovaToLinalgConversionPatterns(TypeConverter &converter,
                                            RewritePatternSet &patterns,
                                            int64_t parallelTiles = 0);

} // namespace mlir::nova

#endif // NOVA_PASSES_CONVERSION_PASSES_H
