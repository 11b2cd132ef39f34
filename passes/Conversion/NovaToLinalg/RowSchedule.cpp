//===- RowSchedule.cpp - The row schedule of quantized contractions -------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/NovaToLinalg/RowSchedule.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::nova;
using utils::IteratorType;

QuantizedWeight QuantizedWeight::get(KernelBuilder &kb, Value q, Value scales) {
  auto wType = tensorTypeOf(q), sType = tensorTypeOf(scales);
  int64_t rows = wType.getShape()[wType.getRank() - 2];
  Type scaleType = sType.getElementType();
  return {q,
          scales,
          rows / sType.getShape()[sType.getRank() - 2],
          sType.getShape().back() != 1,
          scaleType,
          scaleType.isBF16() ? splitDequantizable(kb, scales) : Value()};
}

Value QuantizedRow::dequantize(KernelBuilder &g, ValueRange a,
                               bool split) const {
  Value scale = perColumn ? a[1] : scalar;
  if (!split)
    return dequantizeScalar(g, a[0], scale, scaleType);
  Value s = g.toF32(scale);
  return splitDequantize(g, g.toF32(a[0]), s, splitConstant(g, s));
}

//===----------------------------------------------------------------------===//
// Weight rows
//===----------------------------------------------------------------------===//

Value mlir::nova::rowOf(OpBuilder &b, Location loc, Value t,
                        ArrayRef<OpFoldResult> offsets, int64_t size) {
  auto type = tensorTypeOf(t);
  SmallVector<OpFoldResult> sizes(type.getRank() - 1, b.getIndexAttr(1)),
      strides(type.getRank(), b.getIndexAttr(1));
  sizes.push_back(b.getIndexAttr(size));
  auto resultType = RankedTensorType::get({size}, type.getElementType());
  return tensor::ExtractSliceOp::create(b, loc, resultType, t, offsets, sizes,
                                        strides);
}

QuantizedRow mlir::nova::quantizedRow(OpBuilder &b, Location loc,
                                      const WeightTile &tile, Value k) {
  KernelBuilder kb(b, loc);
  const QuantizedWeight &w = tile.weight;
  QuantizedRow row;
  row.perColumn = w.perColumn;
  row.scaleType = w.scaleType;
  Value block = arith::DivUIOp::create(b, loc, k, kb.index(w.rowsPerBlock));
  SmallVector<OpFoldResult> at(tile.lead.begin(), tile.lead.end());
  at.push_back(k);
  at.push_back(tile.offset);
  row.inputs.push_back(rowOf(b, loc, w.q, at, tile.width));
  at[at.size() - 2] = block;
  if (row.perColumn) {
    row.inputs.push_back(rowOf(b, loc, w.scales, at, tile.width));
  } else {
    SmallVector<Value> idx(tile.lead.begin(), tile.lead.end());
    idx.push_back(block);
    idx.push_back(kb.index(0));
    row.scalar = kb.extract(w.scales, idx);
  }
  return row;
}

Value mlir::nova::dequantizedRow(OpBuilder &b, Location loc,
                                 const WeightTile &tile, Value k, Value init) {
  QuantizedRow row = quantizedRow(b, loc, tile, k);
  auto map = [&](KernelBuilder &kb, bool split) {
    return SmallVector<Value>{
        linalg::MapOp::create(kb.builder(), loc, row.inputs, init,
                              [&](OpBuilder &mb, Location l, ValueRange a) {
                                KernelBuilder g(mb, l);
                                linalg::YieldOp::create(
                                    mb, l, row.dequantize(g, a, split));
                              })
            .getResult()[0]};
  };
  KernelBuilder kb(b, loc);
  if (!tile.weight.splittable)
    return map(kb, false)[0];
  return kb.ifThenElse(
      tile.weight.splittable, TypeRange{init.getType()},
      [&](KernelBuilder &k) { return map(k, true); },
      [&](KernelBuilder &k) { return map(k, false); })[0];
}

/// sum + xv · v, fused when the product is exact in f32.
static Value multiplyAdd(KernelBuilder &g, Location loc, bool exactProduct,
                         Value xv, Value v, Value sum) {
  return exactProduct
             ? math::FmaOp::create(g.builder(), loc, xv, v, sum).getResult()
             : g.add(sum, g.mul(xv, v));
}

Value mlir::nova::updateAccumulatorRow(OpBuilder &b, Location loc, Value acc,
                                       Value r, int64_t width,
                                       function_ref<Value(Value)> update) {
  SmallVector<OpFoldResult> at = {r, b.getIndexAttr(0)};
  Value updated = update(rowOf(b, loc, acc, at, width));
  return tensor::InsertSliceOp::create(
      b, loc, updated, acc, at,
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(width)},
      ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
}

Value mlir::nova::fusedRowsUpdate(KernelBuilder &kb, const WeightTile &tile,
                                  ArrayRef<Value> ks, Value acc, Value r,
                                  ArrayRef<Value> xvs, bool split) {
  OpBuilder &b = kb.builder();
  Location loc = kb.location();
  SmallVector<QuantizedRow> rows;
  for (Value k : ks)
    rows.push_back(quantizedRow(b, loc, tile, k));
  // Rows of one scale block share its scales: load them once.
  bool shared =
      ks.size() == 1 || tile.weight.rowsPerBlock % int64_t(ks.size()) == 0;
  size_t count = ks.size();
  SmallVector<Value> inputs;
  for (const QuantizedRow &row : rows)
    inputs.push_back(row.inputs[0]);
  if (tile.weight.perColumn)
    for (size_t j = 0; j < (shared ? 1 : count); ++j)
      inputs.push_back(rows[j].inputs[1]);
  AffineMap id1 = AffineMap::getMultiDimIdentityMap(1, acc.getContext());
  SmallVector<AffineMap> maps(inputs.size() + 1, id1);
  return updateAccumulatorRow(b, loc, acc, r, tile.width, [&](Value accRow) {
    return buildGeneric(
        b, loc, tensorTypeOf(accRow), inputs, accRow, maps,
        {IteratorType::parallel}, [&](KernelBuilder &g, ValueRange a) {
          Value sum = a.back();
          // Each distinct scale widened (and split) once.
          SmallVector<std::pair<Value, Value>> splits;
          for (size_t j = 0; j < count; ++j) {
            size_t from = shared ? 0 : j;
            Value scale =
                tile.weight.perColumn ? a[count + from] : rows[from].scalar;
            Value w;
            if (split) {
              if (from >= splits.size()) {
                Value s = g.toF32(scale);
                splits.push_back({s, splitConstant(g, s)});
              }
              w = splitDequantize(g, g.toF32(a[j]), splits[from].first,
                                  splits[from].second);
            } else {
              w = dequantizeScalar(g, a[j], scale, tile.weight.scaleType);
            }
            sum = multiplyAdd(g, loc, tile.exactProduct, xvs[j], w, sum);
          }
          return sum;
        });
  });
}

Value mlir::nova::forWeightRowGroups(KernelBuilder &kb, int64_t depth,
                                     int64_t group, Value acc,
                                     RowGroupBody body) {
  int64_t mainDepth = depth / group * group;
  Value a = acc;
  if (mainDepth > 0)
    a = kb.forLoop(0, mainDepth / group, acc,
                   [&](KernelBuilder &kk, Value step, ValueRange c) {
                     SmallVector<Value> ks;
                     Value k0 = kk.muli(step, kk.index(group));
                     for (int64_t u = 0; u < group; ++u)
                       ks.push_back(u ? kk.addi(k0, kk.index(u)) : k0);
                     return SmallVector<Value>{body(kk, ks, c[0])};
                   })[0];
  if (mainDepth == depth)
    return a;
  return kb.forLoop(mainDepth, depth, a,
                    [&](KernelBuilder &kk, Value k0, ValueRange c) {
                      return SmallVector<Value>{body(kk, {k0}, c[0])};
                    })[0];
}

Value mlir::nova::fusedWeightRows(KernelBuilder &kb, const WeightTile &tile,
                                  Value acc, Value r, XOfRow xOf) {
  auto wType = tensorTypeOf(tile.weight.q);
  int64_t depth = wType.getShape()[wType.getRank() - 2];
  auto rows = [&](KernelBuilder &k, int64_t group, bool split) {
    return SmallVector<Value>{forWeightRowGroups(
        k, depth, group, acc,
        [&](KernelBuilder &kk, ArrayRef<Value> ks, Value a) {
          SmallVector<Value> xvs;
          for (Value kIdx : ks)
            xvs.push_back(xOf(kk, kIdx));
          return fusedRowsUpdate(kk, tile, ks, a, r, xvs, split);
        })};
  };
  if (!tile.weight.splittable)
    return rows(kb, kFusedRowUnroll, false)[0];
  // Scales the split cannot take (huge, infinite or NaN) are rare: the exact
  // fallback keeps the code small.
  return kb.ifThenElse(
      tile.weight.splittable, TypeRange{acc.getType()},
      [&](KernelBuilder &k) { return rows(k, kFusedRowUnroll, true); },
      [&](KernelBuilder &k) { return rows(k, 1, false); })[0];
}

Value mlir::nova::accumulateRows(KernelBuilder &kb, Value acc,
                                 ArrayRef<Value> vecs, Value lo, Value hi,
                                 bool exactProduct, RowAndX rowAndX) {
  Location loc = kb.location();
  int64_t width = tensorTypeOf(vecs.front()).getShape().back();
  AffineMap id1 = AffineMap::getMultiDimIdentityMap(1, acc.getContext());
  SmallVector<AffineMap> maps(vecs.size() + 1, id1);
  return kb.forLoop(
      lo, hi, acc, [&](KernelBuilder &k, Value p, ValueRange accs) {
        OpBuilder &b = k.builder();
        std::pair<Value, SmallVector<Value>> rx = rowAndX(k, p);
        return SmallVector<Value>{updateAccumulatorRow(
            b, loc, accs[0], rx.first, width, [&](Value accRow) {
              return buildGeneric(
                  b, loc, tensorTypeOf(accRow), vecs, accRow, maps,
                  {IteratorType::parallel},
                  [&](KernelBuilder &g, ValueRange a) {
                    Value sum = a.back();
                    for (auto [xv, v] : llvm::zip(rx.second, a.drop_back()))
                      sum = multiplyAdd(g, loc, exactProduct, xv, v, sum);
                    return sum;
                  });
            })};
      })[0];
}

SmallVector<Value> mlir::nova::rowScratch(KernelBuilder &kb, int64_t width) {
  SmallVector<Value> scratch;
  for (int64_t u = 0; u < kRowUnroll; ++u)
    scratch.push_back(kb.empty({width}, kb.builder().getF32Type()));
  return scratch;
}

Value mlir::nova::accumulateWeightRows(KernelBuilder &kb,
                                       const WeightTile &tile,
                                       ArrayRef<Value> scratch, Value acc,
                                       Value lo, Value hi, RowInputs inputs) {
  Location loc = kb.location();
  auto wType = tensorTypeOf(tile.weight.q);
  int64_t depth = wType.getShape()[wType.getRank() - 2];
  return forWeightRowGroups(
      kb, depth, kRowUnroll, acc,
      [&](KernelBuilder &kk, ArrayRef<Value> ks, Value a) {
        SmallVector<Value> vecs;
        for (auto [u, k] : llvm::enumerate(ks))
          vecs.push_back(
              dequantizedRow(kk.builder(), loc, tile, k, scratch[u]));
        return accumulateRows(
            kk, a, vecs, lo, hi, tile.exactProduct,
            [&](KernelBuilder &kr, Value p) { return inputs(kr, p, ks); });
      });
}

//===----------------------------------------------------------------------===//
// Column tiles
//===----------------------------------------------------------------------===//

bool mlir::nova::exactProductInF32(Type a, Type b) {
  auto narrow = [](Type t) { return t.isBF16() || t.isF16(); };
  return narrow(a) && narrow(b);
}

int64_t mlir::nova::divisorAtMost(int64_t n, int64_t limit, int64_t align) {
  for (int64_t d = limit / align * align; d >= align; d -= align)
    if (n % d == 0)
      return d;
  return 0;
}

int64_t mlir::nova::columnTileWidth(int64_t m, int64_t n, int64_t k,
                                    const ScheduleOptions &options) {
  if (m * n * k < options.parallelWork)
    return 0;
  for (int64_t align : {64, 16}) {
    if (n % align != 0 || n < 2 * align)
      continue;
    // The widest tile of at most n / tiles columns (rounded to the
    // alignment) that divides n: one wide tile per thread streams the longest
    // contiguous runs of each weight row, which the hardware prefetchers need.
    int64_t width =
        std::max(align, (n / options.parallelTiles) / align * align);
    while (n % width != 0)
      width -= align;
    return width < n ? width : 0;
  }
  return 0;
}

int64_t mlir::nova::rowReuseTileWidth(int64_t n, int64_t block) {
  return divisorAtMost(
      n, std::min(kRowReuseMaxTile, kRowReuseAccumulators / block), 16);
}

RowBlockedMatmul RowBlockedMatmul::get(OpBuilder &b, Location loc, Value x,
                                       RankedTensorType resultType,
                                       const ScheduleOptions &options) {
  auto xType = tensorTypeOf(x);
  RowBlockedMatmul r;
  r.k = xType.getShape().back();
  r.n = resultType.getShape().back();
  r.m = xType.getNumElements() / r.k;
  r.rows = collapseLeading(xType.getRank());
  r.x2 = xType.getRank() == 2
             ? x
             : tensor::CollapseShapeOp::create(b, loc, x, r.rows).getResult();
  r.block = std::max<int64_t>(1, divisorAtMost(r.m, kRowBlock, 1));
  r.width = r.m == 1 ? columnTileWidth(r.m, r.n, r.k, options)
            : r.m * r.n * r.k >= options.parallelWork
                ? rowReuseTileWidth(r.n, r.block)
                : 0;
  if (r.width == 0)
    r.width = r.n;
  return r;
}

Value RowBlockedMatmul::expand(OpBuilder &b, Location loc, Value result,
                               RankedTensorType resultType) const {
  if (resultType.getRank() == 2)
    return result;
  return tensor::ExpandShapeOp::create(b, loc, resultType, result, rows);
}

Value mlir::nova::parallelColumnTiles(
    OpBuilder &b, Location loc, Value init, int64_t width,
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
