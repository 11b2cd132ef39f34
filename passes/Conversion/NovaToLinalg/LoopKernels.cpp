//===- LoopKernels.cpp - moe_route, attention and sample to scf -----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The three Nova ops whose work is data-dependent, lowered to scf.for loops
// on tensors (tensor.extract/insert, iteration arguments) that bufferize in
// place. Each follows its op description; where the description prescribes
// f64 sums or exact f32 steps they are reproduced, so the results agree with
// the reference interpreter (tokens and expert indices exactly).
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/NovaToLinalg/Lowerings.h"

#include "dialect/NovaOps.h"
#include "nova/runtime/Philox.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <cmath>

using namespace mlir;
using namespace mlir::nova;
using Pred = arith::CmpFPredicate;
using IPred = arith::CmpIPredicate;

namespace {

/// (value, index) ranks before (other, otherIndex): descending values, NaN
/// above every number, ties (NaN included) to the lower index.
Value ranksBefore(KernelBuilder &k, Value a, Value ia, Value b, Value ib) {
  Value na = k.isNaN(a), nb = k.isNaN(b);
  Value lower = k.cmpi(IPred::slt, ia, ib);
  Value bothNumbers = k.andi(k.notI1(na), k.notI1(nb));
  Value greater = k.cmpf(Pred::OGT, a, b);
  Value tie = k.andi(k.cmpf(Pred::OEQ, a, b), lower);
  Value numberCase = k.andi(bothNumbers, k.ori(greater, tie));
  Value nanOverNumber = k.andi(na, k.notI1(nb));
  Value bothNaN = k.andi(k.andi(na, nb), lower);
  return k.ori(numberCase, k.ori(nanOverNumber, bothNaN));
}

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
  SmallVector<ReassociationIndices> re(2);
  for (int64_t i = 0; i + 1 < type.getRank(); ++i)
    re[0].push_back(i);
  re[1].push_back(type.getRank() - 1);
  return tensor::CollapseShapeOp::create(b, loc, target, v, re);
}

/// The inverse of to2d for a result of shape `shape`.
Value from2d(OpBuilder &b, Location loc, Value v, RankedTensorType type) {
  if (type.getRank() == 2)
    return v;
  if (type.getRank() == 1)
    return tensor::CollapseShapeOp::create(
        b, loc, type, v, SmallVector<ReassociationIndices>{{0, 1}});
  SmallVector<ReassociationIndices> re(2);
  for (int64_t i = 0; i + 1 < type.getRank(); ++i)
    re[0].push_back(i);
  re[1].push_back(type.getRank() - 1);
  return tensor::ExpandShapeOp::create(b, loc, type, v, re);
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

    SmallVector<Value> results = kb.forLoop(
        0, rows, {kb.empty({rows, k}, f32), kb.empty({rows, k}, i32)},
        [&](KernelBuilder &kr, Value r, ValueRange outs) {
          // Max (NaN-ignoring) and whether any logit is NaN.
          SmallVector<Value> mx = kr.forLoop(
              0, e, {kr.f32(-INFINITY), kr.boolean(false)},
              [&](KernelBuilder &ke, Value j, ValueRange s) {
                Value l = ke.extract(logits, {r, j});
                Value m = arith::MaxNumFOp::create(ke.builder(), ke.location(),
                                                   s[0], l);
                return SmallVector<Value>{m, ke.ori(s[1], ke.isNaN(l))};
              });
          // f32 softmax over the experts: exp(l - m) rounded to f32, sum
          // in f64 rounded to f32, divide (§3.1).
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
          // Top-k by k selection scans; ties to the lower expert index.
          SmallVector<Value> sel = kr.forLoop(
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
                Value idx =
                    kj.insert(kj.indexTo(best[0], i32), s[1], {r, slot});
                Value taken = kj.insert(kj.boolean(true), s[2], {best[0]});
                return SmallVector<Value>{gates, idx, taken,
                                          kj.add(s[3], kj.toF64(best[1]))};
              });
          Value gates = sel[0];
          if (renormalize) {
            Value total = kr.castFloat(sel[3], f32);
            gates =
                kr.forLoop(0, k, {gates},
                           [&](KernelBuilder &kj, Value slot, ValueRange s) {
                             Value g = kj.extract(s[0], {r, slot});
                             return SmallVector<Value>{
                                 kj.insert(kj.div(g, total), s[0], {r, slot})};
                           })[0];
          }
          return SmallVector<Value>{gates, sel[1]};
        });
    rewriter.replaceOp(
        op, {from2d(rewriter, loc, results[0], tensorTypeOf(op.getGates())),
             from2d(rewriter, loc, results[1], tensorTypeOf(op.getIndices()))});
    return success();
  }
};

//===----------------------------------------------------------------------===//
// nova.attention
//===----------------------------------------------------------------------===//

struct AttentionLowering : OpConversionPattern<AttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    KernelBuilder kb(rewriter, loc);
    auto qType = tensorTypeOf(op.getQuery());
    auto kType = tensorTypeOf(op.getKeys());
    int64_t b = qType.getDimSize(0), t = qType.getDimSize(1),
            hq = qType.getDimSize(2), dh = qType.getDimSize(3);
    int64_t s = kType.getDimSize(1), hkv = kType.getDimSize(2);
    int64_t group = hq / hkv;
    Type elem = qType.getElementType();
    float scale = op.getScale().convertToFloat();
    std::optional<float> cap;
    if (op.getCap())
      cap = op.getCap()->convertToFloat();
    Value q = adaptor.getQuery(), keys = adaptor.getKeys(),
          values = adaptor.getValues(), positions = adaptor.getPositions();

    // Per (batch, query, head): one pass over the visible keys with an
    // online softmax (running max, running sum, rescaled accumulator); no
    // score matrix is materialized.
    Value out = kb.forLoop(
        0, b, {kb.empty(qType.getShape(), elem)},
        [&](KernelBuilder &k1, Value bi, ValueRange o1) {
          Value base = k1.toIndex(k1.extract(positions, {bi}));
          return k1.forLoop(
              0, t, {o1[0]}, [&](KernelBuilder &k2, Value ti, ValueRange o2) {
                Value p = k2.addi(base, ti);
                // Keys after p are masked; with p < 0 every key is masked
                // and the -1e30 fill averages them all.
                Value upper =
                    k2.select(k2.cmpi(IPred::slt, p, k2.index(0)), k2.index(s),
                              arith::MinSIOp::create(
                                  k2.builder(), k2.location(),
                                  k2.addi(p, k2.index(1)), k2.index(s)));
                return k2.forLoop(
                    0, hq, {o2[0]},
                    [&](KernelBuilder &k3, Value h, ValueRange o3) {
                      Value kvh = arith::DivUIOp::create(
                          k3.builder(), k3.location(), h, k3.index(group));
                      SmallVector<Value> st = k3.forLoop(
                          k3.index(0), upper,
                          {k3.f32(-INFINITY), k3.f32(0),
                           k3.filled({dh}, k3.f32(0))},
                          [&](KernelBuilder &k4, Value si, ValueRange a) {
                            Value dot = k4.forLoop(
                                0, dh, {k4.f32(0)},
                                [&](KernelBuilder &k5, Value d,
                                    ValueRange acc) {
                                  Value x =
                                      k5.toF32(k5.extract(q, {bi, ti, h, d}));
                                  Value y = k5.toF32(
                                      k5.extract(keys, {bi, si, kvh, d}));
                                  return SmallVector<Value>{
                                      k5.add(acc[0], k5.mul(x, y))};
                                })[0];
                            // Logits in the query's type, then f32 (§0).
                            Value l =
                                k4.mul(k4.roundTo(dot, elem), k4.f32(scale));
                            if (cap)
                              l = k4.mul(k4.f32(*cap),
                                         k4.tanh(k4.div(l, k4.f32(*cap))));
                            l = k4.select(k4.cmpi(IPred::sgt, si, p),
                                          k4.f32(-1e30), l);
                            Value m = k4.max(a[0], l);
                            Value corr = k4.exp(k4.sub(a[0], m));
                            Value w = k4.exp(k4.sub(l, m));
                            Value sum = k4.add(k4.mul(a[1], corr), w);
                            Value acc = k4.forLoop(
                                0, dh, {a[2]},
                                [&](KernelBuilder &k5, Value d, ValueRange ac) {
                                  Value v = k5.toF32(
                                      k5.extract(values, {bi, si, kvh, d}));
                                  Value old = k5.extract(ac[0], {d});
                                  Value upd =
                                      k5.add(k5.mul(old, corr), k5.mul(w, v));
                                  return SmallVector<Value>{
                                      k5.insert(upd, ac[0], {d})};
                                })[0];
                            return SmallVector<Value>{m, sum, acc};
                          });
                      return k3.forLoop(
                          0, dh, {o3[0]},
                          [&](KernelBuilder &k4, Value d, ValueRange o4) {
                            Value v = k4.div(k4.extract(st[2], {d}), st[1]);
                            return SmallVector<Value>{k4.insert(
                                k4.castFloat(v, elem), o4[0], {bi, ti, h, d})};
                          });
                    });
              });
        })[0];
    rewriter.replaceOp(op, out);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// nova.sample
//===----------------------------------------------------------------------===//

/// The 32-bit Philox word for (seed, row, step, i): rt::sampleWord in IR.
Value philoxWord(KernelBuilder &k, Value seed, Value row, Value step, Value i) {
  OpBuilder &b = k.builder();
  Location loc = k.location();
  Type i32 = b.getI32Type();
  Value i32i = k.indexTo(i, i32);
  Value c[4] = {arith::DivUIOp::create(b, loc, i32i, k.i32(4)),
                k.indexTo(row, i32), step, k.i32(0)};
  Value key[2] = {
      arith::TruncIOp::create(b, loc, i32, seed),
      arith::TruncIOp::create(b, loc, i32,
                              arith::ShRUIOp::create(b, loc, seed, k.i64(32)))};
  const uint32_t m0 = 0xD2511F53u, m1 = 0xCD9E8D57u;
  const uint32_t w0 = 0x9E3779B9u, w1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    auto p0 = arith::MulUIExtendedOp::create(
        b, loc, k.i32(static_cast<int32_t>(m0)), c[0]);
    auto p1 = arith::MulUIExtendedOp::create(
        b, loc, k.i32(static_cast<int32_t>(m1)), c[2]);
    Value n0 = k.xori(k.xori(p1.getHigh(), c[1]), key[0]);
    Value n2 = k.xori(k.xori(p0.getHigh(), c[3]), key[1]);
    c[0] = n0;
    c[1] = p1.getLow();
    c[2] = n2;
    c[3] = p0.getLow();
    key[0] = k.addi(key[0], k.i32(static_cast<int32_t>(w0)));
    key[1] = k.addi(key[1], k.i32(static_cast<int32_t>(w1)));
  }
  Value lane = arith::RemUIOp::create(b, loc, i32i, k.i32(4));
  Value word = c[3];
  for (int j = 2; j >= 0; --j)
    word = k.select(k.cmpi(IPred::eq, lane, k.i32(j)), c[j], word);
  return word;
}

/// Gumbel noise for `word` in the logits' type T, as an f32 value:
/// rt::gumbelNoise in IR (tables for bf16/f16, f64 logs for f32).
Value gumbel(KernelBuilder &k, Value word, Type elem) {
  OpBuilder &b = k.builder();
  Location loc = k.location();
  if (elem.isBF16() || elem.isF16()) {
    int m = elem.isBF16() ? 7 : 10, e = elem.isBF16() ? 8 : 5;
    SmallVector<float> table(1u << m);
    for (uint32_t i = 0; i < table.size(); ++i)
      table[i] =
          static_cast<float>(::nova::rt::gumbelNoise(i << (32 - m), m, e));
    auto type = RankedTensorType::get({static_cast<int64_t>(table.size())},
                                      b.getF32Type());
    Value t = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(type, ArrayRef<float>(table)));
    Value idx = k.shrui(word, k.i32(32 - m));
    return k.extract(
        t, {arith::IndexCastUIOp::create(b, loc, b.getIndexType(), idx)});
  }
  Value top =
      arith::UIToFPOp::create(b, loc, b.getF64Type(), k.shrui(word, k.i32(9)));
  Value u = k.mul(top, k.f64(std::ldexp(1.0, -23)));
  u = k.max(u, k.f64(std::ldexp(1.0, -126)));
  Value g = k.neg(k.log(k.neg(k.log(u))));
  return k.castFloat(g, b.getF32Type());
}

/// The largest value gumbel() can return for `elem` (as f32).
float maxGumbel(Type elem) {
  if (elem.isBF16() || elem.isF16()) {
    int m = elem.isBF16() ? 7 : 10, e = elem.isBF16() ? 8 : 5;
    double g = -INFINITY;
    for (uint32_t i = 0; i < (1u << m); ++i)
      g = std::max(g, ::nova::rt::gumbelNoise(i << (32 - m), m, e));
    return static_cast<float>(g);
  }
  // The f32 path: u = (word >> 9) * 2^-23 is largest for an all-ones word.
  double u = std::ldexp(double((1u << 23) - 1), -23);
  return static_cast<float>(-std::log(-std::log(u)));
}

/// Order-preserving unsigned key of an f32 value (-0 folded into +0).
Value sortKey(KernelBuilder &k, Value x) {
  Type i32 = k.builder().getI32Type();
  Value bits = k.bitcast(k.add(x, k.f32(0.0)), i32);
  Value negative = k.cmpi(IPred::slt, bits, k.i32(0));
  return k.select(negative, k.xori(bits, k.i32(-1)),
                  k.ori(bits, k.i32(static_cast<int32_t>(0x80000000u))));
}

/// The f32 value of a key made by sortKey.
Value fromSortKey(KernelBuilder &k, Value key) {
  Value high = k.cmpi(IPred::slt, key, k.i32(0)); // top bit set: x >= 0
  Value bits =
      k.select(high, k.andi(key, k.i32(0x7fffffff)), k.xori(key, k.i32(-1)));
  return k.bitcast(bits, k.builder().getF32Type());
}

/// Logits (batch · V) below which sampling stays on one thread.
constexpr int64_t kParallelSampleWork = int64_t(1) << 15;

struct SampleLowering : OpConversionPattern<SampleOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SampleOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    KernelBuilder kb(rewriter, loc);
    auto lType = tensorTypeOf(op.getLogits());
    int64_t batch = lType.getDimSize(0), v = lType.getDimSize(1);
    int64_t topK = op.getTopK();
    Type elem = lType.getElementType();
    Type f32 = rewriter.getF32Type(), f64 = rewriter.getF64Type(),
         i32 = rewriter.getI32Type();
    Value logits = a.getLogits(), mask = a.getMask(), noise = a.getNoise();
    Value seed, step;
    if (a.getSeed()) {
      seed = kb.extract(a.getSeed(), {});
      step = kb.extract(a.getStep(), {});
    }
    auto roundElem = [&](KernelBuilder &k, Value x) {
      return k.roundTo(x, elem);
    };

    // One row: reads logits row `row`, writes its results at row `outRow`
    // of s[0..3] (the batch outputs, or one row of them); s[4], s[5] are
    // [V] scratch.
    auto rowBody = [&](KernelBuilder &kr, Value row, Value outRow,
                       ValueRange s) -> SmallVector<Value> {
      {
        Value masked = roundElem(kr, kr.f32(-1e10));
        // 1-2. Temperature in the logits' type, mask after it; max.
        Value t = roundElem(kr, kr.extract(a.getTemperature(), {row}));
        SmallVector<Value> pa = kr.forLoop(
            0, v, {s[4], kr.f32(-INFINITY), kr.boolean(false), kr.index(0)},
            [&](KernelBuilder &k, Value i, ValueRange st) {
              Value x =
                  roundElem(k, k.div(k.toF32(k.extract(logits, {row, i})), t));
              if (mask)
                x = k.select(
                    k.cmpi(IPred::eq, k.extract(mask, {row, i}), k.i32(0)),
                    masked, x);
              Value m =
                  arith::MaxNumFOp::create(k.builder(), k.location(), st[1], x);
              return SmallVector<Value>{
                  k.insert(x, st[0], {i}), m, k.ori(st[2], k.isNaN(x)),
                  k.select(k.cmpf(Pred::OGT, x, st[1]), i, st[3])};
            });
        Value xs = pa[0], m = pa[1], anyNaN = pa[2], argmax = pa[3];
        // 3. Nucleus filter threshold.
        Value p = roundElem(kr, kr.extract(a.getTopP(), {row}));
        Value greedy =
            kr.andi(kr.cmpf(Pred::OLE, p, kr.f32(0)), kr.notI1(anyNaN));
        Value finite = kr.andi(kr.cmpf(Pred::ONE, m, kr.f32(INFINITY)),
                               kr.cmpf(Pred::ONE, m, kr.f32(-INFINITY)));
        Value nucleus = kr.andi(kr.andi(kr.cmpf(Pred::OGT, p, kr.f32(0)),
                                        kr.cmpf(Pred::OLT, p, kr.f32(1))),
                                kr.andi(kr.notI1(anyNaN), finite));
        SmallVector<Value> filt = kr.ifThenElse(
            nucleus, {f32, rewriter.getI1Type(), s[5].getType()},
            [&](KernelBuilder &k) {
              return radixThreshold(k, xs, m, p, s[5], v, elem);
            },
            [&](KernelBuilder &k) {
              return SmallVector<Value>{m, greedy, s[5]};
            });
        Value threshold = filt[0], hasThreshold = filt[1];
        auto filtered = [&](KernelBuilder &k, Value i) {
          Value x = k.extract(xs, {i});
          Value drop = k.andi(hasThreshold, k.cmpf(Pred::OLT, x, threshold));
          return k.select(drop, masked, x);
        };
        // 4. Gumbel argmax (first maximum, NaN skipped), and the max of
        //    the filtered logits for step 5. The draw is seeded with the
        //    largest logit's z; an element whose z cannot reach the best
        //    so far even with the largest possible noise is skipped without
        //    generating its noise (with the lower index winning ties, the
        //    result is the sequential first maximum).
        auto zAt = [&](KernelBuilder &k, Value i, Value x) {
          Value g = noise ? k.toF32(k.extract(noise, {row, i}))
                          : gumbel(k, philoxWord(k, seed, row, step, i), elem);
          return roundElem(k, k.add(x, g));
        };
        Value gMax = noise ? Value() : kr.f32(maxGumbel(elem));
        SmallVector<Value> draw = kr.forLoop(
            0, v,
            {zAt(kr, argmax, filtered(kr, argmax)), argmax, kr.f32(-INFINITY),
             kr.boolean(false)},
            [&](KernelBuilder &k, Value i, ValueRange st) {
              Value x = filtered(k, i);
              auto tryElement = [&](KernelBuilder &kz) {
                Value z = zAt(kz, i, x);
                Value wins = kz.ori(kz.cmpf(Pred::OGT, z, st[0]),
                                    kz.andi(kz.cmpf(Pred::OEQ, z, st[0]),
                                            kz.cmpi(IPred::ult, i, st[1])));
                Value better = kz.andi(kz.notI1(kz.isNaN(z)),
                                       kz.ori(kz.isNaN(st[0]), wins));
                return SmallVector<Value>{kz.select(better, z, st[0]),
                                          kz.select(better, i, st[1])};
              };
              SmallVector<Value> best;
              if (gMax) {
                Value hopeless =
                    k.cmpf(Pred::OLT, roundElem(k, k.add(x, gMax)), st[0]);
                best = k.ifThenElse(
                    hopeless, {st[0].getType(), st[1].getType()},
                    [&](KernelBuilder &) {
                      return SmallVector<Value>{st[0], st[1]};
                    },
                    tryElement);
              } else {
                best = tryElement(k);
              }
              Value m2 =
                  arith::MaxNumFOp::create(k.builder(), k.location(), st[2], x);
              return SmallVector<Value>{best[0], best[1], m2,
                                        k.ori(st[3], k.isNaN(x))};
            });
        Value token = draw[1];
        Value m2 = kr.toF64(kr.select(draw[3], kr.f32(NAN), draw[2]));
        // 5. Probabilities of the filtered logits (sum in f64), the
        //    sampled token's, and the top-k by one insertion pass.
        // exp(d) is exactly 0 in f64 for d < -746: such terms (the
        // filtered-out logits) are skipped without calling exp.
        auto expOrZero = [&](KernelBuilder &k, Value d,
                             function_ref<Value(KernelBuilder &, Value)> use,
                             Value zero) {
          return k.ifThenElse(
              k.cmpf(Pred::OLT, d, k.f64(-746.0)), {zero.getType()},
              [&](KernelBuilder &) { return SmallVector<Value>{zero}; },
              [&](KernelBuilder &ke) {
                return SmallVector<Value>{use(ke, ke.exp(d))};
              })[0];
        };
        Value z2 = kr.forLoop(
            0, v, {kr.f64(0)}, [&](KernelBuilder &k, Value i, ValueRange st) {
              Value d = k.sub(k.toF64(filtered(k, i)), m2);
              return SmallVector<Value>{expOrZero(
                  k, d,
                  [&](KernelBuilder &ke, Value e) { return ke.add(st[0], e); },
                  st[0])};
            })[0];
        // round_T of the f64 probability in one step, held in f32.
        auto roundedProb = [&](KernelBuilder &k, Value i) {
          Value d = k.sub(k.toF64(filtered(k, i)), m2);
          return expOrZero(
              k, d,
              [&](KernelBuilder &ke, Value e) {
                return ke.toF32(ke.castFloat(ke.div(e, z2), elem));
              },
              k.f32(0));
        };
        Value prob = roundedProb(kr, token);
        SmallVector<Value> best = kr.forLoop(
            0, v,
            {kr.filled({topK}, kr.index(-1)), kr.filled({topK}, kr.f32(0))},
            [&](KernelBuilder &k, Value i, ValueRange st) {
              Value pv = roundedProb(k, i);
              Value lastIdx = k.extract(st[0], {k.index(topK - 1)});
              Value lastVal = k.extract(st[1], {k.index(topK - 1)});
              Value enter = k.ori(k.cmpi(IPred::slt, lastIdx, k.index(0)),
                                  ranksBefore(k, pv, i, lastVal, lastIdx));
              return k.ifThenElse(
                  enter, st.getTypes(),
                  [&](KernelBuilder &kt) {
                    return insertTopK(kt, st[0], st[1], pv, i, topK);
                  },
                  [&](KernelBuilder &) {
                    return SmallVector<Value>{st[0], st[1]};
                  });
            });
        SmallVector<Value> top = kr.forLoop(
            0, topK, {s[2], s[3]},
            [&](KernelBuilder &k, Value j, ValueRange st) {
              Value id = k.indexTo(k.extract(best[0], {j}), i32);
              Value pv = k.castFloat(k.extract(best[1], {j}), elem);
              return SmallVector<Value>{k.insert(id, st[0], {outRow, j}),
                                        k.insert(pv, st[1], {outRow, j})};
            });
        return SmallVector<Value>{
            kr.insert(kr.indexTo(token, i32), s[0], {outRow}),
            kr.insert(kr.castFloat(prob, elem), s[1], {outRow}),
            top[0],
            top[1],
            xs,
            filt[2]};
      }
    };

    SmallVector<Value> results = {
        kb.empty({batch}, i32), kb.empty({batch}, elem),
        kb.empty({batch, topK}, i32), kb.empty({batch, topK}, elem)};
    if (batch < 2 || batch * v < kParallelSampleWork) {
      results.append({kb.empty({v}, f32), kb.empty({v}, f64)});
      SmallVector<Value> outs = kb.forLoop(
          0, batch, results, [&](KernelBuilder &kr, Value row, ValueRange s) {
            return rowBody(kr, row, row, s);
          });
      rewriter.replaceOp(op, {outs[0], outs[1], outs[2], outs[3]});
      return success();
    }
    // Rows in parallel (an scf.forall, which becomes an OpenMP work-sharing
    // loop): each with its own scratch, writing its row of each output.
    auto forall = scf::ForallOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(batch)},
        results, std::nullopt);
    {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(forall.getBody());
      KernelBuilder kr(rewriter, loc);
      Value row = forall.getInductionVar(0);
      SmallVector<Value> slices;
      SmallVector<SmallVector<OpFoldResult>> offsets, sizes, strides;
      for (Value out : forall.getRegionIterArgs()) {
        auto type = tensorTypeOf(out);
        SmallVector<OpFoldResult> off(type.getRank(), rewriter.getIndexAttr(0)),
            size, stride(type.getRank(), rewriter.getIndexAttr(1));
        off[0] = row;
        size.push_back(rewriter.getIndexAttr(1));
        for (int64_t d : type.getShape().drop_front())
          size.push_back(rewriter.getIndexAttr(d));
        slices.push_back(tensor::ExtractSliceOp::create(rewriter, loc, out, off,
                                                        size, stride));
        offsets.push_back(off);
        sizes.push_back(size);
        strides.push_back(stride);
      }
      slices.append({kr.empty({v}, f32), kr.empty({v}, f64)});
      SmallVector<Value> rowOuts = rowBody(kr, row, kr.index(0), slices);
      rewriter.setInsertionPointToStart(forall.getTerminator().getBody());
      for (auto [i, out] : llvm::enumerate(forall.getRegionIterArgs()))
        tensor::ParallelInsertSliceOp::create(rewriter, loc, rowOuts[i], out,
                                              offsets[i], sizes[i], strides[i]);
    }
    rewriter.replaceOp(op, forall.getResults());
    return success();
  }

  /// Inserts (pv, i) into the sorted top-k buffers (ids, vals), shifting
  /// the entries it outranks down by one.
  static SmallVector<Value> insertTopK(KernelBuilder &k, Value ids, Value vals,
                                       Value pv, Value i, int64_t topK) {
    SmallVector<Value> r = k.forLoop(
        0, topK, {ids, vals, k.boolean(false)},
        [&](KernelBuilder &kj, Value jj, ValueRange st) {
          // Walk slots from the last one up.
          Value pos = kj.subi(kj.index(topK - 1), jj);
          Value hasPrev = kj.cmpi(IPred::sgt, pos, kj.index(0));
          Value prev =
              kj.select(hasPrev, kj.subi(pos, kj.index(1)), kj.index(0));
          Value prevIdx = kj.extract(st[0], {prev});
          Value prevVal = kj.extract(st[1], {prev});
          Value shift = kj.andi(
              kj.notI1(st[2]),
              kj.andi(hasPrev,
                      kj.ori(kj.cmpi(IPred::slt, prevIdx, kj.index(0)),
                             ranksBefore(kj, pv, i, prevVal, prevIdx))));
          Value place = kj.andi(kj.notI1(st[2]), kj.notI1(shift));
          Value newIdx = kj.select(
              shift, prevIdx, kj.select(place, i, kj.extract(st[0], {pos})));
          Value newVal = kj.select(
              shift, prevVal, kj.select(place, pv, kj.extract(st[1], {pos})));
          return SmallVector<Value>{kj.insert(newIdx, st[0], {pos}),
                                    kj.insert(newVal, st[1], {pos}),
                                    kj.ori(st[2], place)};
        });
    return {r[0], r[1]};
  }

  /// The nucleus threshold v* = min{v : Σ_{x_i ≤ v} π_i ≥ round_T(1 - p)}
  /// found without sorting: π_i in f64 (one pass after the f64 sum), then
  /// a radix descent over the order-preserving 32-bit keys of the logits,
  /// one byte per pass with a 256-bucket f64 histogram. Returns (v*, found,
  /// scratch); found is false when rounding keeps the total below 1 - p.
  static SmallVector<Value> radixThreshold(KernelBuilder &k, Value xs, Value m,
                                           Value p, Value scratch, int64_t v,
                                           Type elem) {
    Value m64 = k.toF64(m);
    // exp(x_i - m) once, kept in the scratch for the division pass.
    SmallVector<Value> sum = k.forLoop(
        0, v, {k.f64(0), scratch},
        [&](KernelBuilder &ki, Value i, ValueRange st) {
          Value e = ki.exp(ki.sub(ki.toF64(ki.extract(xs, {i})), m64));
          return SmallVector<Value>{ki.add(st[0], e), ki.insert(e, st[1], {i})};
        });
    Value z = sum[0];
    Value pi = k.forLoop(
        0, v, {sum[1]}, [&](KernelBuilder &ki, Value i, ValueRange st) {
          Value e = ki.div(ki.extract(st[0], {i}), z);
          return SmallVector<Value>{ki.insert(ki.roundTo(e, elem), st[0], {i})};
        })[0];
    Value need = k.roundTo(k.sub(k.f64(1), k.toF64(p)), elem);
    Value prefix = k.i32(0), below = k.f64(0), found = k.boolean(true);
    // bf16 values have a zero low half, so the keys' low 16 bits are fixed
    // by the sign (the top key bit, chosen at level 3): each of the two low
    // levels has a single non-empty bucket, the one the descent would pick.
    int lowestLevel = elem.isBF16() ? 2 : 0;
    for (int level = 3; level >= lowestLevel; --level) {
      int shift = 8 * level;
      Value hist = k.forLoop(
          0, v, {k.filled({256}, k.f64(0))},
          [&](KernelBuilder &ki, Value i, ValueRange st) {
            Value key = sortKey(ki, ki.extract(xs, {i}));
            Value match = ki.boolean(true);
            if (level < 3) {
              Value hi = ki.i32(shift + 8);
              match =
                  ki.cmpi(IPred::eq, ki.shrui(key, hi), ki.shrui(prefix, hi));
            }
            Value bucket = arith::IndexCastUIOp::create(
                ki.builder(), ki.location(), ki.builder().getIndexType(),
                ki.andi(ki.shrui(key, ki.i32(shift)), ki.i32(255)));
            Value old = ki.extract(st[0], {bucket});
            Value add = ki.select(match, ki.extract(pi, {i}), ki.f64(0));
            return SmallVector<Value>{
                ki.insert(ki.add(old, add), st[0], {bucket})};
          })[0];
      // First bucket whose cumulative mass reaches `need`; the last
      // non-empty one if rounding keeps the sub-buckets just short.
      SmallVector<Value> scan = k.forLoop(
          0, 256, {k.index(-1), below, k.index(-1), below},
          [&](KernelBuilder &ki, Value bk, ValueRange st) {
            Value h = ki.extract(hist, {bk});
            Value open = ki.cmpi(IPred::slt, st[0], ki.index(0));
            Value reach = ki.cmpf(Pred::OGE, ki.add(st[1], h), need);
            Value take = ki.andi(open, reach);
            Value nonEmpty = ki.cmpf(Pred::OGT, h, ki.f64(0));
            Value lastOpen = ki.andi(open, nonEmpty);
            return SmallVector<Value>{
                ki.select(take, bk, st[0]),
                ki.select(ki.andi(open, ki.notI1(take)), ki.add(st[1], h),
                          st[1]),
                ki.select(lastOpen, bk, st[2]),
                ki.select(ki.andi(lastOpen, ki.notI1(take)), st[1], st[3])};
          });
      Value chosen =
          k.select(k.cmpi(IPred::sge, scan[0], k.index(0)), scan[0], scan[2]);
      if (level == 3)
        found = k.cmpi(IPred::sge, scan[0], k.index(0));
      below =
          k.select(k.cmpi(IPred::sge, scan[0], k.index(0)), scan[1], scan[3]);
      Value bucket = k.indexTo(chosen, k.builder().getI32Type());
      prefix = k.ori(prefix, k.shli(k.andi(bucket, k.i32(255)), k.i32(shift)));
    }
    if (lowestLevel == 2) {
      Value positive = k.cmpi(IPred::slt, prefix, k.i32(0));
      prefix = k.ori(prefix, k.select(positive, k.i32(0), k.i32(0xffff)));
    }
    return {fromSortKey(k, prefix), found, pi};
  }
};

} // namespace

void mlir::nova::populateNovaLoopKernelPatterns(TypeConverter &converter,
                                                RewritePatternSet &patterns) {
  patterns.add<MoeRouteLowering, AttentionLowering, SampleLowering>(
      converter, patterns.getContext());
}
