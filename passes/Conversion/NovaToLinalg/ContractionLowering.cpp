//===- ContractionLowering.cpp - nova.matmul/qmatmul to linalg ------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// y[..., n] = round_R(Σ_k x[..., k] · w[k, n]), with a quantized weight
// dequantized inside the reduction (no dequantized weight tensor exists).
// One row of x (decode) streams each weight row into f32 accumulators; many
// rows (prefill) use the row schedule of RowSchedule.h.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/NovaToLinalg/RowSchedule.h"

#include "dialect/NovaOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::nova;
using utils::IteratorType;

/// A quantized x [M, K] · W [K, N]. For M > 1 each weight row of a column
/// tile is dequantized once (into an f32 row) and applied to a block of up
/// to 64 rows of x, four weight rows per pass over the block's accumulators
/// (which stay in L2). For M = 1 (decode) four weight rows are dequantized
/// inside one pass over the accumulators, which load and store each
/// accumulator once for four rows. Either way the sum over k keeps its
/// sequential order. Column tiles run on threads. (Tile sizes chosen by
/// measurement on AVX-512: docs/performance.md.)
static Value quantizedMatmul(OpBuilder &b, Location loc, Value x,
                             const QuantizedWeight &weight,
                             RankedTensorType resultType,
                             const ScheduleOptions &options) {
  KernelBuilder kb(b, loc);
  auto xType = tensorTypeOf(x);
  RowBlockedMatmul rb = RowBlockedMatmul::get(b, loc, x, resultType, options);
  int64_t m = rb.m, n = rb.n, block = rb.block, width = rb.width;
  Value x2 = rb.x2;
  bool exactProduct =
      exactProductInF32(xType.getElementType(), weight.scaleType);
  Type element = resultType.getElementType();
  // The paired-row schedule where the tier and the values allow it (checked
  // once per call, outside the threads).
  Value usePairs =
      options.bf16Dot && m > 1 &&
              pairedRowsApply(xType.getElementType(), weight, width)
          ? bf16DotExact(kb, x, weight)
          : Value();
  // x in bf16 pairs, once per call (a pass over x, negligible beside the
  // matmul).
  Value xPairs = usePairs ? pairedX(b, loc, x) : Value();
  auto tile = [&](OpBuilder &tb, Value offset, Value dest) -> Value {
    KernelBuilder t(tb, loc);
    Value acc = t.filled({m, width}, t.f32(0.0));
    WeightTile wt{weight, {}, offset, width, exactProduct};
    if (m == 1) {
      acc = fusedWeightRows(
          t, wt, acc, t.index(0), [&](KernelBuilder &kx, Value kIdx) {
            return kx.toF32(kx.extract(x2, {kx.index(0), kIdx}));
          });
      return castTensor(tb, loc, acc, element, dest);
    }
    SmallVector<Value> scratch = rowScratch(t, width);
    // The paired rows take all m rows of x per panel: each panel is
    // dequantized once per tile, and the accumulators are read and written
    // once per panel (64 pairs of weight rows), so they need not fit L2.
    auto paired = [&](KernelBuilder &kt) {
      return SmallVector<Value>{accumulatePairedRows(
          kt, wt, kt.empty({kPanelPairs, width}, tb.getI32Type()), scratch[0],
          acc, xPairs, kt.index(0), kt.index(m),
          [](KernelBuilder &, Value p) { return std::make_pair(p, p); },
          [&](KernelBuilder &kr, Value p, Value kIdx) {
            return std::make_pair(p, kr.toF32(kr.extract(x2, {p, kIdx})));
          })};
    };
    auto blocks = [&](KernelBuilder &kt) {
      return kt.forLoop(
          0, m / block, acc, [&](KernelBuilder &kbl, Value blk, ValueRange a) {
            Value lo = kbl.muli(blk, kbl.index(block));
            Value hi = kbl.addi(lo, kbl.index(block));
            return SmallVector<Value>{accumulateWeightRows(
                kbl, wt, scratch, a[0], lo, hi,
                [&](KernelBuilder &kr, Value p, ArrayRef<Value> ks) {
                  SmallVector<Value> xs;
                  for (Value kIdx : ks)
                    xs.push_back(kr.toF32(kr.extract(x2, {p, kIdx})));
                  return std::make_pair(p, xs);
                })};
          });
    };
    acc = usePairs ? t.ifThenElse(usePairs, TypeRange{acc.getType()}, paired,
                                  blocks)[0]
                   : blocks(t)[0];
    return castTensor(tb, loc, acc, element, dest);
  };
  return rb.expand(
      b, loc,
      parallelColumnTiles(b, loc, kb.empty({m, n}, element), width, tile),
      resultType);
}

namespace {

/// The accumulation of y = x · w (w [K, N], or [N, K] when `transpose`)
/// over the iteration space
/// (lead..., k, n) with the output columns innermost (or (lead..., n, k) for
/// a transposed weight, whose contiguous dimension is k).
struct Contraction {
  Location loc;
  Value x, weight;
  bool transpose;
  RankedTensorType resultType;

  /// The accumulation of the column tile [lead..., width] starting at
  /// column `offset` (the whole output when `width` is N), written into
  /// `dest` when given (the tile's slice of the output).
  Value tile(OpBuilder &b, Value offset, int64_t width, Value dest) const;

private:
  /// The tile's slice of the weight along `dim`.
  Value columnSlice(OpBuilder &b, Value t, unsigned dim, Value offset,
                    int64_t width) const;
};

} // namespace

Value Contraction::columnSlice(OpBuilder &b, Value t, unsigned dim,
                               Value offset, int64_t width) const {
  auto type = tensorTypeOf(t);
  SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes, strides(type.getRank(), b.getIndexAttr(1));
  for (int64_t d : type.getShape())
    sizes.push_back(b.getIndexAttr(d));
  offsets[dim] = offset;
  sizes[dim] = b.getIndexAttr(width);
  return tensor::ExtractSliceOp::create(b, loc, t, offsets, sizes, strides)
      .getResult();
}

Value Contraction::tile(OpBuilder &b, Value offset, int64_t width,
                        Value dest) const {
  MLIRContext *ctx = b.getContext();
  auto xType = tensorTypeOf(x);
  auto wType = tensorTypeOf(weight);
  unsigned lead = xType.getRank() - 1;
  unsigned kDim = transpose ? lead + 1 : lead,
           nDim = transpose ? lead : lead + 1;
  unsigned numDims = lead + 2;
  SmallVector<unsigned> xDims = range(0, lead);
  xDims.push_back(kDim);
  SmallVector<unsigned> outDims = range(0, lead);
  outDims.push_back(nDim);
  SmallVector<IteratorType> iterators(numDims, IteratorType::parallel);
  iterators[kDim] = IteratorType::reduction;
  bool exactProduct =
      exactProductInF32(xType.getElementType(), wType.getElementType());

  SmallVector<int64_t> shape(resultType.getShape());
  shape.back() = width;
  Value w = weight;
  if (width != resultType.getShape().back())
    w = columnSlice(b, weight, transpose ? 0 : 1, offset, width);
  SmallVector<AffineMap> maps = {projection(ctx, numDims, xDims)};
  maps.push_back(transpose ? projection(ctx, numDims, {nDim, kDim})
                           : projection(ctx, numDims, {kDim, nDim}));
  SmallVector<Value> inputs = {x, w};
  maps.push_back(projection(ctx, numDims, outDims));
  KernelBuilder kb(b, loc);
  Type element = resultType.getElementType();
  Value accInit =
      dest && element.isF32()
          ? linalg::FillOp::create(b, loc, kb.f32(0.0), dest).getResult(0)
          : filledF32(b, loc, shape, 0.0);
  Value acc = buildGeneric(
      b, loc, RankedTensorType::get(shape, b.getF32Type()), inputs, accInit,
      maps, iterators, [&](KernelBuilder &k, ValueRange args) {
        Value xv = k.toF32(args[0]);
        Value wv = k.toF32(args[1]);
        // A product of two 16-bit floats is exact in f32, so a fused
        // multiply-add rounds exactly like the multiply and add.
        if (exactProduct)
          return math::FmaOp::create(k.builder(), k.location(), xv, wv,
                                     args.back())
              .getResult();
        return k.add(args.back(), k.mul(xv, wv));
      });
  return castTensor(b, loc, acc, element, dest);
}

/// y[..., n] = round_R(Σ_k x[..., k] · w[k, n]) with w[k, n] (or w[n, k] when
/// `transpose`).
///
/// Schedule: the iteration space is (lead..., k, n) with the output columns
/// innermost, so each step streams a contiguous row of the weight into a row
/// of f32 accumulators (vectorized along n by LLVM for the host's vector
/// width) and the sum over k keeps its sequential order. Large contractions
/// are split into column tiles under an scf.forall, which becomes an OpenMP
/// work-sharing loop.
static Value contraction(ConversionPatternRewriter &rewriter,
                         const Contraction &c, const ScheduleOptions &options) {
  RankedTensorType resultType = c.resultType;
  int64_t n = resultType.getShape().back();
  int64_t m = 1;
  for (int64_t d : resultType.getShape().drop_back())
    m *= d;
  int64_t width =
      columnTileWidth(m, n, tensorTypeOf(c.x).getShape().back(), options);
  if (width == 0)
    return c.tile(rewriter, Value(), n, Value());

  KernelBuilder kb(rewriter, c.loc);
  return parallelColumnTiles(
      rewriter, c.loc,
      kb.empty(resultType.getShape(), resultType.getElementType()), width,
      [&](OpBuilder &b, Value offset, Value dest) {
        return c.tile(b, offset, width, dest);
      });
}

namespace {

struct MatmulLowering : ScheduledLowering<MatmulOp> {
  using ScheduledLowering::ScheduledLowering;
  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Contraction c{op.getLoc(), adaptor.getLhs(), adaptor.getRhs(),
                  op.getTransposeRhs(), tensorTypeOf(op.getResult())};
    rewriter.replaceOp(op, contraction(rewriter, c, options));
    return success();
  }
};

struct QMatmulLowering : ScheduledLowering<QMatmulOp> {
  using ScheduledLowering::ScheduledLowering;
  LogicalResult
  matchAndRewrite(QMatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    KernelBuilder kb(rewriter, op.getLoc());
    auto lower =
        op.getInt8Activations() ? int8ActivationMatmul : quantizedMatmul;
    rewriter.replaceOp(op, lower(rewriter, op.getLoc(), adaptor.getInput(),
                                 QuantizedWeight::get(kb, adaptor.getWeight(),
                                                      adaptor.getScales()),
                                 tensorTypeOf(op.getResult()), options));
    return success();
  }
};

} // namespace

void mlir::nova::populateContractionLoweringPatterns(
    TypeConverter &converter, RewritePatternSet &patterns,
    const ScheduleOptions &options) {
  patterns.add<MatmulLowering, QMatmulLowering>(converter,
                                                patterns.getContext(), options);
}
