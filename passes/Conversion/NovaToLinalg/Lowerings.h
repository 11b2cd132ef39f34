//===- Lowerings.h - Shared pieces of the Nova-to-linalg lowering -*- C++ -*-=//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_CONVERSION_NOVATOLINALG_LOWERINGS_H
#define NOVA_PASSES_CONVERSION_NOVATOLINALG_LOWERINGS_H

#include "passes/Conversion/NovaToLinalg/KernelBuilder.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::nova {

RankedTensorType tensorTypeOf(Value v);

/// The body of a linalg.generic: block arguments in, yielded value out.
using GenericBody = function_ref<Value(KernelBuilder &, ValueRange)>;

/// A one-result linalg.generic on tensors.
Value buildGeneric(OpBuilder &b, Location loc, RankedTensorType resultType,
                   ValueRange inputs, Value init, ArrayRef<AffineMap> maps,
                   ArrayRef<utils::IteratorType> iterators, GenericBody body);

/// round_S(int8 · scale) as an f32 value: the dequantized weight element of
/// §1.3, with S the scale's element type.
/// `scale` may already be widened to f32, with `scaleType` its type in the
/// IR (the type the product is rounded to).
Value dequantizeScalar(KernelBuilder &kb, Value q, Value scale,
                       Type scaleType = Type());

/// Lowerings with data-dependent loops: moe_route, attention, sample.
void populateNovaLoopKernelPatterns(TypeConverter &converter,
                                    RewritePatternSet &patterns);

} // namespace mlir::nova

#endif // NOVA_PASSES_CONVERSION_NOVATOLINALG_LOWERINGS_H
