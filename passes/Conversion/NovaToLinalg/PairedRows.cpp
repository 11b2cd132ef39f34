//===- PairedRows.cpp - Weight rows in bf16 pairs for bf16 dot products ---===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The multi-row schedule of a quantized matmul with bf16 x and bf16 scales,
// for CPU tiers with a bf16 dot product (AVX512-BF16's vdpbf16ps). Each pair
// of weight rows (k, k + 1) of a column tile is dequantized once into one
// row of 32-bit words, W[k, n] in the high half and W[k + 1, n] in the low,
// and the tier function kCpuDotBf16Pairs adds both products to each f32
// accumulator, the high half first:
//
//     acc = fma(x[k], W[k, n], acc);  acc = fma(x[k + 1], W[k + 1, n], acc)
//
// each step rounded once (vdpbf16ps's definition; tiers without it run the
// two FMAs). The sum over k therefore keeps its sequential order and gives
// the f32 schedule's bits, provided nothing is subnormal: the instruction
// reads subnormal inputs as zero and flushes subnormal results.
// bf16DotExact checks that once per call, and a call that fails it takes the
// f32 schedule. The pairs are dequantized a panel (kPanelPairs of them) at a
// time, and a micro-kernel holds a block of accumulators (kPairRows rows of
// x by kPairChunks 16-column chunks) in registers over the whole panel.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/NovaToLinalg/RowSchedule.h"

#include "passes/Conversion/CpuTierFunctions.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

#include <functional>

using namespace mlir;
using namespace mlir::nova;

namespace {
/// f32 lanes of one bf16 dot product (a 512-bit register).
constexpr int64_t kLanes = 16;
/// The micro-kernel's accumulators: kPairRows rows of x by kPairChunks
/// 16-column chunks, 16 registers (of 32), with one register per chunk for
/// the weight pairs; the x pairs are broadcast from memory.
constexpr int64_t kPairRows = 4;
constexpr int64_t kPairChunks = 4;
} // namespace

/// The smallest biased exponent over the bf16 tensor `t`, where a zero
/// counts as 255 (it constrains nothing) and a subnormal, an infinity or a
/// NaN as 0. Loops over `t` as it is: collapsing a slice that is not
/// contiguous (a K-sharded x) would copy it.
static Value smallestExponent(KernelBuilder &kb, Value t) {
  Location loc = kb.location();
  auto type = tensorTypeOf(t);
  Type i16 = kb.builder().getI16Type(), i32 = kb.builder().getI32Type();
  SmallVector<Value> at;
  std::function<Value(KernelBuilder &, int64_t, Value)> over =
      [&](KernelBuilder &k, int64_t dim, Value acc) -> Value {
    if (dim == type.getRank()) {
      Value bits = arith::ExtUIOp::create(k.builder(), loc, i32,
                                          k.bitcast(k.extract(t, at), i16));
      Value exponent = k.andi(k.shrui(bits, k.i32(7)), k.i32(255));
      Value zero = k.cmpi(arith::CmpIPredicate::eq, k.andi(bits, k.i32(0x7fff)),
                          k.i32(0));
      Value special =
          k.ori(k.cmpi(arith::CmpIPredicate::eq, exponent, k.i32(0)),
                k.cmpi(arith::CmpIPredicate::eq, exponent, k.i32(255)));
      Value key =
          k.select(zero, k.i32(255), k.select(special, k.i32(0), exponent));
      return arith::MinSIOp::create(k.builder(), loc, key, acc).getResult();
    }
    return k.forLoop(0, type.getShape()[dim], {acc},
                     [&](KernelBuilder &kk, Value i, ValueRange a) {
                       at.push_back(i);
                       Value r = over(kk, dim + 1, a[0]);
                       at.pop_back();
                       return SmallVector<Value>{r};
                     })[0];
  };
  return over(kb, 0, kb.i32(255));
}

Value mlir::nova::bf16DotExact(KernelBuilder &kb, Value x,
                               const QuantizedWeight &weight) {
  OpBuilder &b = kb.builder();
  Location loc = kb.location();
  Value tier = func::CallOp::create(b, loc, kCpuHasBf16Dot,
                                    TypeRange{b.getI1Type()}, ValueRange{})
                   .getResult(0);
  // x = a · 2^(ex - 134) and W = c · 2^(ew - 134) with integers a, c below
  // 2^8, and ew >= es (|q| >= 1, rounding is monotonic): with ex + es >=
  // 142, every product and every partial sum is a multiple of 2^-126, so no
  // nonzero one is subnormal.
  Value ex = smallestExponent(kb, x), es = smallestExponent(kb, weight.scales);
  auto atLeast = [&](Value v, int64_t bound) {
    return kb.cmpi(arith::CmpIPredicate::sge, v, kb.i32(bound));
  };
  Value normal = kb.andi(atLeast(ex, 1), atLeast(es, 1));
  Value ok = kb.andi(normal, atLeast(kb.addi(ex, es), 142));
  return kb.andi(kb.andi(tier, weight.splittable), ok);
}

/// Rows k and k + 1 of `tile` dequantized (split rounding) and packed into
/// `init` ([width] i32): bf16(W[k]) << 16 | bf16(W[k + 1]).
static Value pairedRow(OpBuilder &b, Location loc, const WeightTile &tile,
                       Value k, Value init) {
  KernelBuilder kb(b, loc);
  QuantizedRow first = quantizedRow(b, loc, tile, k);
  QuantizedRow second = quantizedRow(b, loc, tile, kb.addi(k, kb.index(1)));
  SmallVector<Value> inputs(first.inputs);
  llvm::append_range(inputs, second.inputs);
  size_t split = first.inputs.size();
  Type i32 = b.getI32Type();
  return linalg::MapOp::create(
             b, loc, inputs, init,
             [&](OpBuilder &mb, Location l, ValueRange a) {
               KernelBuilder g(mb, l);
               Value hi = g.bitcast(first.dequantize(g, a.take_front(split),
                                                     /*split=*/true),
                                    i32);
               Value lo = g.bitcast(second.dequantize(g, a.drop_front(split),
                                                      /*split=*/true),
                                    i32);
               linalg::YieldOp::create(
                   mb, l,
                   g.ori(g.andi(hi, g.i32(int32_t(0xffff0000u))),
                         g.shrui(lo, g.i32(16))));
             })
      .getResult()[0];
}

Value mlir::nova::pairedX(OpBuilder &b, Location loc, Value x) {
  KernelBuilder kb(b, loc);
  auto type = tensorTypeOf(x);
  int64_t rank = type.getRank();
  SmallVector<int64_t> shape(type.getShape());
  shape.back() /= 2;
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineExpr> even, odd;
  for (int64_t d = 0; d + 1 < rank; ++d) {
    even.push_back(getAffineDimExpr(d, ctx));
    odd.push_back(getAffineDimExpr(d, ctx));
  }
  AffineExpr j = getAffineDimExpr(rank - 1, ctx);
  even.push_back(j * 2);
  odd.push_back(j * 2 + 1);
  SmallVector<AffineMap> maps = {AffineMap::get(rank, 0, even, ctx),
                                 AffineMap::get(rank, 0, odd, ctx),
                                 AffineMap::getMultiDimIdentityMap(rank, ctx)};
  Type i16 = b.getI16Type(), i32 = b.getI32Type();
  Value pairs = buildGeneric(
      b, loc, RankedTensorType::get(shape, i32), {x, x}, kb.empty(shape, i32),
      maps,
      SmallVector<utils::IteratorType>(rank, utils::IteratorType::parallel),
      [&](KernelBuilder &g, ValueRange a) {
        auto bits = [&](Value v) {
          return arith::ExtUIOp::create(g.builder(), g.location(), i32,
                                        g.bitcast(v, i16))
              .getResult();
        };
        return g.ori(g.shli(bits(a[0]), g.i32(16)), bits(a[1]));
      });
  // The new tensor is contiguous: collapsing it is free.
  if (rank == 2)
    return pairs;
  return tensor::CollapseShapeOp::create(b, loc, pairs, collapseLeading(rank))
      .getResult();
}

namespace {
/// One panel of the paired-row schedule: `pairs` weight row pairs from row
/// k0, dequantized into `panel` ([kPanelPairs, width] i32) and applied to
/// the accumulators of positions [lo, hi).
struct Panel {
  Value panel, xPairs;
  Value k0;
  int64_t pairs;
  Value lo, hi;
  PairedRowOf rowOf;

  /// The accumulators of `rows` positions from p0 at `chunks` 16-column
  /// chunks from col0, updated over the panel's pairs in registers.
  Value microKernel(KernelBuilder &kb, Value acc, Value p0, int64_t rows,
                    Value col0, int64_t chunks) const {
    OpBuilder &b = kb.builder();
    Location loc = kb.location();
    auto f32Vec = VectorType::get({kLanes}, b.getF32Type());
    auto i32Vec = VectorType::get({kLanes}, b.getI32Type());
    SmallVector<Value> accRows, xRows, cols, sums;
    for (int64_t r = 0; r < rows; ++r) {
      auto [accRow, xRow] = rowOf(kb, r ? kb.addi(p0, kb.index(r)) : p0);
      accRows.push_back(accRow);
      xRows.push_back(xRow);
    }
    for (int64_t c = 0; c < chunks; ++c)
      cols.push_back(c ? kb.addi(col0, kb.index(c * kLanes)) : col0);
    for (Value r : accRows)
      for (Value col : cols)
        sums.push_back(vector::TransferReadOp::create(
            b, loc, f32Vec, acc, ValueRange{r, col}, kb.f32(0.0),
            ArrayRef<bool>{true}));
    Value j0 = kb.shrui(k0, kb.index(1));
    SmallVector<Value> updated = kb.forLoop(
        0, pairs, sums, [&](KernelBuilder &k, Value u, ValueRange in) {
          OpBuilder &kb2 = k.builder();
          SmallVector<Value> ws, xs, out;
          for (Value col : cols)
            ws.push_back(vector::TransferReadOp::create(
                kb2, loc, i32Vec, panel, ValueRange{u, col}, k.i32(0),
                ArrayRef<bool>{true}));
          Value j = k.addi(j0, u);
          for (Value xRow : xRows)
            xs.push_back(vector::BroadcastOp::create(
                kb2, loc, i32Vec, k.extract(xPairs, {xRow, j})));
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < chunks; ++c)
              out.push_back(func::CallOp::create(
                                kb2, loc, kCpuDotBf16Pairs, TypeRange{f32Vec},
                                ValueRange{in[r * chunks + c], xs[r], ws[c]})
                                .getResult(0));
          return out;
        });
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < chunks; ++c)
        acc = vector::TransferWriteOp::create(
                  b, loc, updated[r * chunks + c], acc,
                  ValueRange{accRows[r], cols[c]}, ArrayRef<bool>{true})
                  .getResult();
    return acc;
  }

  /// The panel applied to positions [from, to) in groups of `rows` (which
  /// divides to - from).
  Value rowGroups(KernelBuilder &kb, Value acc, Value from, Value to,
                  int64_t rows) const {
    int64_t width = tensorTypeOf(acc).getShape().back();
    int64_t chunks = width / kLanes;
    int64_t perPass = chunks % kPairChunks == 0 ? kPairChunks
                      : chunks % 2 == 0         ? 2
                                                : 1;
    Value groups = arith::DivUIOp::create(kb.builder(), kb.location(),
                                          kb.subi(to, from), kb.index(rows));
    return kb.forLoop(kb.index(0), groups, acc,
                      [&](KernelBuilder &kr, Value g, ValueRange a) {
                        Value p0 = kr.addi(from, kr.muli(g, kr.index(rows)));
                        return kr.forLoop(
                            0, chunks / perPass, a[0],
                            [&](KernelBuilder &kc, Value c, ValueRange t) {
                              Value col0 =
                                  kc.muli(c, kc.index(perPass * kLanes));
                              return SmallVector<Value>{microKernel(
                                  kc, t[0], p0, rows, col0, perPass)};
                            });
                      })[0];
  }

  /// Dequantizes the panel, then applies it (groups of kPairRows
  /// positions, then single ones).
  Value apply(KernelBuilder &kb, const WeightTile &tile, Value acc) {
    Location loc = kb.location();
    int64_t width = tile.width;
    Value packed = kb.forLoop(
        0, pairs, panel, [&](KernelBuilder &k, Value u, ValueRange t) {
          OpBuilder &b = k.builder();
          Value row = k.addi(k0, k.muli(u, k.index(2)));
          return SmallVector<Value>{
              updateAccumulatorRow(b, loc, t[0], u, width, [&](Value r) {
                return pairedRow(b, loc, tile, row, r);
              })};
        })[0];
    Panel filled = *this;
    filled.panel = packed;
    Value n = kb.subi(hi, lo);
    Value main =
        kb.addi(lo, kb.subi(n, arith::RemUIOp::create(kb.builder(), loc, n,
                                                      kb.index(kPairRows))));
    acc = filled.rowGroups(kb, acc, lo, main, kPairRows);
    return filled.rowGroups(kb, acc, main, hi, 1);
  }
};
} // namespace

bool mlir::nova::pairedRowsApply(Type xElement, const QuantizedWeight &weight,
                                 int64_t width) {
  auto wType = tensorTypeOf(weight.q);
  return xElement.isBF16() && weight.scaleType.isBF16() &&
         width % kLanes == 0 && wType.getShape()[wType.getRank() - 2] >= 2;
}

Value mlir::nova::accumulatePairedRows(KernelBuilder &kb,
                                       const WeightTile &tile, Value panel,
                                       Value scratch, Value acc, Value xPairs,
                                       Value lo, Value hi, PairedRowOf rowOf,
                                       RowXOf xOf) {
  OpBuilder &b = kb.builder();
  Location loc = kb.location();
  auto wType = tensorTypeOf(tile.weight.q);
  int64_t depth = wType.getShape()[wType.getRank() - 2];
  int64_t pairs = depth / 2, full = pairs / kPanelPairs;
  Panel p{panel, xPairs, Value(), kPanelPairs, lo, hi, rowOf};
  if (full)
    acc =
        kb.forLoop(0, full, acc, [&](KernelBuilder &k, Value i, ValueRange a) {
          p.k0 = k.muli(i, k.index(2 * kPanelPairs));
          return SmallVector<Value>{p.apply(k, tile, a[0])};
        })[0];
  if (int64_t rest = pairs - full * kPanelPairs) {
    p.k0 = kb.index(2 * full * kPanelPairs);
    p.pairs = rest;
    acc = p.apply(kb, tile, acc);
  }
  if (depth % 2 == 0)
    return acc;
  // An odd K's last row, in f32.
  Value k = kb.index(depth - 1);
  Value row = dequantizedRow(b, loc, tile, k, scratch);
  return accumulateRows(kb, acc, {row}, lo, hi, /*exactProduct=*/true,
                        [&](KernelBuilder &kr, Value pp) {
                          auto [r, xv] = xOf(kr, pp, k);
                          return std::make_pair(r, SmallVector<Value>{xv});
                        });
}
