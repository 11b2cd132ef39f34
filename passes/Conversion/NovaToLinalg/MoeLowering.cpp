//===- MoeLowering.cpp - moe_route, expert_qmatmul, moe_combine -----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The mixture-of-experts ops: nova.moe_route as one loop over tokens (f32
// softmax and top-k selection, or the forced experts, in a single pass
// each; masked tokens skipped), nova.expert_qmatmul with tokens grouped by
// expert so that only the selected experts' weights are read and slots of
// no expert (-1) cost nothing (the row schedule of RowSchedule.h), and
// nova.moe_combine as a linalg.generic summing the slots in order.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/NovaToLinalg/RowSchedule.h"

#include "dialect/NovaOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <algorithm>
#include <cmath>

using namespace mlir;
using namespace mlir::nova;
using utils::IteratorType;
using IPred = arith::CmpIPredicate;

namespace {

/// Reshapes `v` [L..., X] to [R, X] (R = product of L...).
Value to2d(OpBuilder &b, Location loc, Value v) {
  auto type = tensorTypeOf(v);
  int64_t rows = 1;
  for (int64_t d : type.getShape().drop_back())
    rows *= d;
  auto target = RankedTensorType::get({rows, type.getShape().back()},
                                      type.getElementType());
  if (type.getRank() == 2)
    return v;
  if (type.getRank() == 1)
    return tensor::ExpandShapeOp::create(
        b, loc, target, v, SmallVector<ReassociationIndices>{{0, 1}});
  return tensor::CollapseShapeOp::create(b, loc, target, v,
                                         collapseLeading(type.getRank()));
}

/// The inverse of to2d for a result of shape `shape`.
Value from2d(OpBuilder &b, Location loc, Value v, RankedTensorType type) {
  if (type.getRank() == 2)
    return v;
  if (type.getRank() == 1)
    return tensor::CollapseShapeOp::create(
        b, loc, type, v, SmallVector<ReassociationIndices>{{0, 1}});
  return tensor::ExpandShapeOp::create(b, loc, type, v,
                                       collapseLeading(type.getRank()));
}

/// Reshapes a per-token tensor [L...] to [R] (R = product of L...; a
/// scalar becomes [1]).
Value toRows(OpBuilder &b, Location loc, Value v, int64_t rows) {
  auto type = tensorTypeOf(v);
  if (type.getRank() == 1)
    return v;
  auto target = RankedTensorType::get({rows}, type.getElementType());
  if (type.getRank() == 0)
    return tensor::ExpandShapeOp::create(b, loc, target, v,
                                         SmallVector<ReassociationIndices>{});
  ReassociationIndices all;
  for (int64_t d = 0; d < type.getRank(); ++d)
    all.push_back(d);
  return tensor::CollapseShapeOp::create(
      b, loc, target, v, SmallVector<ReassociationIndices>{all});
}

//===----------------------------------------------------------------------===//
// nova.moe_route
//===----------------------------------------------------------------------===//

struct MoeRouteLowering : OpConversionPattern<MoeRouteOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MoeRouteOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    KernelBuilder kb(rewriter, loc);
    Value logits = to2d(rewriter, loc, adaptor.getLogits());
    auto shape = tensorTypeOf(logits).getShape();
    int64_t rows = shape[0], e = shape[1], k = op.getK();
    bool renormalize = op.getRenormalize();
    Type f32 = rewriter.getF32Type();
    Type i32 = rewriter.getI32Type();
    Value mask = adaptor.getMask()
                     ? toRows(rewriter, loc, adaptor.getMask(), rows)
                     : Value();
    Value forced = adaptor.getForced()
                       ? to2d(rewriter, loc, adaptor.getForced())
                       : Value();

    // One token's softmax and selection (or forced experts), written to
    // row r of outs = (gates, indices).
    auto route = [&](KernelBuilder &kr, Value r,
                     ValueRange outs) -> SmallVector<Value> {
      // Max (NaN-ignoring) and whether any logit is NaN.
      SmallVector<Value> mx =
          kr.forLoop(0, e, {kr.f32(-INFINITY), kr.boolean(false)},
                     [&](KernelBuilder &ke, Value j, ValueRange s) {
                       Value l = ke.extract(logits, {r, j});
                       Value m = arith::MaxNumFOp::create(
                           ke.builder(), ke.location(), s[0], l);
                       return SmallVector<Value>{m, ke.ori(s[1], ke.isNaN(l))};
                     });
      // f32 softmax over the experts: exp(l - m) rounded to f32, sum in
      // f64 rounded to f32, divide (§3.1).
      SmallVector<Value> ex =
          kr.forLoop(0, e, {kr.empty({e}, f32), kr.f64(0)},
                     [&](KernelBuilder &ke, Value j, ValueRange s) {
                       Value l = ke.extract(logits, {r, j});
                       Value p = ke.exp(ke.sub(l, mx[0]));
                       p = ke.select(mx[1], ke.f32(NAN), p);
                       return SmallVector<Value>{ke.insert(p, s[0], {j}),
                                                 ke.add(s[1], ke.toF64(p))};
                     });
      Value sum = kr.castFloat(ex[1], f32);
      Value probs = kr.forLoop(
          0, e, {ex[0]}, [&](KernelBuilder &ke, Value j, ValueRange s) {
            Value p = ke.div(ke.extract(s[0], {j}), sum);
            return SmallVector<Value>{ke.insert(p, s[0], {j})};
          })[0];
      // (gates, indices, f64 sum of the gates in slot order).
      SmallVector<Value> sel;
      if (forced) {
        // Replay: the given experts; -1 (and, unlike the interpreter,
        // which reports them, other ids outside [0, E)) is no expert.
        sel = kr.forLoop(
            0, k, {outs[0], outs[1], kr.f64(0)},
            [&](KernelBuilder &kj, Value slot, ValueRange s) {
              Value id = kj.extract(forced, {r, slot});
              Value ok = kj.andi(kj.cmpi(IPred::sge, id, kj.i32(0)),
                                 kj.cmpi(IPred::slt, id, kj.i32(e)));
              Value at = kj.select(ok, kj.toIndex(id), kj.index(0));
              Value p = kj.select(ok, kj.extract(probs, {at}), kj.f32(0));
              Value idx = kj.select(ok, id, kj.i32(-1));
              return SmallVector<Value>{kj.insert(p, s[0], {r, slot}),
                                        kj.insert(idx, s[1], {r, slot}),
                                        kj.add(s[2], kj.toF64(p))};
            });
      } else {
        // Top-k by k selection scans; ties to the lower expert index.
        SmallVector<Value> top = kr.forLoop(
            0, k,
            {outs[0], outs[1], kr.filled({e}, kr.boolean(false)), kr.f64(0)},
            [&](KernelBuilder &kj, Value slot, ValueRange s) {
              SmallVector<Value> best = kj.forLoop(
                  0, e, {kj.index(-1), kj.f32(0)},
                  [&](KernelBuilder &ke, Value j, ValueRange b) {
                    Value p = ke.extract(probs, {j});
                    Value taken = ke.extract(s[2], {j});
                    Value none = ke.cmpi(IPred::slt, b[0], ke.index(0));
                    Value better = ke.andi(
                        ke.notI1(taken),
                        ke.ori(none, ranksBefore(ke, p, j, b[1], b[0])));
                    return SmallVector<Value>{ke.select(better, j, b[0]),
                                              ke.select(better, p, b[1])};
                  });
              Value gates = kj.insert(best[1], s[0], {r, slot});
              Value idx = kj.insert(kj.indexTo(best[0], i32), s[1], {r, slot});
              Value taken = kj.insert(kj.boolean(true), s[2], {best[0]});
              return SmallVector<Value>{gates, idx, taken,
                                        kj.add(s[3], kj.toF64(best[1]))};
            });
        sel = {top[0], top[1], top[3]};
      }
      Value gates = sel[0];
      if (renormalize) {
        Value total = kr.castFloat(sel[2], f32);
        gates = kr.forLoop(
            0, k, {gates}, [&](KernelBuilder &kj, Value slot, ValueRange s) {
              Value g = kj.div(kj.extract(s[0], {r, slot}), total);
              // A forced slot without an expert keeps gate 0.
              if (forced)
                g = kj.select(kj.cmpi(IPred::sge, kj.extract(sel[1], {r, slot}),
                                      kj.i32(0)),
                              g, kj.f32(0));
              return SmallVector<Value>{kj.insert(g, s[0], {r, slot})};
            })[0];
      }
      return SmallVector<Value>{gates, sel[1]};
    };

    SmallVector<Value> results = kb.forLoop(
        0, rows, {kb.empty({rows, k}, f32), kb.empty({rows, k}, i32)},
        [&](KernelBuilder &kr, Value r, ValueRange outs) {
          if (!mask)
            return route(kr, r, outs);
          // A masked token selects no expert: index -1, gate 0, and its
          // logits are not read.
          Value entry = kr.extract(mask, {r});
          Value zero =
              entry.getType().isInteger(1) ? kr.boolean(false) : kr.i32(0);
          return kr.ifThenElse(
              kr.cmpi(IPred::ne, entry, zero), outs.getTypes(),
              [&](KernelBuilder &kt) { return route(kt, r, outs); },
              [&](KernelBuilder &kt) {
                return kt.forLoop(
                    0, k, outs,
                    [&](KernelBuilder &kj, Value slot, ValueRange s) {
                      return SmallVector<Value>{
                          kj.insert(kj.f32(0), s[0], {r, slot}),
                          kj.insert(kj.i32(-1), s[1], {r, slot})};
                    });
              });
        });
    rewriter.replaceOp(
        op, {from2d(rewriter, loc, results[0], tensorTypeOf(op.getGates())),
             from2d(rewriter, loc, results[1], tensorTypeOf(op.getIndices()))});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// nova.expert_qmatmul
//===----------------------------------------------------------------------===//

/// The M·k slots grouped by expert: order[starts[e] .. starts[e + 1]) are
/// expert e's slots, in slot order.
struct ExpertGroups {
  Value starts;
  Value order;
};

/// A stable counting sort of the slots by expert index. count[e + 1] counts
/// expert e's slots. Slots without an expert (index -1: a masked token, or
/// an expert another device holds after expert-parallel partitioning) and
/// any other index outside [0, E) go to bucket E, which the expert loops
/// never visit: their input rows and no weights are read, and their rows
/// of the result stay zero. The prefix sums make start[e] .. start[e + 1]
/// the range of `order` holding expert e's slots.
ExpertGroups groupSlotsByExpert(KernelBuilder &kb, Value experts,
                                int64_t numExperts) {
  Location loc = kb.location();
  auto eType = tensorTypeOf(experts);
  int64_t perToken = eType.getDimSize(1);
  int64_t slots = eType.getDimSize(0) * perToken;
  auto expertOf = [&](KernelBuilder &k, Value slot) {
    Value e = k.toIndex(k.extract(
        experts,
        {arith::DivUIOp::create(k.builder(), loc, slot, k.index(perToken)),
         arith::RemUIOp::create(k.builder(), loc, slot, k.index(perToken))}));
    Value valid = k.andi(k.cmpi(IPred::sge, e, k.index(0)),
                         k.cmpi(IPred::slt, e, k.index(numExperts)));
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
  Value starts = kb.forLoop(
      0, numExperts + 1, counts,
      [&](KernelBuilder &k, Value e, ValueRange args) {
        Value next = k.addi(e, k.index(1));
        Value sum = k.addi(k.extract(args[0], {e}), k.extract(args[0], {next}));
        return SmallVector<Value>{k.insert(sum, args[0], {next})};
      })[0];
  Value order = kb.empty({slots}, kb.builder().getIndexType());
  order = kb.forLoop(0, slots, {order, starts},
                     [&](KernelBuilder &k, Value slot, ValueRange args) {
                       Value e = expertOf(k, slot);
                       Value p = k.extract(args[1], {e});
                       return SmallVector<Value>{
                           k.insert(slot, args[0], {p}),
                           k.insert(k.addi(p, k.index(1)), args[1], {e})};
                     })[0];
  return {starts, order};
}

/// One expert_qmatmul's accumulation of [slots, N] in f32, one column tile
/// at a time.
struct ExpertMatmul {
  Location loc;
  /// [M, K] (every slot of a token reads its row) or [M, k, K].
  Value x;
  QuantizedWeight weight;
  int64_t perToken, numExperts;
  bool exactProduct;
  ExpertGroups groups;
  /// Under this i1 (bf16DotExact; null when it cannot apply), blockedTile
  /// takes the paired-row schedule on x's pairs `xPairs`.
  Value paired = Value(), xPairs = Value();

  /// (slot, x of slot `p` of `order` at weight row `kk` as f32).
  std::pair<Value, Value> slotX(KernelBuilder &k, Value p, Value kk) const;
  /// Many slots (prefill): the dense multi-row schedule per expert. Its
  /// slots go in blocks of up to kRowBlock; kRowUnroll weight rows are
  /// dequantized at a time and applied in one pass over the block's
  /// accumulators, which stay in L2 (the column tile is sized for a full
  /// block). The sum over kk keeps its order, so results are unchanged.
  Value blockedTile(OpBuilder &b, Value offset, Value slice) const;
  /// Few slots (decode): per expert, its weight rows dequantized once for
  /// all its slots, or inside the update for a single slot.
  Value slotwiseTile(OpBuilder &b, Value offset, Value slice) const;

private:
  /// acc += the rows of x of slots [lo, hi) (at least one) times the
  /// expert's tile of the weight.
  Value expertSlots(KernelBuilder &k, const WeightTile &tile, Value acc,
                    Value lo, Value hi, Value row) const;
};

std::pair<Value, Value> ExpertMatmul::slotX(KernelBuilder &k, Value p,
                                            Value kk) const {
  Value slot = k.extract(groups.order, {p});
  Value token =
      arith::DivUIOp::create(k.builder(), loc, slot, k.index(perToken));
  Value xv =
      k.toF32(tensorTypeOf(x).getRank() == 2
                  ? k.extract(x, {token, kk})
                  : k.extract(x, {token,
                                  arith::RemUIOp::create(k.builder(), loc, slot,
                                                         k.index(perToken)),
                                  kk}));
  return std::make_pair(slot, xv);
}

Value ExpertMatmul::blockedTile(OpBuilder &b, Value offset, Value slice) const {
  KernelBuilder t(b, loc);
  int64_t width = tensorTypeOf(slice).getShape().back();
  Value acc = linalg::FillOp::create(b, loc, t.f32(0.0), slice).getResult(0);
  SmallVector<Value> scratch = rowScratch(t, width);
  auto inputs = [&](KernelBuilder &kr, Value p, ArrayRef<Value> ks) {
    SmallVector<Value> xs;
    Value slot;
    for (Value kIdx : ks)
      std::tie(slot, xs.emplace_back()) = slotX(kr, p, kIdx);
    return std::make_pair(slot, xs);
  };
  // Slot p's accumulator row and row of x's pairs ([M * k, K / 2] for an x
  // per slot).
  auto pairRows = [&](KernelBuilder &kr, Value p) {
    Value slot = kr.extract(groups.order, {p});
    Value row = tensorTypeOf(x).getRank() == 2
                    ? arith::DivUIOp::create(kr.builder(), loc, slot,
                                             kr.index(perToken))
                          .getResult()
                    : slot;
    return std::make_pair(slot, row);
  };
  auto experts = [&](KernelBuilder &kt, bool pairs) {
    Value panel =
        pairs ? kt.empty({kPanelPairs, width}, b.getI32Type()) : Value();
    return kt.forLoop(
        0, numExperts, acc, [&](KernelBuilder &k, Value e, ValueRange args) {
          Value lo = k.extract(groups.starts, {e});
          Value hi = k.extract(groups.starts, {k.addi(e, k.index(1))});
          Value blocks = arith::CeilDivUIOp::create(
              k.builder(), loc, k.subi(hi, lo), k.index(kRowBlock));
          WeightTile tile{weight, {e}, offset, width, exactProduct};
          // An expert no slot selected has no block: its weights are not
          // read.
          return k.forLoop(
              k.index(0), blocks, args[0],
              [&](KernelBuilder &k, Value blk, ValueRange a) {
                Value bLo = k.addi(lo, k.muli(blk, k.index(kRowBlock)));
                Value bHi = arith::MinUIOp::create(
                    k.builder(), loc, k.addi(bLo, k.index(kRowBlock)), hi);
                if (pairs)
                  return SmallVector<Value>{accumulatePairedRows(
                      k, tile, panel, scratch[0], a[0], xPairs, bLo, bHi,
                      pairRows, [&](KernelBuilder &kr, Value p, Value kk) {
                        return slotX(kr, p, kk);
                      })};
                return SmallVector<Value>{accumulateWeightRows(
                    k, tile, scratch, a[0], bLo, bHi, inputs)};
              });
        });
  };
  if (!paired)
    return experts(t, false)[0];
  return t.ifThenElse(
      paired, TypeRange{acc.getType()},
      [&](KernelBuilder &k) { return experts(k, true); },
      [&](KernelBuilder &k) { return experts(k, false); })[0];
}

Value ExpertMatmul::expertSlots(KernelBuilder &k, const WeightTile &tile,
                                Value acc, Value lo, Value hi,
                                Value row) const {
  int64_t depth = tensorTypeOf(weight.q).getDimSize(1);
  // One slot (decode): each row dequantized inside its update.
  auto single = [&](KernelBuilder &k) {
    Value slot = k.extract(groups.order, {lo});
    return SmallVector<Value>{
        fusedWeightRows(k, tile, acc, slot, [&](KernelBuilder &kk, Value kIdx) {
          return slotX(kk, lo, kIdx).second;
        })};
  };
  auto several = [&](KernelBuilder &k) {
    return k.forLoop(
        0, depth, acc, [&](KernelBuilder &k, Value kk, ValueRange accs) {
          // The weight row, dequantized once for all the slots.
          Value dequantized = dequantizedRow(k.builder(), loc, tile, kk, row);
          return SmallVector<Value>{accumulateRows(
              k, accs[0], {dequantized}, lo, hi, exactProduct,
              [&](KernelBuilder &k, Value p) {
                auto [slot, xv] = slotX(k, p, kk);
                return std::make_pair(slot, SmallVector<Value>{xv});
              })};
        });
  };
  return k.ifThenElse(k.cmpi(IPred::eq, k.addi(lo, k.index(1)), hi),
                      TypeRange{acc.getType()}, single, several)[0];
}

Value ExpertMatmul::slotwiseTile(OpBuilder &b, Value offset,
                                 Value slice) const {
  KernelBuilder t(b, loc);
  int64_t width = tensorTypeOf(slice).getShape().back();
  Value acc = linalg::FillOp::create(b, loc, t.f32(0.0), slice).getResult(0);
  Value row = t.empty({width}, b.getF32Type());
  return t.forLoop(
      0, numExperts, acc, [&](KernelBuilder &k, Value e, ValueRange args) {
        Value lo = k.extract(groups.starts, {e});
        Value hi = k.extract(groups.starts, {k.addi(e, k.index(1))});
        WeightTile tile{weight, {e}, offset, width, exactProduct};
        // An expert no slot selected is skipped: its weights are not read.
        return k.ifThenElse(
            k.cmpi(IPred::ult, lo, hi), TypeRange{args[0].getType()},
            [&](KernelBuilder &k) {
              return SmallVector<Value>{
                  expertSlots(k, tile, args[0], lo, hi, row)};
            },
            [&](KernelBuilder &) { return SmallVector<Value>{args[0]}; });
      })[0];
}

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
    auto resultType = tensorTypeOf(op.getResult());
    int64_t perToken = eType.getDimSize(1);
    int64_t slots = eType.getDimSize(0) * perToken;
    int64_t numExperts = wType.getDimSize(0), depth = wType.getDimSize(1),
            n = wType.getDimSize(2);
    KernelBuilder kb(rewriter, loc);

    ExpertGroups groups =
        groupSlotsByExpert(kb, adaptor.getExperts(), numExperts);
    QuantizedWeight weight =
        QuantizedWeight::get(kb, adaptor.getWeight(), adaptor.getScales());
    ExpertMatmul em{
        loc,        adaptor.getInput(),
        weight,     perToken,
        numExperts, exactProductInF32(xType.getElementType(), weight.scaleType),
        groups};
    bool rowBlocked = slots >= 8;
    int64_t width = columnTileWidth(slots, n, depth, options);
    // Accumulators of one full block of slots stay in L2.
    if (rowBlocked && slots * n * depth >= options.parallelWork)
      width = rowReuseTileWidth(n, std::min(kRowBlock, slots));
    // The paired-row schedule where the tier and the values allow it
    // (checked once per call, outside the threads).
    if (options.bf16Dot && rowBlocked &&
        pairedRowsApply(xType.getElementType(), weight, width ? width : n)) {
      em.paired = bf16DotExact(kb, adaptor.getInput(), weight);
      em.xPairs = pairedX(rewriter, loc, adaptor.getInput());
    }
    Value acc = parallelColumnTiles(
        rewriter, loc, kb.empty({slots, n}, rewriter.getF32Type()),
        width == 0 ? n : width, [&](OpBuilder &b, Value offset, Value slice) {
          return rowBlocked ? em.blockedTile(b, offset, slice)
                            : em.slotwiseTile(b, offset, slice);
        });
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
// nova.moe_combine
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

} // namespace

void mlir::nova::populateMoeLoweringPatterns(TypeConverter &converter,
                                             RewritePatternSet &patterns,
                                             const ScheduleOptions &options) {
  patterns.add<ExpertQMatmulLowering>(converter, patterns.getContext(),
                                      options);
  patterns.add<MoeRouteLowering, MoeCombineLowering>(converter,
                                                     patterns.getContext());
}
