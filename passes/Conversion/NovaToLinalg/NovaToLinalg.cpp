//===- NovaToLinalg.cpp - Nova ops to linalg and friends ------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Dense ops become linalg.generic on tensors whose bodies carry each op's
// exact dtype boundaries (docs/dialect/NovaDialect.md). The ops that need
// data-dependent control flow (moe_route, attention, sample) are lowered in
// LoopKernels.cpp.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/NovaToLinalg/Lowerings.h"
#include "passes/Conversion/Passes.h"

#include "dialect/NovaOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

#include <algorithm>
#include <cmath>
#include <thread>

namespace mlir::nova {
#define GEN_PASS_DEF_CONVERTNOVATOLINALGPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace mlir::nova

using namespace mlir;
using namespace mlir::nova;
using utils::IteratorType;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

RankedTensorType mlir::nova::tensorTypeOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

Value mlir::nova::buildGeneric(OpBuilder &b, Location loc,
                               RankedTensorType resultType, ValueRange inputs,
                               Value init, ArrayRef<AffineMap> maps,
                               ArrayRef<IteratorType> iterators,
                               GenericBody body) {
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{resultType}, inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nested, Location l, ValueRange args) {
        KernelBuilder kb(nested, l);
        linalg::YieldOp::create(nested, l, body(kb, args));
      });
  return op.getResult(0);
}

/// The map (d0, ..., dn-1) -> (dims...).
static AffineMap projection(MLIRContext *ctx, unsigned numDims,
                            ArrayRef<unsigned> dims) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : dims)
    exprs.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(numDims, 0, exprs, ctx);
}

static SmallVector<unsigned> range(unsigned begin, unsigned end) {
  SmallVector<unsigned> r;
  for (unsigned i = begin; i < end; ++i)
    r.push_back(i);
  return r;
}

/// Map of a scales tensor [B..., G, C] for a weight [B..., K, N] whose batch
/// dims are `batch`, row dim `k` and column dim `n` in the iteration space.
static AffineMap scalesMap(MLIRContext *ctx, unsigned numDims,
                           ArrayRef<unsigned> batch, unsigned k, unsigned n,
                           RankedTensorType weight, RankedTensorType scales) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : batch)
    exprs.push_back(getAffineDimExpr(d, ctx));
  int64_t rows = weight.getDimSize(weight.getRank() - 2);
  int64_t blocks = scales.getDimSize(scales.getRank() - 2);
  exprs.push_back(blocks == 1
                      ? getAffineConstantExpr(0, ctx)
                      : getAffineDimExpr(k, ctx).floorDiv(rows / blocks));
  exprs.push_back(scales.getShape().back() == 1 ? getAffineConstantExpr(0, ctx)
                                                : getAffineDimExpr(n, ctx));
  return AffineMap::get(numDims, 0, exprs, ctx);
}

Value mlir::nova::dequantizeScalar(KernelBuilder &kb, Value q, Value scale,
                                   Type scaleType) {
  if (!scaleType)
    scaleType = scale.getType();
  // int8 x scale is exact in f32; one rounding to the scale's type (§1.3).
  Value product = kb.mul(kb.toF32(q), kb.toF32(scale));
  if (!scaleType.isBF16())
    return kb.roundTo(product, scaleType);
  // RNE to bf16 on the bits: add 0x7fff plus the lowest kept bit, clear the
  // low half. Exact for every int8 x bf16 product: finite ones round as
  // truncf does (overflow to inf included), and a NaN product has a zero low
  // half (the bf16 scale's payload, or the default NaN of 0 x inf), so it
  // stays the same NaN. Cheaper than truncf's general NaN handling in the
  // innermost loop of every quantized matmul.
  OpBuilder &b = kb.builder();
  Type i32 = b.getI32Type();
  Value bits = kb.bitcast(product, i32);
  Value lsb = kb.andi(kb.shrui(bits, kb.i32(16)), kb.i32(1));
  Value rounded = kb.andi(kb.addi(kb.addi(bits, kb.i32(0x7fff)), lsb),
                          kb.i32(static_cast<int32_t>(0xffff0000u)));
  return kb.bitcast(rounded, b.getF32Type());
}

/// A float tensor of `shape` holding `value` (an f32 accumulator init).
static Value filledF32(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                       double value) {
  KernelBuilder kb(b, loc);
  return kb.filled(shape, kb.f32(value));
}

/// Elementwise cast of an f32 tensor to `element` (a no-op for f32), written
/// into `dest` when given.
static Value castTensor(OpBuilder &b, Location loc, Value v, Type element,
                        Value dest = Value()) {
  RankedTensorType type = tensorTypeOf(v);
  if (type.getElementType() == element)
    return v;
  auto result = RankedTensorType::get(type.getShape(), element);
  KernelBuilder kb(b, loc);
  unsigned rank = type.getRank();
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, b.getContext());
  if (!dest)
    dest = kb.empty(type.getShape(), element);
  return buildGeneric(b, loc, result, {v}, dest, {id, id},
                      SmallVector<IteratorType>(rank, IteratorType::parallel),
                      [&](KernelBuilder &k, ValueRange args) {
                        return k.castFloat(args[0], element);
                      });
}

namespace {

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

struct DequantizeLowering : OpConversionPattern<DequantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto weight = tensorTypeOf(op.getInput());
    auto scales = tensorTypeOf(op.getScales());
    unsigned r = weight.getRank();
    MLIRContext *ctx = op.getContext();
    AffineMap id = AffineMap::getMultiDimIdentityMap(r, ctx);
    AffineMap sm =
        scalesMap(ctx, r, range(0, r - 2), r - 2, r - 1, weight, scales);
    KernelBuilder kb(rewriter, loc);
    Type element = tensorTypeOf(op.getResult()).getElementType();
    Value result = buildGeneric(
        rewriter, loc, tensorTypeOf(op.getResult()),
        {adaptor.getInput(), adaptor.getScales()},
        kb.empty(weight.getShape(), element), {id, sm, id},
        SmallVector<IteratorType>(r, IteratorType::parallel),
        [&](KernelBuilder &k, ValueRange args) {
          // Exact: already rounded to the scale type.
          return k.castFloat(dequantizeScalar(k, args[0], args[1]), element);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct QuantizeLowering : OpConversionPattern<QuantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QuantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto input = tensorTypeOf(op.getInput());
    auto scales = tensorTypeOf(op.getScales());
    unsigned r = input.getRank();
    MLIRContext *ctx = op.getContext();
    AffineMap id = AffineMap::getMultiDimIdentityMap(r, ctx);
    AffineMap sm =
        scalesMap(ctx, r, range(0, r - 2), r - 2, r - 1, input, scales);
    KernelBuilder kb(rewriter, loc);
    Value result = buildGeneric(
        rewriter, loc, tensorTypeOf(op.getResult()),
        {adaptor.getInput(), adaptor.getScales()},
        kb.empty(input.getShape(), rewriter.getI8Type()), {id, sm, id},
        SmallVector<IteratorType>(r, IteratorType::parallel),
        [&](KernelBuilder &k, ValueRange args) {
          Value v = k.div(k.toF32(args[0]), k.toF32(args[1]));
          Value rounded =
              math::RoundEvenOp::create(k.builder(), k.location(), v);
          Value clamped = arith::MinimumFOp::create(k.builder(), k.location(),
                                                    k.max(rounded, k.f32(-128)),
                                                    k.f32(127));
          Value safe = k.select(k.isNaN(v), k.f32(0), clamped);
          return arith::FPToSIOp::create(k.builder(), k.location(),
                                         k.builder().getI8Type(), safe)
              .getResult();
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Matmuls
//===----------------------------------------------------------------------===//

/// The 1-D slice t[offsets..., offset + 0 .. size) of the innermost
/// dimension of `t` (all other dimensions dropped).
static Value rowOf(OpBuilder &b, Location loc, Value t,
                   ArrayRef<OpFoldResult> offsets, int64_t size) {
  auto type = tensorTypeOf(t);
  SmallVector<OpFoldResult> sizes(type.getRank() - 1, b.getIndexAttr(1)),
      strides(type.getRank(), b.getIndexAttr(1));
  sizes.push_back(b.getIndexAttr(size));
  auto resultType = RankedTensorType::get({size}, type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, resultType, t, offsets, sizes,
                                        strides);
}

/// The operands of weight row W[lead..., k, offset .. offset + width) of a
/// quantized weight [lead..., K, N] with scales [lead..., G, C]: the int8 row
/// and the scale row (per-column scales) or the one scale of the row's block.
struct QuantizedRow {
  SmallVector<Value> inputs;
  Value scalar;
  bool perColumn;
  Type scaleType;
  /// The dequantized element given the map/generic block arguments.
  Value dequantize(KernelBuilder &g, ValueRange a) const {
    return dequantizeScalar(g, a[0], perColumn ? a[1] : scalar, scaleType);
  }
};

static QuantizedRow quantizedRow(OpBuilder &b, Location loc, Value weight,
                                 Value scales, ArrayRef<Value> lead, Value k,
                                 Value offset, int64_t width) {
  KernelBuilder kb(b, loc);
  auto wType = tensorTypeOf(weight), sType = tensorTypeOf(scales);
  int64_t rows = wType.getShape()[wType.getRank() - 2];
  int64_t rowsPerBlock = rows / sType.getShape()[sType.getRank() - 2];
  QuantizedRow row;
  row.perColumn = sType.getShape().back() != 1;
  row.scaleType = sType.getElementType();
  Value block = arith::DivUIOp::create(b, loc, k, kb.index(rowsPerBlock));
  SmallVector<OpFoldResult> at(lead.begin(), lead.end());
  at.push_back(k);
  at.push_back(offset);
  row.inputs.push_back(rowOf(b, loc, weight, at, width));
  at[at.size() - 2] = block;
  if (row.perColumn) {
    row.inputs.push_back(rowOf(b, loc, scales, at, width));
  } else {
    SmallVector<Value> idx(lead.begin(), lead.end());
    idx.push_back(block);
    idx.push_back(kb.index(0));
    row.scalar = kb.extract(scales, idx);
  }
  return row;
}

/// That weight row dequantized to f32 into `init` ([width]). A linalg.map,
/// which elementwise fusion leaves alone: fused into its consumers it would
/// be recomputed for every row of x that uses it.
static Value dequantizedRow(OpBuilder &b, Location loc, Value weight,
                            Value scales, ArrayRef<Value> lead, Value k,
                            Value offset, int64_t width, Value init) {
  QuantizedRow row =
      quantizedRow(b, loc, weight, scales, lead, k, offset, width);
  return linalg::MapOp::create(b, loc, row.inputs, init,
                               [&](OpBuilder &mb, Location l, ValueRange a) {
                                 KernelBuilder g(mb, l);
                                 linalg::YieldOp::create(mb, l,
                                                         row.dequantize(g, a));
                               })
      .getResult()[0];
}

/// acc[r, :] += xv · (that weight row), dequantized inside the same loop:
/// one pass over the row and no scratch, for a row of x used once (an expert
/// with a single slot). The same arithmetic as dequantizedRow followed by
/// accumulateRows.
static Value fusedRowUpdate(KernelBuilder &kb, Value acc, Value r, Value xv,
                            Value weight, Value scales, ArrayRef<Value> lead,
                            Value k, Value offset, int64_t width,
                            bool exactProduct) {
  OpBuilder &b = kb.builder();
  Location loc = kb.location();
  QuantizedRow row =
      quantizedRow(b, loc, weight, scales, lead, k, offset, width);
  SmallVector<OpFoldResult> at = {r, b.getIndexAttr(0)};
  Value accRow = rowOf(b, loc, acc, at, width);
  AffineMap id1 = AffineMap::getMultiDimIdentityMap(1, acc.getContext());
  SmallVector<AffineMap> maps(row.inputs.size() + 1, id1);
  Value updated = buildGeneric(
      b, loc, tensorTypeOf(accRow), row.inputs, accRow, maps,
      {IteratorType::parallel}, [&](KernelBuilder &g, ValueRange a) {
        Value v = row.dequantize(g, a);
        Value sum = a.back();
        return exactProduct ? math::FmaOp::create(g.builder(), loc, xv, v, sum)
                                  .getResult()
                            : g.add(sum, g.mul(xv, v));
      });
  return tensor::InsertSliceOp::create(
      b, loc, updated, acc, at,
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(width)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}

/// acc[r(p), :] += Σ_j x_j(p) · vecs[j] for p in [lo, hi), the terms added
/// in order j = 0, 1, ... (as a sequential sum over the rows of a weight
/// would), with (r(p), [x_j(p)]) = `rowAndX(p)` (x as f32). Several vectors
/// per pass load and store each accumulator once for all of them. Fused
/// multiply-adds when the products are exact in f32 (`exactProduct`), so the
/// result is the same either way.
static Value accumulateRows(
    KernelBuilder &kb, Value acc, ArrayRef<Value> vecs, Value lo, Value hi,
    bool exactProduct,
    function_ref<std::pair<Value, SmallVector<Value>>(KernelBuilder &, Value)>
        rowAndX) {
  Location loc = kb.location();
  int64_t width = tensorTypeOf(vecs.front()).getShape().back();
  AffineMap id1 = AffineMap::getMultiDimIdentityMap(1, acc.getContext());
  SmallVector<AffineMap> maps(vecs.size() + 1, id1);
  return kb.forLoop(
      lo, hi, acc, [&](KernelBuilder &k, Value p, ValueRange accs) {
        OpBuilder &b = k.builder();
        std::pair<Value, SmallVector<Value>> rx = rowAndX(k, p);
        SmallVector<OpFoldResult> at = {rx.first, b.getIndexAttr(0)};
        Value accRow = rowOf(b, loc, accs[0], at, width);
        Value updated = buildGeneric(
            b, loc, tensorTypeOf(accRow), vecs, accRow, maps,
            {IteratorType::parallel}, [&](KernelBuilder &g, ValueRange a) {
              Value sum = a.back();
              for (auto [xv, v] : llvm::zip(rx.second, a.drop_back()))
                sum = exactProduct
                          ? math::FmaOp::create(g.builder(), loc, xv, v, sum)
                                .getResult()
                          : g.add(sum, g.mul(xv, v));
              return sum;
            });
        return SmallVector<Value>{tensor::InsertSliceOp::create(
            b, loc, updated, accs[0], at,
            ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(width)},
            ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)})};
      })[0];
}

/// Is the product of an `a` and a `b` value exact in f32? True for two
/// 16-bit floats (at most 11 + 11 significant bits), so that a fused
/// multiply-add rounds exactly like the separate multiply and add.
static bool exactProductInF32(Type a, Type b) {
  auto narrow = [](Type t) { return t.isBF16() || t.isF16(); };
  return narrow(a) && narrow(b);
}

/// Multiply-adds below which a contraction stays on one thread: a parallel
/// region costs a few microseconds to open.
static constexpr int64_t kParallelWork = int64_t(1) << 18;

/// The width of the column tiles a [M, K] x [K, N] contraction is split into
/// across threads, or 0 to run it whole: a multiple of 16 columns (one
/// 64-byte line of int8 weights per 4 rows) that divides N, so every tile has
/// the same static shape.
static int64_t columnTileWidth(int64_t m, int64_t n, int64_t k, int64_t tiles) {
  if (m * n * k < kParallelWork)
    return 0;
  for (int64_t align : {64, 16}) {
    if (n % align != 0 || n < 2 * align)
      continue;
    // The widest tile of at most n / tiles columns (rounded to the
    // alignment) that divides n: one wide tile per thread streams the longest
    // contiguous runs of each weight row, which the hardware prefetchers need.
    int64_t width = std::max(align, (n / tiles) / align * align);
    while (n % width != 0)
      width -= align;
    return width < n ? width : 0;
  }
  return 0;
}

/// Computes `init` ([..., N]) in N / width column tiles of `width` columns,
/// in parallel (an scf.forall, which becomes an OpenMP work-sharing loop):
/// `tile(b, offset, slice)` returns the value of the tile at column `offset`
/// given its slice of `init` to write into.
static Value
parallelColumnTiles(OpBuilder &b, Location loc, Value init, int64_t width,
                    function_ref<Value(OpBuilder &, Value, Value)> tile) {
  RankedTensorType type = tensorTypeOf(init);
  int64_t n = type.getShape().back();
  KernelBuilder kb(b, loc);
  if (width == n)
    return tile(b, kb.index(0), init);
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(n / width)},
      ValueRange{init}, std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  Value offset =
      arith::MulIOp::create(b, loc, forall.getInductionVar(0), kb.index(width));
  unsigned rank = type.getRank();
  SmallVector<OpFoldResult> offsets(rank, b.getIndexAttr(0)), sizes,
      strides(rank, b.getIndexAttr(1));
  for (int64_t d : type.getShape().drop_back())
    sizes.push_back(b.getIndexAttr(d));
  sizes.push_back(b.getIndexAttr(width));
  offsets.back() = offset;
  Value out = forall.getRegionIterArgs()[0];
  Value slice =
      tensor::ExtractSliceOp::create(b, loc, out, offsets, sizes, strides);
  Value value = tile(b, offset, slice);
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  tensor::ParallelInsertSliceOp::create(b, loc, value, out, offsets, sizes,
                                        strides);
  return forall.getResult(0);
}

/// Rows of x per block of the multi-row quantized schedule (each dequantized
/// weight row is reused for all of them).
static constexpr int64_t kRowBlock = 64;
/// f32 accumulators of one block and column tile (block x width), sized for
/// L2, and the widest tile (wide tiles stream long runs of each weight row).
static constexpr int64_t kRowReuseAccumulators = 64 * 1024;
static constexpr int64_t kRowReuseMaxTile = 4096;
/// Weight rows applied per pass over a block's accumulators.
static constexpr int64_t kRowUnroll = 4;

/// The largest divisor of `n` that is at most `limit` and a multiple of
/// `align` (0 if there is none).
static int64_t divisorAtMost(int64_t n, int64_t limit, int64_t align) {
  for (int64_t d = limit / align * align; d >= align; d -= align)
    if (n % d == 0)
      return d;
  return 0;
}

/// A quantized x [M, K] · W [K, N] for M > 1: each weight row of a column
/// tile is dequantized once (into an f32 row) and applied to a block of up
/// to 64 rows of x, four weight rows per pass over the block's accumulators
/// (which stay in L2); the sum over k keeps its sequential order. Column
/// tiles run on threads. (Tile sizes chosen by measurement on AVX-512:
/// docs/performance.md.)
static Value rowReuseQMatmul(OpBuilder &b, Location loc, Value x, Value weight,
                             Value scales, RankedTensorType resultType) {
  KernelBuilder kb(b, loc);
  auto xType = tensorTypeOf(x);
  int64_t k = xType.getShape().back(), n = resultType.getShape().back();
  int64_t m = xType.getNumElements() / k;
  // x and the result as matrices.
  SmallVector<ReassociationIndices> rows(1);
  for (unsigned d = 0; d + 1 < xType.getRank(); ++d)
    rows[0].push_back(d);
  rows.push_back({static_cast<int64_t>(xType.getRank() - 1)});
  Value x2 = xType.getRank() == 2
                 ? x
                 : tensor::CollapseShapeOp::create(b, loc, x, rows).getResult();
  int64_t block = std::max<int64_t>(1, divisorAtMost(m, kRowBlock, 1));
  int64_t width =
      m * n * k >= kParallelWork
          ? divisorAtMost(
                n, std::min(kRowReuseMaxTile, kRowReuseAccumulators / block),
                16)
          : 0;
  if (width == 0 || width == n)
    width = n;
  bool exactProduct = exactProductInF32(xType.getElementType(),
                                        tensorTypeOf(scales).getElementType());
  Type element = resultType.getElementType();
  auto tile = [&](OpBuilder &tb, Value offset, Value dest) -> Value {
    KernelBuilder t(tb, loc);
    Value acc = t.filled({m, width}, t.f32(0.0));
    // kRowUnroll weight rows per pass over the accumulators (the remainder
    // of K one row at a time).
    SmallVector<Value> scratch;
    for (int64_t u = 0; u < kRowUnroll; ++u)
      scratch.push_back(t.empty({width}, tb.getF32Type()));
    auto rowsFrom = [&](KernelBuilder &kk, Value k0, int64_t count, Value lo,
                        Value hi, Value a) {
      SmallVector<Value> vecs, ks;
      for (int64_t u = 0; u < count; ++u) {
        ks.push_back(kk.addi(k0, kk.index(u)));
        vecs.push_back(dequantizedRow(kk.builder(), loc, weight, scales, {},
                                      ks.back(), offset, width, scratch[u]));
      }
      return accumulateRows(
          kk, a, vecs, lo, hi, exactProduct, [&](KernelBuilder &kr, Value p) {
            SmallVector<Value> xs;
            for (Value kIdx : ks)
              xs.push_back(kr.toF32(kr.extract(x2, {p, kIdx})));
            return std::make_pair(p, xs);
          });
    };
    int64_t mainK = k / kRowUnroll * kRowUnroll;
    acc = t.forLoop(
        0, m / block, acc, [&](KernelBuilder &kbl, Value blk, ValueRange accs) {
          Value lo = kbl.muli(blk, kbl.index(block));
          Value hi = kbl.addi(lo, kbl.index(block));
          Value a =
              kbl.forLoop(0, mainK / kRowUnroll, accs[0],
                          [&](KernelBuilder &kk, Value step, ValueRange a) {
                            Value k0 = kk.muli(step, kk.index(kRowUnroll));
                            return SmallVector<Value>{
                                rowsFrom(kk, k0, kRowUnroll, lo, hi, a[0])};
                          })[0];
          return kbl.forLoop(
              mainK, k, a, [&](KernelBuilder &kk, Value k0, ValueRange a) {
                return SmallVector<Value>{rowsFrom(kk, k0, 1, lo, hi, a[0])};
              });
        })[0];
    return castTensor(tb, loc, acc, element, dest);
  };
  Value result =
      parallelColumnTiles(b, loc, kb.empty({m, n}, element), width, tile);
  if (resultType.getRank() == 2)
    return result;
  return tensor::ExpandShapeOp::create(b, loc, resultType, result, rows);
}

/// y[..., n] = round_R(Σ_k x[..., k] · w[k, n]) with w[k, n] (or w[n, k] when
/// `transpose`) dequantized inside the reduction when `scales` is given, so a
/// quantized weight is never materialized.
///
/// Schedule: the iteration space is (lead..., k, n) with the output columns
/// innermost, so each step streams a contiguous row of the weight into a row
/// of f32 accumulators (vectorized along n by LLVM for the host's vector
/// width) and the sum over k keeps its sequential order. Large contractions
/// are split into column tiles under an scf.forall, which becomes an OpenMP
/// work-sharing loop.
static Value contraction(ConversionPatternRewriter &rewriter, Location loc,
                         Value x, Value weight, Value scales, bool transpose,
                         RankedTensorType resultType, int64_t tiles) {
  MLIRContext *ctx = rewriter.getContext();
  auto xType = tensorTypeOf(x);
  auto wType = tensorTypeOf(weight);
  unsigned lead = xType.getRank() - 1;
  // Dims: lead..., then k and n (n innermost) or n and k (transposed weight:
  // k is the contiguous dimension there).
  unsigned kDim = transpose ? lead + 1 : lead,
           nDim = transpose ? lead : lead + 1;
  unsigned numDims = lead + 2;
  SmallVector<unsigned> xDims = range(0, lead);
  xDims.push_back(kDim);
  SmallVector<unsigned> outDims = range(0, lead);
  outDims.push_back(nDim);
  SmallVector<IteratorType> iterators(numDims, IteratorType::parallel);
  iterators[kDim] = IteratorType::reduction;

  // Is x[k] * w[k, n] exact in f32 (both at most 11 significant bits)?
  auto narrow = [](Type t) { return t.isBF16() || t.isF16(); };
  Type wElement =
      scales ? tensorTypeOf(scales).getElementType() : wType.getElementType();
  bool exactProduct = narrow(xType.getElementType()) && narrow(wElement);

  // The accumulation of one column tile [lead..., width] starting at column
  // `offset` (the whole output when `width` is N), written into `dest` when
  // given (the tile's slice of the output).
  int64_t n = resultType.getShape().back();
  auto tileAcc = [&](OpBuilder &b, Value offset, int64_t width, Value dest) {
    SmallVector<int64_t> shape(resultType.getShape());
    shape.back() = width;
    Value w = weight, s = scales;
    auto sType = scales ? tensorTypeOf(scales) : RankedTensorType();
    if (width != n) {
      auto slice = [&](Value t, unsigned dim, int64_t size) {
        auto type = tensorTypeOf(t);
        SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
        SmallVector<OpFoldResult> sizes,
            strides(type.getRank(), b.getIndexAttr(1));
        for (int64_t d : type.getShape())
          sizes.push_back(b.getIndexAttr(d));
        offsets[dim] = offset;
        sizes[dim] = b.getIndexAttr(size);
        return tensor::ExtractSliceOp::create(b, loc, t, offsets, sizes,
                                              strides)
            .getResult();
      };
      w = slice(weight, transpose ? 0 : 1, width);
      if (scales && sType.getShape().back() != 1)
        s = slice(scales, 1, width);
    }
    // The tile's scales widened to f32 once, outside the reduction.
    if (scales)
      s = castTensor(b, loc, s, b.getF32Type());
    SmallVector<AffineMap> maps = {projection(ctx, numDims, xDims)};
    maps.push_back(transpose ? projection(ctx, numDims, {nDim, kDim})
                             : projection(ctx, numDims, {kDim, nDim}));
    SmallVector<Value> inputs = {x, w};
    if (scales) {
      maps.push_back(
          scalesMap(ctx, numDims, {}, kDim, nDim, wType, tensorTypeOf(s)));
      inputs.push_back(s);
    }
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
          Value wv = scales ? dequantizeScalar(k, args[1], args[2],
                                               sType.getElementType())
                            : args[1];
          Value xv = k.toF32(args[0]);
          wv = k.toF32(wv);
          // A product of two 16-bit floats is exact in f32, so a fused
          // multiply-add rounds exactly like the multiply and add.
          if (exactProduct)
            return math::FmaOp::create(k.builder(), k.location(), xv, wv,
                                       args.back())
                .getResult();
          return k.add(args.back(), k.mul(xv, wv));
        });
    return castTensor(b, loc, acc, element, dest);
  };

  int64_t m = 1;
  for (int64_t d : resultType.getShape().drop_back())
    m *= d;
  if (scales && m > 1)
    return rowReuseQMatmul(rewriter, loc, x, weight, scales, resultType);
  int64_t width = columnTileWidth(m, n, xType.getShape().back(), tiles);
  if (width == 0)
    return tileAcc(rewriter, Value(), n, Value());

  KernelBuilder kb(rewriter, loc);
  return parallelColumnTiles(
      rewriter, loc,
      kb.empty(resultType.getShape(), resultType.getElementType()), width,
      [&](OpBuilder &b, Value offset, Value dest) {
        return tileAcc(b, offset, width, dest);
      });
}

/// A lowering that splits large contractions into `tiles` column tiles.
template <typename Op> struct ScheduledLowering : OpConversionPattern<Op> {
  ScheduledLowering(TypeConverter &converter, MLIRContext *ctx, int64_t tiles)
      : OpConversionPattern<Op>(converter, ctx), tiles(tiles) {}
  int64_t tiles;
};

struct MatmulLowering : ScheduledLowering<MatmulOp> {
  using ScheduledLowering::ScheduledLowering;
  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, contraction(rewriter, op.getLoc(), adaptor.getLhs(),
                                       adaptor.getRhs(), Value(),
                                       op.getTransposeRhs(),
                                       tensorTypeOf(op.getResult()), tiles));
    return success();
  }
};

struct QMatmulLowering : ScheduledLowering<QMatmulOp> {
  using ScheduledLowering::ScheduledLowering;
  LogicalResult
  matchAndRewrite(QMatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op,
                       contraction(rewriter, op.getLoc(), adaptor.getInput(),
                                   adaptor.getWeight(), adaptor.getScales(),
                                   false, tensorTypeOf(op.getResult()), tiles));
    return success();
  }
};

/// y[m, j, :] = x[m, (j,) :] · W[experts[m, j]], tokens grouped by expert:
///
///   1. a stable counting sort of the M·k slots by expert index gives, for
///      each expert, the list of slots that selected it;
///   2. for each expert with at least one slot, and each weight row kk, the
///      row is dequantized once into an f32 vector of the column tile, and
///      every slot of the expert accumulates x[slot, kk] times it.
///
/// So only the selected experts' weights are read, each once per call, and
/// the sum over kk keeps its sequential order. Column tiles run on threads
/// (an scf.forall) when the work is large enough.
struct ExpertQMatmulLowering : ScheduledLowering<ExpertQMatmulOp> {
  using ScheduledLowering::ScheduledLowering;
  LogicalResult
  matchAndRewrite(ExpertQMatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto xType = tensorTypeOf(op.getInput());
    auto eType = tensorTypeOf(op.getExperts());
    auto wType = tensorTypeOf(op.getWeight());
    auto sType = tensorTypeOf(op.getScales());
    auto resultType = tensorTypeOf(op.getResult());
    int64_t perToken = eType.getDimSize(1);
    int64_t slots = eType.getDimSize(0) * perToken;
    int64_t numExperts = wType.getDimSize(0), depth = wType.getDimSize(1),
            n = wType.getDimSize(2);
    bool sharedInput = xType.getRank() == 2;
    Value experts = adaptor.getExperts(), x = adaptor.getInput(),
          weight = adaptor.getWeight(), scales = adaptor.getScales();
    KernelBuilder kb(rewriter, loc);
    using P = arith::CmpIPredicate;

    // 1. Group the slots. count[e + 1] counts expert e's slots (slots with
    // an index outside [0, E) go to bucket E and are never computed: their
    // rows stay zero); the prefix sums make start[e] .. start[e + 1] the
    // range of `order` holding expert e's slots, in slot order.
    auto expertOf = [&](KernelBuilder &k, Value slot) {
      Value e = k.toIndex(k.extract(
          experts,
          {arith::DivUIOp::create(k.builder(), loc, slot, k.index(perToken)),
           arith::RemUIOp::create(k.builder(), loc, slot, k.index(perToken))}));
      Value valid = k.andi(k.cmpi(P::sge, e, k.index(0)),
                           k.cmpi(P::slt, e, k.index(numExperts)));
      return k.select(valid, e, k.index(numExperts));
    };
    Value counts = kb.filled({numExperts + 2}, kb.index(0));
    counts = kb.forLoop(0, slots, counts,
                        [&](KernelBuilder &k, Value slot, ValueRange args) {
                          Value at = k.addi(expertOf(k, slot), k.index(1));
                          Value c = k.extract(args[0], {at});
                          return SmallVector<Value>{
                              k.insert(k.addi(c, k.index(1)), args[0], {at})};
                        })[0];
    Value starts =
        kb.forLoop(0, numExperts + 1, counts,
                   [&](KernelBuilder &k, Value e, ValueRange args) {
                     Value next = k.addi(e, k.index(1));
                     Value sum = k.addi(k.extract(args[0], {e}),
                                        k.extract(args[0], {next}));
                     return SmallVector<Value>{k.insert(sum, args[0], {next})};
                   })[0];
    Value order = kb.empty({slots}, rewriter.getIndexType());
    order = kb.forLoop(0, slots, {order, starts},
                       [&](KernelBuilder &k, Value slot, ValueRange args) {
                         Value e = expertOf(k, slot);
                         Value p = k.extract(args[1], {e});
                         return SmallVector<Value>{
                             k.insert(slot, args[0], {p}),
                             k.insert(k.addi(p, k.index(1)), args[1], {e})};
                       })[0];

    // 2. Accumulate [slots, N] in f32.
    Type scaleType = sType.getElementType();
    bool exactProduct = exactProductInF32(xType.getElementType(), scaleType);
    // x of slot `p` of `order` at weight row `kk`, as f32.
    auto slotX = [&](KernelBuilder &k, Value p, Value kk) {
      Value slot = k.extract(order, {p});
      Value token =
          arith::DivUIOp::create(k.builder(), loc, slot, k.index(perToken));
      Value xv = k.toF32(
          sharedInput
              ? k.extract(x, {token, kk})
              : k.extract(x, {token,
                              arith::RemUIOp::create(k.builder(), loc, slot,
                                                     k.index(perToken)),
                              kk}));
      return std::make_pair(slot, xv);
    };
    // Many slots (prefill): the dense multi-row schedule per expert. Its
    // slots go in blocks of up to kRowBlock; kRowUnroll weight rows are
    // dequantized at a time and applied in one pass over the block's
    // accumulators, which stay in L2 (the column tile is sized for a full
    // block). The sum over kk keeps its order, so results are unchanged.
    bool rowBlocked = slots >= 8;
    auto blockedTile = [&](OpBuilder &b, Value offset, Value slice) -> Value {
      KernelBuilder t(b, loc);
      int64_t width = tensorTypeOf(slice).getShape().back();
      Value acc =
          linalg::FillOp::create(b, loc, t.f32(0.0), slice).getResult(0);
      SmallVector<Value> scratch;
      for (int64_t u = 0; u < kRowUnroll; ++u)
        scratch.push_back(t.empty({width}, b.getF32Type()));
      int64_t mainDepth = depth / kRowUnroll * kRowUnroll;
      return t.forLoop(
          0, numExperts, acc, [&](KernelBuilder &k, Value e, ValueRange args) {
            Value lo = k.extract(starts, {e});
            Value hi = k.extract(starts, {k.addi(e, k.index(1))});
            Value blocks = arith::CeilDivUIOp::create(
                k.builder(), loc, k.subi(hi, lo), k.index(kRowBlock));
            // An expert no slot selected has no block: its weights are not
            // read.
            return k.forLoop(
                k.index(0), blocks, args[0],
                [&](KernelBuilder &k, Value blk, ValueRange a) {
                  Value bLo = k.addi(lo, k.muli(blk, k.index(kRowBlock)));
                  Value bHi = arith::MinUIOp::create(
                      k.builder(), loc, k.addi(bLo, k.index(kRowBlock)), hi);
                  auto rowsFrom = [&](KernelBuilder &kk, Value k0,
                                      int64_t count, Value accs) {
                    SmallVector<Value> vecs, ks;
                    for (int64_t u = 0; u < count; ++u) {
                      ks.push_back(kk.addi(k0, kk.index(u)));
                      vecs.push_back(dequantizedRow(kk.builder(), loc, weight,
                                                    scales, {e}, ks.back(),
                                                    offset, width, scratch[u]));
                    }
                    return accumulateRows(
                        kk, accs, vecs, bLo, bHi, exactProduct,
                        [&](KernelBuilder &kr, Value p) {
                          SmallVector<Value> xs;
                          Value slot;
                          for (Value kIdx : ks)
                            std::tie(slot, xs.emplace_back()) =
                                slotX(kr, p, kIdx);
                          return std::make_pair(slot, xs);
                        });
                  };
                  Value accs = k.forLoop(
                      0, mainDepth / kRowUnroll, a[0],
                      [&](KernelBuilder &kk, Value step, ValueRange c) {
                        Value k0 = kk.muli(step, kk.index(kRowUnroll));
                        return SmallVector<Value>{
                            rowsFrom(kk, k0, kRowUnroll, c[0])};
                      })[0];
                  return k.forLoop(
                      mainDepth, depth, accs,
                      [&](KernelBuilder &kk, Value k0, ValueRange c) {
                        return SmallVector<Value>{rowsFrom(kk, k0, 1, c[0])};
                      });
                });
          })[0];
    };
    auto tile = [&](OpBuilder &b, Value offset, Value slice) -> Value {
      if (rowBlocked)
        return blockedTile(b, offset, slice);
      KernelBuilder t(b, loc);
      int64_t width = tensorTypeOf(slice).getShape().back();
      Value acc =
          linalg::FillOp::create(b, loc, t.f32(0.0), slice).getResult(0);
      Value row = t.empty({width}, b.getF32Type());
      return t.forLoop(
          0, numExperts, acc, [&](KernelBuilder &k, Value e, ValueRange args) {
            Value lo = k.extract(starts, {e});
            Value hi = k.extract(starts, {k.addi(e, k.index(1))});
            // An expert no slot selected is skipped: its weights are not read.
            // One slot (decode): each row dequantized inside its update.
            auto single = [&](KernelBuilder &k) {
              return k.forLoop(
                  0, depth, args[0],
                  [&](KernelBuilder &k, Value kk, ValueRange accs) {
                    auto [slot, xv] = slotX(k, lo, kk);
                    return SmallVector<Value>{
                        fusedRowUpdate(k, accs[0], slot, xv, weight, scales,
                                       {e}, kk, offset, width, exactProduct)};
                  });
            };
            return k.ifThenElse(
                k.cmpi(P::ult, lo, hi), TypeRange{args[0].getType()},
                [&](KernelBuilder &k) {
                  return k.ifThenElse(
                      k.cmpi(P::eq, k.addi(lo, k.index(1)), hi),
                      TypeRange{args[0].getType()}, single,
                      [&](KernelBuilder &k) {
                        return k.forLoop(
                            0, depth, args[0],
                            [&](KernelBuilder &k, Value kk, ValueRange accs) {
                              // The weight row, dequantized once for all the
                              // slots.
                              Value dequantized = dequantizedRow(
                                  k.builder(), loc, weight, scales, {e}, kk,
                                  offset, width, row);
                              return SmallVector<Value>{accumulateRows(
                                  k, accs[0], {dequantized}, lo, hi,
                                  exactProduct, [&](KernelBuilder &k, Value p) {
                                    auto [slot, xv] = slotX(k, p, kk);
                                    return std::make_pair(
                                        slot, SmallVector<Value>{xv});
                                  })};
                            });
                      });
                },
                [&](KernelBuilder &) { return SmallVector<Value>{args[0]}; });
          })[0];
    };
    int64_t width = columnTileWidth(slots, n, depth, tiles);
    if (rowBlocked && slots * n * depth >= kParallelWork) {
      // Accumulators of one full block of slots stay in L2.
      int64_t block = std::min(kRowBlock, slots);
      width = divisorAtMost(
          n, std::min(kRowReuseMaxTile, kRowReuseAccumulators / block), 16);
    }
    Value acc = parallelColumnTiles(rewriter, loc,
                                    kb.empty({slots, n}, rewriter.getF32Type()),
                                    width == 0 ? n : width, tile);
    auto expanded = tensor::ExpandShapeOp::create(
        rewriter, loc,
        RankedTensorType::get(resultType.getShape(), rewriter.getF32Type()),
        acc, SmallVector<ReassociationIndices>{{0, 1}, {2}});
    rewriter.replaceOp(
        op, castTensor(rewriter, loc, expanded, resultType.getElementType()));
    return success();
  }
};

//===----------------------------------------------------------------------===//
// MoE combine
//===----------------------------------------------------------------------===//

struct MoeCombineLowering : OpConversionPattern<MoeCombineOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MoeCombineOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    auto resultType = tensorTypeOf(op.getResult());
    Type r = resultType.getElementType();
    // (m, d, j): gates rounded to R, f32 products, f32 sum in slot order.
    Value acc = buildGeneric(
        rewriter, loc,
        RankedTensorType::get(resultType.getShape(), rewriter.getF32Type()),
        {adaptor.getInput(), adaptor.getGates()},
        filledF32(rewriter, loc, resultType.getShape(), 0.0),
        {projection(ctx, 3, {0, 2, 1}), projection(ctx, 3, {0, 2}),
         projection(ctx, 3, {0, 1})},
        {IteratorType::parallel, IteratorType::parallel,
         IteratorType::reduction},
        [&](KernelBuilder &k, ValueRange args) {
          Value g = k.roundTo(args[1], r);
          return k.add(args[2], k.mul(g, k.toF32(args[0])));
        });
    rewriter.replaceOp(op, castTensor(rewriter, loc, acc, r));
    return success();
  }
};

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
    KernelBuilder kb(rewriter, loc);
    Value result = buildGeneric(
        rewriter, loc, type, {adaptor.getInput(), sumSq, adaptor.getScale()},
        kb.empty(type.getShape(), type.getElementType()),
        {id, leadMap, projection(ctx, r, {r - 1}), id},
        SmallVector<IteratorType>(r, IteratorType::parallel),
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
    KernelBuilder kb(rewriter, loc);
    Value result = buildGeneric(
        rewriter, loc, type, {adaptor.getInput()},
        kb.empty(type.getShape(), type.getElementType()), {id, id},
        SmallVector<IteratorType>(r, IteratorType::parallel),
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
    KernelBuilder kb(rewriter, loc);
    Value result = buildGeneric(
        rewriter, loc, type, {adaptor.getInput(), max, sum},
        kb.empty(type.getShape(), type.getElementType()),
        {id, reducedMap, reducedMap, id},
        SmallVector<IteratorType>(r, IteratorType::parallel),
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
    KernelBuilder kb(rewriter, loc);
    Value result = buildGeneric(
        rewriter, loc, resultType, {adaptor.getIds()},
        kb.empty(resultType.getShape(), resultType.getElementType()),
        {projection(ctx, r, range(0, r - 1)),
         AffineMap::getMultiDimIdentityMap(r, ctx)},
        SmallVector<IteratorType>(r, IteratorType::parallel),
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
    KernelBuilder kb(rewriter, loc);
    Value result = buildGeneric(
        rewriter, loc, type, {x, adaptor.getPositions(), invFreq},
        kb.empty(type.getShape(), type.getElementType()),
        {AffineMap::getMultiDimIdentityMap(4, ctx), projection(ctx, 4, {0, 1}),
         projection(ctx, 4, {3}), AffineMap::getMultiDimIdentityMap(4, ctx)},
        SmallVector<IteratorType>(4, IteratorType::parallel),
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
    KernelBuilder kb(rewriter, loc);
    Value result = buildGeneric(
        rewriter, loc, type, {adaptor.getCache(), adaptor.getPositions()},
        kb.empty(type.getShape(), type.getElementType()),
        {id, projection(ctx, 4, {0}), id},
        SmallVector<IteratorType>(4, IteratorType::parallel),
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

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct ConvertNovaToLinalgPass
    : nova::impl::ConvertNovaToLinalgPassBase<ConvertNovaToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect>();
    target.addIllegalDialect<NovaDialect>();
    // Declarations stay: the mesh, partition rules and (if any are left)
    // parameters are not compute.
    target.addLegalOp<MeshOp, PartitionRulesOp, PartitionRuleOp>();
    bool leftoverParams = false;
    getOperation()->walk([&](ParamOp op) {
      op.emitError() << "nova.param must be a function argument before "
                        "lowering (run nova-params-to-args)";
      leftoverParams = true;
    });
    if (leftoverParams)
      return signalPassFailure();
    TypeConverter converter;
    converter.addConversion([](Type t) { return t; });
    RewritePatternSet patterns(ctx);
    populateNovaToLinalgConversionPatterns(converter, patterns, parallelTiles);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::nova::populateNovaToLinalgConversionPatterns(
    TypeConverter &converter, RewritePatternSet &patterns,
    int64_t parallelTiles) {
  if (parallelTiles <= 0)
    parallelTiles = std::max<int64_t>(2, std::thread::hardware_concurrency());
  patterns.add<MatmulLowering, QMatmulLowering, ExpertQMatmulLowering>(
      converter, patterns.getContext(), parallelTiles);
  patterns.add<DequantizeLowering, QuantizeLowering, MoeCombineLowering,
               RmsNormLowering, ActivationLowering<GeluOp>,
               ActivationLowering<SiluOp>, SoftmaxLowering, EmbeddingLowering,
               RopeLowering, KvCacheUpdateLowering, ShardLowering>(
      converter, patterns.getContext());
  populateNovaLoopKernelPatterns(converter, patterns);
}
