//===- Passes.h - Nova conversion passes ------------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_CONVERSION_PASSES_H
#define NOVA_PASSES_CONVERSION_PASSES_H

#include "dialect/NovaDialect.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::nova {

#define GEN_PASS_DECL
#include "passes/Conversion/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Conversion/Passes.h.inc"

/// Patterns lowering Nova compute ops to linalg/tensor/arith/math/scf. The
/// schedule (column tiles, when to run on threads) depends only on
/// `options`, whose defaults are fixed: the same IR gives the same code on
/// any machine. Requires `options.parallelTiles >= 1`.
void populateNovaToLinalgConversionPatterns(
    TypeConverter &converter, RewritePatternSet &patterns,
    const ConvertNovaToLinalgPassOptions &options = {});

} // namespace mlir::nova

#endif // NOVA_PASSES_CONVERSION_PASSES_H
