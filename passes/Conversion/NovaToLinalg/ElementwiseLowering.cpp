//===- ElementwiseLowering.cpp - Norms, activations, RoPE, KV cache -------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// nova.rms_norm, nova.gelu/silu, nova.softmax, nova.embedding, nova.rope and
// nova.kv_cache_update as chains of linalg.generic ops (reductions in f32,
// one rounding to the result type at the end); nova.shard is dropped.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/NovaToLinalg/Lowerings.h"

#include "dialect/NovaOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <cmath>

using namespace mlir;
using namespace mlir::nova;
using utils::IteratorType;

namespace {

//===----------------------------------------------------------------------===//
// Normalization, activations, softmax, embedding
//===----------------------------------------------------------------------===//

struct RmsNormLowering : OpConversionPattern<RmsNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RmsNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    auto type = tensorTypeOf(op.getInput());
    unsigned r = type.getRank();
    int64_t d = type.getShape().back();
    SmallVector<int64_t> lead(type.getShape().drop_back());
    AffineMap id = AffineMap::getMultiDimIdentityMap(r, ctx);
    AffineMap leadMap = projection(ctx, r, range(0, r - 1));
    SmallVector<IteratorType> reduce(r - 1, IteratorType::parallel);
    reduce.push_back(IteratorType::reduction);
    Value sumSq = buildGeneric(
        rewriter, loc, RankedTensorType::get(lead, rewriter.getF32Type()),
        {adaptor.getInput()}, filledF32(rewriter, loc, lead, 0.0),
        {id, leadMap}, reduce, [&](KernelBuilder &k, ValueRange args) {
          Value x = k.toF32(args[0]);
          return k.add(args[1], k.mul(x, x));
        });
    float eps = op.getEps().convertToFloat();
    Value result = buildElementwise(
        rewriter, loc, type, {adaptor.getInput(), sumSq, adaptor.getScale()},
        {id, leadMap, projection(ctx, r, {r - 1}), id},
        [&](KernelBuilder &k, ValueRange args) {
          Value mean = k.div(args[1], k.f32(static_cast<double>(d)));
          Value inv = math::RsqrtOp::create(k.builder(), k.location(),
                                            k.add(mean, k.f32(eps)));
          Value y = k.mul(args[2], k.mul(k.toF32(args[0]), inv));
          return k.castFloat(y, type.getElementType());
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// An elementwise activation evaluated in f32.
template <typename Op> struct ActivationLowering : OpConversionPattern<Op> {
  using OpConversionPattern<Op>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(Op op, typename Op::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto type = tensorTypeOf(op.getInput());
    unsigned r = type.getRank();
    AffineMap id = AffineMap::getMultiDimIdentityMap(r, op.getContext());
    Value result = buildElementwise(
        rewriter, loc, type, {adaptor.getInput()}, {id, id},
        [&](KernelBuilder &k, ValueRange args) {
          Value x = k.toF32(args[0]);
          Value y;
          if constexpr (std::is_same_v<Op, GeluOp>) {
            Value inner =
                k.mul(k.f32(std::sqrt(2.0 / M_PI)),
                      k.add(x, k.mul(k.f32(0.044715), k.mul(x, k.mul(x, x)))));
            y = k.mul(k.mul(k.f32(0.5), x), k.add(k.f32(1), k.tanh(inner)));
          } else {
            y = k.div(x, k.add(k.f32(1), k.exp(k.neg(x))));
          }
          return k.castFloat(y, type.getElementType());
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct SoftmaxLowering : OpConversionPattern<SoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    auto type = tensorTypeOf(op.getInput());
    unsigned r = type.getRank(), axis = op.getAxis();
    SmallVector<unsigned> kept;
    SmallVector<int64_t> reducedShape;
    for (unsigned d = 0; d < r; ++d)
      if (d != axis) {
        kept.push_back(d);
        reducedShape.push_back(type.getDimSize(d));
      }
    AffineMap id = AffineMap::getMultiDimIdentityMap(r, ctx);
    AffineMap reducedMap = projection(ctx, r, kept);
    SmallVector<IteratorType> iters(r, IteratorType::parallel);
    iters[axis] = IteratorType::reduction;
    auto reducedType =
        RankedTensorType::get(reducedShape, rewriter.getF32Type());
    Value max = buildGeneric(rewriter, loc, reducedType, {adaptor.getInput()},
                             filledF32(rewriter, loc, reducedShape, -INFINITY),
                             {id, reducedMap}, iters,
                             [&](KernelBuilder &k, ValueRange args) {
                               return k.max(args[1], k.toF32(args[0]));
                             });
    Value sum = buildGeneric(
        rewriter, loc, reducedType, {adaptor.getInput(), max},
        filledF32(rewriter, loc, reducedShape, 0.0),
        {id, reducedMap, reducedMap}, iters,
        [&](KernelBuilder &k, ValueRange args) {
          return k.add(args[2], k.exp(k.sub(k.toF32(args[0]), args[1])));
        });
    Value result = buildElementwise(
        rewriter, loc, type, {adaptor.getInput(), max, sum},
        {id, reducedMap, reducedMap, id},
        [&](KernelBuilder &k, ValueRange args) {
          Value e = k.exp(k.sub(k.toF32(args[0]), args[1]));
          return k.castFloat(k.div(e, args[2]), type.getElementType());
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct EmbeddingLowering : OpConversionPattern<EmbeddingOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(EmbeddingOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    auto resultType = tensorTypeOf(op.getResult());
    unsigned r = resultType.getRank();
    int64_t vocab = tensorTypeOf(op.getTable()).getDimSize(0);
    Value table = adaptor.getTable();
    Value result = buildElementwise(
        rewriter, loc, resultType, {adaptor.getIds()},
        {projection(ctx, r, range(0, r - 1)),
         AffineMap::getMultiDimIdentityMap(r, ctx)},
        [&](KernelBuilder &k, ValueRange args) {
          // Out-of-range ids are clamped, as JAX's gather does.
          Value id = arith::MinSIOp::create(
              k.builder(), k.location(),
              arith::MaxSIOp::create(k.builder(), k.location(), args[0],
                                     k.i32(0)),
              k.i32(vocab - 1));
          Value d = linalg::IndexOp::create(k.builder(), k.location(), r - 1);
          Value v = k.extract(table, {k.toIndex(id), d});
          return k.castFloat(k.toF32(v), resultType.getElementType());
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// RoPE, KV cache
//===----------------------------------------------------------------------===//

struct RopeLowering : OpConversionPattern<RopeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RopeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    auto type = tensorTypeOf(op.getInput());
    int64_t dh = type.getDimSize(3), half = dh / 2;
    // inv_freq in f32 exactly as the semantics (and the interpreter) compute
    // it: 1 / base^(2j/Dh), each step rounded to f32.
    double base = op.getBase().convertToDouble();
    SmallVector<float> inv(dh);
    for (int64_t i = 0; i < dh; ++i) {
      float exponent = static_cast<float>(2.0 * (i % half) / dh);
      float power = static_cast<float>(std::pow(base, exponent));
      inv[i] = static_cast<float>(1.0 / power);
    }
    auto invType = RankedTensorType::get({dh}, rewriter.getF32Type());
    Value invFreq = arith::ConstantOp::create(
        rewriter, loc, DenseElementsAttr::get(invType, ArrayRef<float>(inv)));
    Value x = adaptor.getInput();
    Value result = buildElementwise(
        rewriter, loc, type, {x, adaptor.getPositions(), invFreq},
        {AffineMap::getMultiDimIdentityMap(4, ctx), projection(ctx, 4, {0, 1}),
         projection(ctx, 4, {3}), AffineMap::getMultiDimIdentityMap(4, ctx)},
        [&](KernelBuilder &k, ValueRange args) {
          OpBuilder &b = k.builder();
          Location l = k.location();
          Value i = linalg::IndexOp::create(b, l, 3);
          Value lower = k.cmpi(arith::CmpIPredicate::slt, i, k.index(half));
          Value partner =
              k.select(lower, arith::AddIOp::create(b, l, i, k.index(half)),
                       arith::SubIOp::create(b, l, i, k.index(half)));
          Value other = k.toF32(
              k.extract(x, {linalg::IndexOp::create(b, l, 0),
                            linalg::IndexOp::create(b, l, 1),
                            linalg::IndexOp::create(b, l, 2), partner}));
          Value rotated = k.select(lower, k.neg(other), other);
          Value phase = k.mul(k.toF32(args[1]), args[2]);
          Value c = math::CosOp::create(b, l, phase);
          Value s = math::SinOp::create(b, l, phase);
          Value y = k.add(k.mul(k.toF32(args[0]), c), k.mul(rotated, s));
          return k.castFloat(y, type.getElementType());
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct KvCacheUpdateLowering : OpConversionPattern<KvCacheUpdateOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KvCacheUpdateOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    auto type = tensorTypeOf(op.getCache());
    int64_t t = tensorTypeOf(op.getUpdate()).getDimSize(1);
    Value update = adaptor.getUpdate();
    AffineMap id = AffineMap::getMultiDimIdentityMap(4, ctx);
    Value result = buildElementwise(
        rewriter, loc, type, {adaptor.getCache(), adaptor.getPositions()},
        {id, projection(ctx, 4, {0}), id},
        [&](KernelBuilder &k, ValueRange args) {
          OpBuilder &b = k.builder();
          Location l = k.location();
          Value s = linalg::IndexOp::create(b, l, 1);
          Value row = arith::SubIOp::create(b, l, s, k.toIndex(args[1]));
          Value inRange =
              k.andi(k.cmpi(arith::CmpIPredicate::sge, row, k.index(0)),
                     k.cmpi(arith::CmpIPredicate::slt, row, k.index(t)));
          Value safe = k.select(inRange, row, k.index(0));
          Value u = k.extract(update, {linalg::IndexOp::create(b, l, 0), safe,
                                       linalg::IndexOp::create(b, l, 2),
                                       linalg::IndexOp::create(b, l, 3)});
          return k.select(inRange, u, args[0]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ShardLowering : OpConversionPattern<ShardOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ShardOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, adaptor.getInput());
    return success();
  }
};

} // namespace

void mlir::nova::populateElementwiseLoweringPatterns(
    TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<RmsNormLowering, ActivationLowering<GeluOp>,
               ActivationLowering<SiluOp>, SoftmaxLowering, EmbeddingLowering,
               RopeLowering, KvCacheUpdateLowering, ShardLowering>(
      converter, patterns.getContext());
}
