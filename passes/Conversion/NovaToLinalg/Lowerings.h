//===- Lowerings.h - Shared pieces of the Nova-to-linalg lowering -*- C++ -*-=//
//
// SPDX-License-Identifier: Apache-2.0
//
// The lowering is one file per op family (QuantizeLowering.cpp,
// ContractionLowering.cpp, MoeLowering.cpp, AttentionLowering.cpp,
// SampleLowering.cpp, ElementwiseLowering.cpp); the quantized contractions
// share the row schedule of RowSchedule.h. This header holds what several
// families use and each family's populate function.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_CONVERSION_NOVATOLINALG_LOWERINGS_H
#define NOVA_PASSES_CONVERSION_NOVATOLINALG_LOWERINGS_H

#include "passes/Conversion/NovaToLinalg/KernelBuilder.h"
#include "passes/Conversion/Passes.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::nova {

/// The schedule constants of the lowering (the pass's options).
using ScheduleOptions = ConvertNovaToLinalgPassOptions;

//===----------------------------------------------------------------------===//
// IR helpers
//===----------------------------------------------------------------------===//

/// The ranked tensor type of `v`.
RankedTensorType tensorTypeOf(Value v);

/// The body of a linalg.generic: block arguments in, yielded value out.
using GenericBody = function_ref<Value(KernelBuilder &, ValueRange)>;

/// A one-result linalg.generic on tensors.
Value buildGeneric(OpBuilder &b, Location loc, RankedTensorType resultType,
                   ValueRange inputs, Value init, ArrayRef<AffineMap> maps,
                   ArrayRef<utils::IteratorType> iterators, GenericBody body);

/// A linalg.generic with only parallel iterators computing `resultType`
/// into a new tensor.empty.
Value buildElementwise(OpBuilder &b, Location loc, RankedTensorType resultType,
                       ValueRange inputs, ArrayRef<AffineMap> maps,
                       GenericBody body);

/// [[0, ..., rank - 2], [rank - 1]]: the reassociation folding every
/// leading dimension of a rank-`rank` tensor into one.
SmallVector<ReassociationIndices> collapseLeading(int64_t rank);

/// The map (d0, ..., dn-1) -> (dims...).
AffineMap projection(MLIRContext *ctx, unsigned numDims,
                     ArrayRef<unsigned> dims);

/// The dimensions begin, begin + 1, ..., end - 1.
SmallVector<unsigned> range(unsigned begin, unsigned end);

/// Map of a scales tensor [B..., G, C] for a weight [B..., K, N] whose batch
/// dims are `batch`, row dim `k` and column dim `n` in the iteration space.
AffineMap scalesMap(MLIRContext *ctx, unsigned numDims,
                    ArrayRef<unsigned> batch, unsigned k, unsigned n,
                    RankedTensorType weight, RankedTensorType scales);

/// A float tensor of `shape` holding `value` (an f32 accumulator init).
Value filledF32(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                double value);

/// Elementwise cast of an f32 tensor to `element` (a no-op for f32), written
/// into `dest` when given.
Value castTensor(OpBuilder &b, Location loc, Value v, Type element,
                 Value dest = Value());

/// round_S(int8 · scale) as an f32 value: the dequantized weight element of
/// §1.3, with S the scale's element type.
/// `scale` may already be widened to f32, with `scaleType` its type in the
/// IR (the type the product is rounded to).
Value dequantizeScalar(KernelBuilder &kb, Value q, Value scale,
                       Type scaleType = Type());

/// bf16(qf · s) as an f32 value for an int8 `qf` (as f32) and a bf16 scale
/// `s` (as f32) with |s| < 2^105, given `split` = s · (2^16 + 1) (exact in
/// f32): Veltkamp's split of the exact product at 8 significant bits,
/// γ = qf · split, δ = fma(qf, s, -γ), γ + δ. It rounds to nearest-even
/// exactly as dequantizeScalar does for every int8 and every such scale
/// (checked exhaustively by test/Unit/Differential), except that it may give +0
/// for -0: three f32 operations instead of a multiply and five integer ones,
/// for accumulations that start from +0 (where the sign of a zero term
/// never shows).
Value splitDequantize(KernelBuilder &kb, Value qf, Value s, Value split);

/// s · (2^16 + 1): the split constant of splitDequantize for scale `s` (f32).
Value splitConstant(KernelBuilder &kb, Value s);

/// `t` collapsed to one dimension (free on the identity layouts
/// nova-cpu-pipeline bufferizes to); `t` itself when it has one.
Value flattenTensor(OpBuilder &b, Location loc, Value t);

/// Whether every element of the bf16 tensor `scales` is one splitDequantize
/// rounds exactly (|s| < 2^105: finite, and far from overflow): an i1.
Value splitDequantizable(KernelBuilder &kb, Value scales);

/// (a, ia) ranks before (b, ib): descending values, NaN above every number,
/// ties (NaN included) to the lower index. The order of moe_route's and
/// sample's top-k.
Value ranksBefore(KernelBuilder &k, Value a, Value ia, Value b, Value ib);

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

/// A lowering whose schedule depends on the pass's options.
template <typename Op> struct ScheduledLowering : OpConversionPattern<Op> {
  ScheduledLowering(TypeConverter &converter, MLIRContext *ctx,
                    const ScheduleOptions &options)
      : OpConversionPattern<Op>(converter, ctx), options(options) {}
  ScheduleOptions options;
};

/// nova.quantize, nova.dequantize.
void populateQuantizeLoweringPatterns(TypeConverter &converter,
                                      RewritePatternSet &patterns);

/// nova.matmul, nova.qmatmul.
void populateContractionLoweringPatterns(TypeConverter &converter,
                                         RewritePatternSet &patterns,
                                         const ScheduleOptions &options);

/// nova.moe_route, nova.expert_qmatmul, nova.moe_combine.
void populateMoeLoweringPatterns(TypeConverter &converter,
                                 RewritePatternSet &patterns,
                                 const ScheduleOptions &options);

/// nova.attention.
void populateAttentionLoweringPatterns(TypeConverter &converter,
                                       RewritePatternSet &patterns);

/// nova.sample.
void populateSampleLoweringPatterns(TypeConverter &converter,
                                    RewritePatternSet &patterns,
                                    const ScheduleOptions &options);

/// nova.rms_norm, nova.gelu, nova.silu, nova.softmax, nova.embedding,
/// nova.rope, nova.kv_cache_update, nova.shard.
void populateElementwiseLoweringPatterns(TypeConverter &converter,
                                         RewritePatternSet &patterns);

} // namespace mlir::nova

#endif // NOVA_PASSES_CONVERSION_NOVATOLINALG_LOWERINGS_H
