//===- Int8ActivationLowering.cpp - nova.qmatmul's fast numerics ----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// nova.qmatmul with `int8_activations` (the op description has the exact
// arithmetic; nova/runtime/Int8Activations.h is the interpreter's half):
//   1. a[m] = max_k |x[m, k]| and the row's (d, r), one pass over x;
//   2. xq[m, k] = int8(clamp(roundeven(x · r))), an i8 [M, K] tensor;
//   3. per column tile, per chunk of at most 1024 weight rows: S = Σ xq · q,
//      then t = fma(S, s, t);
//   4. y = round_R(t · d).
// Every product xq · q and every partial sum of a chunk is an integer below
// 1024 · 127 · 128 < 2^24, so the sums are computed with f32 fused
// multiply-adds of the converted integers and are exact in any order: the
// same bits as int32 arithmetic, at the cost of the exact schedule without
// its dequantization (a conversion where that has a multiply and a
// rounding). Decode converts the int8 weight rows inside the update, eight
// rows per pass over the accumulators; prefill converts each weight row once
// into f32 scratch and applies it to a block of up to 64 rows of x, as the
// exact schedule does (RowSchedule.h).
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/NovaToLinalg/RowSchedule.h"

#include "nova/runtime/Int8Activations.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <algorithm>
#include <limits>

using namespace mlir;
using namespace mlir::nova;
using utils::IteratorType;

namespace {

/// The per-row quantization of x [M, K]: its int8 values and the scale of
/// each row's sums.
struct QuantizedActivations {
  Value xq; // [M, K] i8
  Value d;  // [M] f32
};

} // namespace

/// Steps 1 and 2 of the file comment.
static QuantizedActivations quantizeRows(KernelBuilder &kb, Value x2) {
  OpBuilder &b = kb.builder();
  Location loc = kb.location();
  MLIRContext *ctx = b.getContext();
  auto type = tensorTypeOf(x2);
  int64_t m = type.getShape()[0], k = type.getShape()[1];
  Type f32 = b.getF32Type();
  AffineMap both = projection(ctx, 2, {0, 1}), row = projection(ctx, 2, {0});
  // a = max_k |x|, NaN-propagating (llvm.maximum vectorizes as a reduction).
  Value absMax = buildGeneric(
      b, loc, RankedTensorType::get({m}, f32), {x2}, kb.filled({m}, kb.f32(0)),
      {both, row}, {IteratorType::parallel, IteratorType::reduction},
      [&](KernelBuilder &g, ValueRange a) {
        Value v =
            math::AbsFOp::create(g.builder(), g.location(), g.toF32(a[0]));
        return g.maximumReduction(a[1], v);
      });
  AffineMap id1 = AffineMap::getMultiDimIdentityMap(1, ctx);
  auto rowType = RankedTensorType::get({m}, f32);
  // Rows below kInt8MinAbsMax quantize to zero; non-finite rows give NaN.
  auto quantizable = [&](KernelBuilder &g, Value a) {
    Value finite = g.cmpf(arith::CmpFPredicate::OLT, a,
                          g.f32(std::numeric_limits<float>::infinity()));
    Value large =
        g.cmpf(arith::CmpFPredicate::OGE, a, g.f32(::nova::rt::kInt8MinAbsMax));
    return std::make_pair(finite, g.andi(finite, large));
  };
  Value max = kb.f32(::nova::rt::kInt8ActivationMax);
  Value d = buildElementwise(
      b, loc, rowType, {absMax}, {id1, id1},
      [&](KernelBuilder &g, ValueRange a) {
        auto [finite, used] = quantizable(g, a[0]);
        Value scaled = g.select(used, g.div(a[0], max), g.f32(0));
        return g.select(finite, scaled,
                        g.f32(std::numeric_limits<float>::quiet_NaN()));
      });
  Value r =
      buildElementwise(b, loc, rowType, {absMax}, {id1, id1},
                       [&](KernelBuilder &g, ValueRange a) {
                         Value used = quantizable(g, a[0]).second;
                         return g.select(used, g.div(max, a[0]), g.f32(0));
                       });
  Value xq = buildElementwise(
      b, loc, RankedTensorType::get({m, k}, b.getI8Type()), {x2, r},
      {both, row, both}, [&](KernelBuilder &g, ValueRange a) {
        OpBuilder &gb = g.builder();
        Location l = g.location();
        Value t = g.mul(g.toF32(a[0]), a[1]);
        t = math::RoundEvenOp::create(gb, l, t);
        t = arith::MaxNumFOp::create(gb, l, t, g.neg(max));
        t = arith::MinNumFOp::create(gb, l, t, max);
        return arith::FPToSIOp::create(gb, l, gb.getI8Type(), t).getResult();
      });
  return {xq, d};
}

/// An int8 value as an f32 (exact).
static Value intToF32(KernelBuilder &g, Value v) {
  return arith::SIToFPOp::create(g.builder(), g.location(),
                                 g.builder().getF32Type(), v);
}

/// acc[0, :] += Σ_j xq[row, ks[j]] · q[ks[j], tile columns] for one row of x
/// (decode): the int8 weight rows converted inside the update, one pass over
/// the accumulators per group of rows.
static Value fusedInt8Rows(KernelBuilder &kb, const WeightTile &tile, Value xq,
                           ArrayRef<Value> ks, Value acc, Value row) {
  OpBuilder &b = kb.builder();
  Location loc = kb.location();
  SmallVector<Value> inputs, xs;
  for (Value k : ks) {
    inputs.push_back(
        rowOf(b, loc, tile.weight.q, {k, tile.offset}, tile.width));
    xs.push_back(intToF32(kb, kb.extract(xq, {row, k})));
  }
  AffineMap id1 = AffineMap::getMultiDimIdentityMap(1, b.getContext());
  SmallVector<AffineMap> maps(inputs.size() + 1, id1);
  return updateAccumulatorRow(
      b, loc, acc, kb.index(0), tile.width, [&](Value accRow) {
        return buildGeneric(b, loc, tensorTypeOf(accRow), inputs, accRow, maps,
                            {IteratorType::parallel},
                            [&](KernelBuilder &g, ValueRange a) {
                              Value sum = a.back();
                              for (size_t j = 0; j < xs.size(); ++j)
                                sum = g.fma(xs[j], intToF32(g, a[j]), sum);
                              return sum;
                            });
      });
}

/// acc[p, :] += Σ_k xq[lo + p, k] · q[k, tile columns] for p in [0, block)
/// and k in [k0, k0 + rows) (prefill): kRowUnroll weight rows at a time
/// converted to f32 once into `scratch` and applied to every row of the
/// block.
static Value blockInt8Rows(KernelBuilder &kb, const WeightTile &tile,
                           ArrayRef<Value> scratch, Value xq, Value acc,
                           Value lo, Value k0, int64_t rows, int64_t block) {
  Location loc = kb.location();
  return forWeightRowGroups(
      kb, rows, kRowUnroll, acc,
      [&](KernelBuilder &kk, ArrayRef<Value> ks, Value a) {
        OpBuilder &b = kk.builder();
        SmallVector<Value> vecs, abs;
        for (auto [u, k] : llvm::enumerate(ks)) {
          abs.push_back(kk.addi(k0, k));
          Value q = rowOf(b, loc, tile.weight.q, {abs.back(), tile.offset},
                          tile.width);
          vecs.push_back(linalg::MapOp::create(
                             b, loc, ValueRange{q}, scratch[u],
                             [&](OpBuilder &mb, Location l, ValueRange args) {
                               KernelBuilder g(mb, l);
                               linalg::YieldOp::create(mb, l,
                                                       intToF32(g, args[0]));
                             })
                             .getResult()[0]);
        }
        return accumulateRows(
            kk, a, vecs, kk.index(0), kk.index(block), /*exactProduct=*/true,
            [&](KernelBuilder &kr, Value p) {
              Value row = kr.addi(lo, p);
              SmallVector<Value> xs;
              for (Value k : abs)
                xs.push_back(intToF32(kr, kr.extract(xq, {row, k})));
              return std::make_pair(p, xs);
            });
      });
}

/// facc[lo + p, :] = fma(S[p, :], s[block, tile columns], facc) for the
/// chunk starting at weight row `k0`, S its exact sums.
static Value applyChunk(KernelBuilder &kb, const WeightTile &tile, Value sums,
                        Value facc, Value lo, Value k0, int64_t rows) {
  OpBuilder &b = kb.builder();
  Location loc = kb.location();
  MLIRContext *ctx = b.getContext();
  const QuantizedWeight &w = tile.weight;
  Value block = arith::DivUIOp::create(b, loc, k0, kb.index(w.rowsPerBlock));
  Value scale, scaleRow;
  if (w.perColumn)
    scaleRow = rowOf(b, loc, w.scales, {block, tile.offset}, tile.width);
  else
    scale = kb.toF32(kb.extract(w.scales, {block, kb.index(0)}));
  SmallVector<OpFoldResult> offsets = {lo, b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes = {b.getIndexAttr(rows),
                                     b.getIndexAttr(tile.width)};
  SmallVector<OpFoldResult> strides(2, b.getIndexAttr(1));
  Value slice =
      tensor::ExtractSliceOp::create(b, loc, facc, offsets, sizes, strides);
  AffineMap both = projection(ctx, 2, {0, 1});
  SmallVector<Value> inputs = {sums};
  SmallVector<AffineMap> maps = {both};
  if (scaleRow) {
    inputs.push_back(scaleRow);
    maps.push_back(projection(ctx, 2, {1}));
  }
  maps.push_back(both);
  Value updated = buildGeneric(
      b, loc, tensorTypeOf(slice), inputs, slice, maps,
      {IteratorType::parallel, IteratorType::parallel},
      [&](KernelBuilder &g, ValueRange a) {
        return g.fma(a[0], scaleRow ? g.toF32(a[1]) : scale, a.back());
      });
  return tensor::InsertSliceOp::create(b, loc, updated, facc, offsets, sizes,
                                       strides);
}

Value mlir::nova::int8ActivationMatmul(OpBuilder &b, Location loc, Value x,
                                       const QuantizedWeight &weight,
                                       RankedTensorType resultType,
                                       const ScheduleOptions &options) {
  KernelBuilder kb(b, loc);
  MLIRContext *ctx = b.getContext();
  RowBlockedMatmul rb = RowBlockedMatmul::get(b, loc, x, resultType, options);
  int64_t m = rb.m, k = rb.k, n = rb.n, block = rb.block, width = rb.width;
  QuantizedActivations act = quantizeRows(kb, rb.x2);
  int64_t chunk = ::nova::rt::int8ChunkRows(weight.rowsPerBlock);
  Type element = resultType.getElementType();
  auto tile = [&](OpBuilder &tb, Value offset, Value dest) -> Value {
    KernelBuilder t(tb, loc);
    WeightTile wt{weight, {}, offset, width, /*exactProduct=*/false};
    Value facc = t.filled({m, width}, t.f32(0.0));
    // The sums of one block and chunk, carried through the loops so that
    // each chunk clears them in place.
    Value sums = t.empty({block, width}, tb.getF32Type());
    SmallVector<Value> scratch;
    if (m > 1)
      scratch = rowScratch(t, width);
    SmallVector<Value> accs = t.forLoop(
        0, m / block, {facc, sums},
        [&](KernelBuilder &kbl, Value blk, ValueRange faccs) {
          Value lo = kbl.muli(blk, kbl.index(block));
          return kbl.forLoop(
              0, k / chunk, faccs,
              [&](KernelBuilder &kc, Value c, ValueRange fc) {
                Value k0 = kc.muli(c, kc.index(chunk));
                Value s = linalg::FillOp::create(kc.builder(), loc, kc.f32(0.0),
                                                 fc[1])
                              .getResult(0);
                if (m > 1)
                  s = blockInt8Rows(kc, wt, scratch, act.xq, s, lo, k0, chunk,
                                    block);
                else
                  s = forWeightRowGroups(
                      kc, chunk, kFusedRowUnroll, s,
                      [&](KernelBuilder &kg, ArrayRef<Value> ks, Value a) {
                        SmallVector<Value> abs;
                        for (Value kr : ks)
                          abs.push_back(kg.addi(k0, kr));
                        return fusedInt8Rows(kg, wt, act.xq, abs, a,
                                             kg.index(0));
                      });
                return SmallVector<Value>{
                    applyChunk(kc, wt, s, fc[0], lo, k0, block), s};
              });
        });
    facc = accs[0];
    // y = round_R(t · d).
    AffineMap both = projection(ctx, 2, {0, 1}), row = projection(ctx, 2, {0});
    return buildGeneric(tb, loc, tensorTypeOf(dest), {facc, act.d}, dest,
                        {both, row, both},
                        {IteratorType::parallel, IteratorType::parallel},
                        [&](KernelBuilder &g, ValueRange a) {
                          return g.castFloat(g.mul(a[0], a[1]), element);
                        });
  };
  return rb.expand(
      b, loc,
      parallelColumnTiles(b, loc, kb.empty({m, n}, element), width, tile),
      resultType);
}
