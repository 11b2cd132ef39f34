//===- QuantizeLowering.cpp - nova.quantize/dequantize to linalg ----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Elementwise linalg.generic ops over the weight's shape whose scales map
// picks each element's block scale (#nova.scale_layout, §1.2-1.3).
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/NovaToLinalg/Lowerings.h"

#include "dialect/NovaOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;
using namespace mlir::nova;

/// The weight-shaped result of nova.quantize or nova.dequantize `op`: one
/// linalg.generic over (input, scales) whose scales map picks each element's
/// block scale.
template <typename Op>
static Value blockwise(ConversionPatternRewriter &rewriter, Op op,
                       typename Op::Adaptor adaptor, GenericBody body) {
  auto weight = tensorTypeOf(op.getInput());
  auto scales = tensorTypeOf(op.getScales());
  unsigned r = weight.getRank();
  MLIRContext *ctx = op.getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(r, ctx);
  AffineMap sm =
      scalesMap(ctx, r, range(0, r - 2), r - 2, r - 1, weight, scales);
  return buildElementwise(rewriter, op.getLoc(), tensorTypeOf(op.getResult()),
                          {adaptor.getInput(), adaptor.getScales()},
                          {id, sm, id}, body);
}

namespace {

struct DequantizeLowering : OpConversionPattern<DequantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type element = tensorTypeOf(op.getResult()).getElementType();
    rewriter.replaceOp(
        op, blockwise(rewriter, op, adaptor,
                      [&](KernelBuilder &k, ValueRange args) {
                        // Exact: already rounded to the scale type.
                        return k.castFloat(
                            dequantizeScalar(k, args[0], args[1]), element);
                      }));
    return success();
  }
};

struct QuantizeLowering : OpConversionPattern<QuantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QuantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, blockwise(
                rewriter, op, adaptor, [&](KernelBuilder &k, ValueRange args) {
                  Value v = k.div(k.toF32(args[0]), k.toF32(args[1]));
                  Value rounded =
                      math::RoundEvenOp::create(k.builder(), k.location(), v);
                  Value clamped = arith::MinimumFOp::create(
                      k.builder(), k.location(), k.max(rounded, k.f32(-128)),
                      k.f32(127));
                  Value safe = k.select(k.isNaN(v), k.f32(0), clamped);
                  return arith::FPToSIOp::create(k.builder(), k.location(),
                                                 k.builder().getI8Type(), safe)
                      .getResult();
                }));
    return success();
  }
};

} // namespace

void mlir::nova::populateQuantizeLoweringPatterns(TypeConverter &converter,
                                                  RewritePatternSet &patterns) {
  patterns.add<DequantizeLowering, QuantizeLowering>(converter,
                                                     patterns.getContext());
}
