//===- SampleLowering.cpp - nova.sample, nova.top_p_filter to scf loops ---===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Temperature, mask and max in one pass; the top-p threshold by a radix
// search (no sort; one implementation, nucleusFilter, for nova.top_p_filter
// and step 3 of nova.sample); Philox noise keyed by the row's key and the
// Gumbel argmax; then the probabilities and the top-k in a few passes over
// V, in f64 where the op description says so, so the tokens agree with the
// reference interpreter exactly. A temperature <= 0 skips the filter and
// the draw (greedy decoding). Non-finite logits need no pass of their own:
// the max pass notes NaN, and the probability passes carry the
// normalizer's NaN into the terms they skip. Rows run on threads when the
// batch is large enough.
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

//===----------------------------------------------------------------------===//
// Noise and keys
//===----------------------------------------------------------------------===//

/// A row's key in the Philox counter: its low and high 32-bit words (i32).
struct RowKey {
  Value low, high;
};

/// The 32-bit Philox word for (seed, row key, step, i): rt::sampleWord in
/// IR.
Value philoxWord(KernelBuilder &k, Value seed, RowKey row, Value step,
                 Value i) {
  OpBuilder &b = k.builder();
  Location loc = k.location();
  Type i32 = b.getI32Type();
  Value i32i = k.indexTo(i, i32);
  Value c[4] = {arith::DivUIOp::create(b, loc, i32i, k.i32(4)), row.low, step,
                row.high};
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

/// Inserts (pv, i) into the sorted top-k buffers (ids, vals), shifting
/// the entries it outranks down by one.
SmallVector<Value> insertTopK(KernelBuilder &k, Value ids, Value vals, Value pv,
                              Value i, int64_t topK) {
  SmallVector<Value> r = k.forLoop(
      0, topK, {ids, vals, k.boolean(false)},
      [&](KernelBuilder &kj, Value jj, ValueRange st) {
        // Walk slots from the last one up.
        Value pos = kj.subi(kj.index(topK - 1), jj);
        Value hasPrev = kj.cmpi(IPred::sgt, pos, kj.index(0));
        Value prev = kj.select(hasPrev, kj.subi(pos, kj.index(1)), kj.index(0));
        Value prevIdx = kj.extract(st[0], {prev});
        Value prevVal = kj.extract(st[1], {prev});
        Value shift = kj.andi(
            kj.notI1(st[2]),
            kj.andi(hasPrev, kj.ori(kj.cmpi(IPred::slt, prevIdx, kj.index(0)),
                                    ranksBefore(kj, pv, i, prevVal, prevIdx))));
        Value place = kj.andi(kj.notI1(st[2]), kj.notI1(shift));
        Value newIdx = kj.select(shift, prevIdx,
                                 kj.select(place, i, kj.extract(st[0], {pos})));
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
SmallVector<Value> radixThreshold(KernelBuilder &k, Value xs, Value m, Value p,
                                  Value scratch, int64_t v, Type elem) {
  Value m64 = k.toF64(m);
  // exp(x_i - m) once, kept in the scratch for the division pass.
  SmallVector<Value> sum = k.forLoop(
      0, v, {k.f64(0), scratch},
      [&](KernelBuilder &ki, Value i, ValueRange st) {
        Value e = ki.exp(ki.sub(ki.toF64(ki.extract(xs, {i})), m64));
        return SmallVector<Value>{ki.add(st[0], e), ki.insert(e, st[1], {i})};
      });
  Value z = sum[0];
  Value pi =
      k.forLoop(0, v, {sum[1]}, [&](KernelBuilder &ki, Value i, ValueRange st) {
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
            match = ki.cmpi(IPred::eq, ki.shrui(key, hi), ki.shrui(prefix, hi));
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
              ki.select(ki.andi(open, ki.notI1(take)), ki.add(st[1], h), st[1]),
              ki.select(lastOpen, bk, st[2]),
              ki.select(ki.andi(lastOpen, ki.notI1(take)), st[1], st[3])};
        });
    Value chosen =
        k.select(k.cmpi(IPred::sge, scan[0], k.index(0)), scan[0], scan[2]);
    if (level == 3)
      found = k.cmpi(IPred::sge, scan[0], k.index(0));
    below = k.select(k.cmpi(IPred::sge, scan[0], k.index(0)), scan[1], scan[3]);
    Value bucket = k.indexTo(chosen, k.builder().getI32Type());
    prefix = k.ori(prefix, k.shli(k.andi(bucket, k.i32(255)), k.i32(shift)));
  }
  if (lowestLevel == 2) {
    Value positive = k.cmpi(IPred::slt, prefix, k.i32(0));
    prefix = k.ori(prefix, k.select(positive, k.i32(0), k.i32(0xffff)));
  }
  return {fromSortKey(k, prefix), found, pi};
}

//===----------------------------------------------------------------------===//
// The nucleus filter (nova.top_p_filter, step 3 of nova.sample)
//===----------------------------------------------------------------------===//

/// The logits of a row after the nucleus filter: x_i, or the masked value
/// where the filter drops it.
struct FilteredLogits {
  Value xs, threshold, hasThreshold, masked;
  Value at(KernelBuilder &k, Value i) const {
    Value x = k.extract(xs, {i});
    Value drop = k.andi(hasThreshold, k.cmpf(Pred::OLT, x, threshold));
    return k.select(drop, masked, x);
  }
};

/// The one implementation of the nucleus filter of a row `xs` ([V] f32
/// holding values of `elem`) with max `m` (NaN-ignoring) and `anyNaN`,
/// for p = round_T(top_p) (f32); `skip` (i1) filters nothing (greedy
/// sampling). Returns the filtered row and the updated f64 [V] scratch.
std::pair<FilteredLogits, Value> nucleusFilter(KernelBuilder &kr, Value xs,
                                               Value m, Value anyNaN, Value p,
                                               Value skip, Value scratch,
                                               int64_t v, Type elem) {
  Value filtering = kr.notI1(kr.ori(anyNaN, skip));
  Value maxOnly = kr.andi(kr.cmpf(Pred::OLE, p, kr.f32(0)), filtering);
  Value finite = kr.andi(kr.cmpf(Pred::ONE, m, kr.f32(INFINITY)),
                         kr.cmpf(Pred::ONE, m, kr.f32(-INFINITY)));
  Value nucleus = kr.andi(kr.andi(kr.cmpf(Pred::OGT, p, kr.f32(0)),
                                  kr.cmpf(Pred::OLT, p, kr.f32(1))),
                          kr.andi(filtering, finite));
  OpBuilder &b = kr.builder();
  SmallVector<Value> t = kr.ifThenElse(
      nucleus, {b.getF32Type(), b.getI1Type(), scratch.getType()},
      [&](KernelBuilder &k) {
        return radixThreshold(k, xs, m, p, scratch, v, elem);
      },
      [&](KernelBuilder &k) {
        return SmallVector<Value>{m, maxOnly, scratch};
      });
  Value masked = kr.roundTo(kr.f32(-1e10), elem);
  return {FilteredLogits{xs, t[0], t[1], masked}, t[2]};
}

//===----------------------------------------------------------------------===//
// Rows
//===----------------------------------------------------------------------===//

/// exp(d), used as use(exp(d)), or `zero` for d < -746, where exp(d) is
/// exactly 0 in f64: such terms (the filtered-out logits) are skipped
/// without calling exp.
Value expOrZero(KernelBuilder &k, Value d,
                function_ref<Value(KernelBuilder &, Value)> use, Value zero) {
  return k.ifThenElse(
      k.cmpf(Pred::OLT, d, k.f64(-746.0)), {zero.getType()},
      [&](KernelBuilder &) { return SmallVector<Value>{zero}; },
      [&](KernelBuilder &ke) {
        return SmallVector<Value>{use(ke, ke.exp(d))};
      })[0];
}

/// The lowering of one row of nova.sample, in the steps of its description.
struct SampleRow {
  Type elem;
  int64_t v, topK;
  Value logits, mask, noise, temperature, topP;
  /// The scalar seed (i64) and step (i32) without a noise operand, and the
  /// optional row_seeds ([B] i64).
  Value seed, step, rowSeeds;
  /// Whether the op returns its stage logits.
  bool stages;

  /// The results a row writes: token, prob, top_ids, top_probs, and the
  /// three stage logits with `stages`.
  int64_t numOutputs() const { return stages ? 7 : 4; }
  /// Reads logits row `row` and writes its results at row `outRow` of
  /// s[0 .. numOutputs()) (the batch outputs, or one row of them); the two
  /// entries after them are [V] f32 and f64 scratch. Returns s, updated.
  SmallVector<Value> build(KernelBuilder &kr, Value row, Value outRow,
                           ValueRange s) const;

private:
  Value roundElem(KernelBuilder &k, Value x) const {
    return k.roundTo(x, elem);
  }
  /// The row's key in the Philox counter: row_seeds[row], or the row.
  RowKey rowKey(KernelBuilder &k, Value row) const;
  /// 1-2. Temperature in the logits' type, mask after it; max. Returns
  /// (xs, max, any NaN, argmax, greedy, stage outputs...); greedy
  /// (temperature <= 0 in T) leaves the logits unscaled. With `stages`
  /// the scaled and masked logits are written to row `outRow` of
  /// `stageOuts`.
  SmallVector<Value> scaleAndMask(KernelBuilder &kr, Value row, Value outRow,
                                  Value scratch, Value masked,
                                  ValueRange stageOuts) const;
  /// 4. Gumbel argmax over the filtered logits. Returns (z, token, max of
  /// the filtered logits, any of them NaN).
  SmallVector<Value> gumbelArgmax(KernelBuilder &kr, Value row,
                                  const FilteredLogits &filtered,
                                  Value argmax) const;
  /// 5. round_T of the f64 probabilities of the filtered logits (max `m2`,
  /// sum `z2`): the sampled token's and the top-k (ids, values).
  SmallVector<Value> probabilities(KernelBuilder &kr,
                                   const FilteredLogits &filtered, Value m2,
                                   Value token) const;
};

RowKey SampleRow::rowKey(KernelBuilder &k, Value row) const {
  Type i32 = k.builder().getI32Type();
  if (!rowSeeds)
    return {k.indexTo(row, i32), k.i32(0)};
  Value key = k.extract(rowSeeds, {row});
  OpBuilder &b = k.builder();
  Location loc = k.location();
  return {arith::TruncIOp::create(b, loc, i32, key),
          arith::TruncIOp::create(b, loc, i32, k.shrui(key, k.i64(32)))};
}

SmallVector<Value> SampleRow::scaleAndMask(KernelBuilder &kr, Value row,
                                           Value outRow, Value scratch,
                                           Value masked,
                                           ValueRange stageOuts) const {
  Value t = roundElem(kr, kr.extract(temperature, {row}));
  Value greedy = kr.cmpf(Pred::OLE, t, kr.f32(0));
  // l / 1 is exact: the greedy path reads the logits themselves.
  t = kr.select(greedy, kr.f32(1), t);
  SmallVector<Value> init = {scratch, kr.f32(-INFINITY), kr.boolean(false),
                             kr.index(0)};
  init.append(stageOuts.begin(), stageOuts.end());
  SmallVector<Value> r =
      kr.forLoop(0, v, init, [&](KernelBuilder &k, Value i, ValueRange st) {
        Value scaled =
            roundElem(k, k.div(k.toF32(k.extract(logits, {row, i})), t));
        Value x = scaled;
        if (mask)
          x = k.select(k.cmpi(IPred::eq, k.extract(mask, {row, i}), k.i32(0)),
                       masked, x);
        Value m = arith::MaxNumFOp::create(k.builder(), k.location(), st[1], x);
        SmallVector<Value> next = {
            k.insert(x, st[0], {i}), m, k.ori(st[2], k.isNaN(x)),
            k.select(k.cmpf(Pred::OGT, x, st[1]), i, st[3])};
        if (!stageOuts.empty()) {
          next.push_back(
              k.insert(k.castFloat(scaled, elem), st[4], {outRow, i}));
          next.push_back(k.insert(k.castFloat(x, elem), st[5], {outRow, i}));
        }
        return next;
      });
  r.insert(r.begin() + 4, greedy);
  return r;
}

SmallVector<Value> SampleRow::gumbelArgmax(KernelBuilder &kr, Value row,
                                           const FilteredLogits &filtered,
                                           Value argmax) const {
  // The draw is seeded with the largest logit's z; an element whose z
  // cannot reach the best so far even with the largest possible noise is
  // skipped without generating its noise (with the lower index winning
  // ties, the result is the sequential first maximum).
  RowKey key;
  if (!noise)
    key = rowKey(kr, row);
  auto zAt = [&](KernelBuilder &k, Value i, Value x) {
    Value g = noise ? k.toF32(k.extract(noise, {row, i}))
                    : gumbel(k, philoxWord(k, seed, key, step, i), elem);
    return roundElem(k, k.add(x, g));
  };
  Value gMax = noise ? Value() : kr.f32(maxGumbel(elem));
  // A NaN seed (inf + -inf, NaN noise) starts from token 0, which every
  // z that is not NaN replaces, so that an all-NaN draw gives token 0.
  Value z0 = zAt(kr, argmax, filtered.at(kr, argmax));
  return kr.forLoop(
      0, v,
      {z0, kr.select(kr.isNaN(z0), kr.index(0), argmax), kr.f32(-INFINITY),
       kr.boolean(false)},
      [&](KernelBuilder &k, Value i, ValueRange st) {
        Value x = filtered.at(k, i);
        auto tryElement = [&](KernelBuilder &kz) {
          Value z = zAt(kz, i, x);
          Value wins = kz.ori(kz.cmpf(Pred::OGT, z, st[0]),
                              kz.andi(kz.cmpf(Pred::OEQ, z, st[0]),
                                      kz.cmpi(IPred::ult, i, st[1])));
          Value better =
              kz.andi(kz.notI1(kz.isNaN(z)), kz.ori(kz.isNaN(st[0]), wins));
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
}

SmallVector<Value> SampleRow::probabilities(KernelBuilder &kr,
                                            const FilteredLogits &filtered,
                                            Value m2, Value token) const {
  Value z2 = kr.forLoop(
      0, v, {kr.f64(0)}, [&](KernelBuilder &k, Value i, ValueRange st) {
        Value d = k.sub(k.toF64(filtered.at(k, i)), m2);
        return SmallVector<Value>{expOrZero(
            k, d, [&](KernelBuilder &ke, Value e) { return ke.add(st[0], e); },
            st[0])};
      })[0];
  // A skipped term is exp(d) = 0, whose probability 0 / z2 is 0, or NaN
  // where z2 is (a +inf, a NaN, or no finite logit).
  Value zeroProb = kr.toF32(kr.castFloat(kr.div(kr.f64(0), z2), elem));
  // round_T of the f64 probability in one step, held in f32.
  auto roundedProb = [&](KernelBuilder &k, Value i) {
    Value d = k.sub(k.toF64(filtered.at(k, i)), m2);
    return expOrZero(
        k, d,
        [&](KernelBuilder &ke, Value e) {
          return ke.toF32(ke.castFloat(ke.div(e, z2), elem));
        },
        zeroProb);
  };
  Value prob = roundedProb(kr, token);
  // The top-k by one insertion pass.
  SmallVector<Value> best = kr.forLoop(
      0, v, {kr.filled({topK}, kr.index(-1)), kr.filled({topK}, kr.f32(0))},
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
  return {prob, best[0], best[1]};
}

SmallVector<Value> SampleRow::build(KernelBuilder &kr, Value row, Value outRow,
                                    ValueRange s) const {
  int64_t n = numOutputs();
  Value xsScratch = s[n], piScratch = s[n + 1];
  Value masked = roundElem(kr, kr.f32(-1e10));
  SmallVector<Value> stageOuts;
  if (stages)
    stageOuts = {s[4], s[5]};
  SmallVector<Value> pa =
      scaleAndMask(kr, row, outRow, xsScratch, masked, stageOuts);
  Value xs = pa[0], m = pa[1], anyNaN = pa[2], argmax = pa[3], greedy = pa[4];
  // 3. nova.top_p_filter of the row (nothing filtered when greedy).
  Value p = roundElem(kr, kr.extract(topP, {row}));
  std::pair<FilteredLogits, Value> filter =
      nucleusFilter(kr, xs, m, anyNaN, p, greedy, piScratch, v, elem);
  const FilteredLogits &filtered = filter.first;
  SmallVector<Value> outs(s.begin(), s.begin() + n);
  if (stages) {
    outs[4] = pa[5];
    outs[5] = pa[6];
    outs[6] =
        kr.forLoop(0, v, {s[6]}, [&](KernelBuilder &k, Value i, ValueRange st) {
          Value x = k.castFloat(filtered.at(k, i), elem);
          return SmallVector<Value>{k.insert(x, st[0], {outRow, i})};
        })[0];
  }
  // Greedy: the first maximum of the unfiltered logits, found by step 1.
  SmallVector<Value> draw = kr.ifThenElse(
      greedy, {m.getType(), argmax.getType(), m.getType(), anyNaN.getType()},
      [&](KernelBuilder &) {
        return SmallVector<Value>{m, argmax, m, anyNaN};
      },
      [&](KernelBuilder &k) { return gumbelArgmax(k, row, filtered, argmax); });
  Value token = draw[1];
  Value m2 = kr.toF64(kr.select(draw[3], kr.f32(NAN), draw[2]));
  SmallVector<Value> probs = probabilities(kr, filtered, m2, token);
  Type i32 = kr.builder().getI32Type();
  SmallVector<Value> top = kr.forLoop(
      0, topK, {outs[2], outs[3]},
      [&](KernelBuilder &k, Value j, ValueRange st) {
        Value id = k.indexTo(k.extract(probs[1], {j}), i32);
        Value pv = k.castFloat(k.extract(probs[2], {j}), elem);
        return SmallVector<Value>{k.insert(id, st[0], {outRow, j}),
                                  k.insert(pv, st[1], {outRow, j})};
      });
  outs[0] = kr.insert(kr.indexTo(token, i32), outs[0], {outRow});
  outs[1] = kr.insert(kr.castFloat(probs[0], elem), outs[1], {outRow});
  outs[2] = top[0];
  outs[3] = top[1];
  outs.append({xs, filter.second});
  return outs;
}

//===----------------------------------------------------------------------===//
// Batches
//===----------------------------------------------------------------------===//

/// Builds one row: reads row `row` of the inputs and writes row `outRow` of
/// s[0 .. outputs) (the batch outputs, or a one-row slice of them); the
/// scratch tensors follow. Returns s, updated.
using RowBody = function_ref<SmallVector<Value>(KernelBuilder &, Value row,
                                                Value outRow, ValueRange s)>;
/// Scratch tensors for one row.
using RowScratch = function_ref<SmallVector<Value>(KernelBuilder &)>;

/// `body` for every row of a batch of `batch` rows writing `outputs`
/// ([batch, ...] tensors): in an scf.for with one scratch, or, with
/// `parallel`, an scf.forall (an OpenMP work-sharing loop) with a scratch
/// per row writing its one-row slices. Returns the outputs.
SmallVector<Value> forEachRow(OpBuilder &b, Location loc, int64_t batch,
                              ValueRange outputs, bool parallel,
                              RowScratch scratch, RowBody body) {
  KernelBuilder kb(b, loc);
  size_t n = outputs.size();
  if (!parallel) {
    SmallVector<Value> init(outputs);
    init.append(scratch(kb));
    SmallVector<Value> r = kb.forLoop(
        0, batch, init, [&](KernelBuilder &kr, Value row, ValueRange s) {
          return body(kr, row, row, s);
        });
    r.resize(n);
    return r;
  }
  auto forall = scf::ForallOp::create(
      b, loc, ArrayRef<OpFoldResult>{b.getIndexAttr(batch)}, outputs,
      std::nullopt);
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(forall.getBody());
  KernelBuilder kr(b, loc);
  Value row = forall.getInductionVar(0);
  SmallVector<Value> slices;
  SmallVector<SmallVector<OpFoldResult>> offsets, sizes, strides;
  for (Value out : forall.getRegionIterArgs()) {
    auto type = tensorTypeOf(out);
    SmallVector<OpFoldResult> off(type.getRank(), b.getIndexAttr(0)), size,
        stride(type.getRank(), b.getIndexAttr(1));
    off[0] = row;
    size.push_back(b.getIndexAttr(1));
    for (int64_t d : type.getShape().drop_front())
      size.push_back(b.getIndexAttr(d));
    slices.push_back(
        tensor::ExtractSliceOp::create(b, loc, out, off, size, stride));
    offsets.push_back(off);
    sizes.push_back(size);
    strides.push_back(stride);
  }
  slices.append(scratch(kr));
  SmallVector<Value> rowOuts = body(kr, row, kr.index(0), slices);
  b.setInsertionPointToStart(forall.getTerminator().getBody());
  for (auto [i, out] : llvm::enumerate(forall.getRegionIterArgs()))
    tensor::ParallelInsertSliceOp::create(b, loc, rowOuts[i], out, offsets[i],
                                          sizes[i], strides[i]);
  return SmallVector<Value>(forall.getResults());
}

/// Rows run on threads when there are several and enough logits.
bool parallelBatch(int64_t batch, int64_t v, const ScheduleOptions &options) {
  return batch >= 2 && batch * v >= options.parallelSampleWork;
}

struct SampleLowering : ScheduledLowering<SampleOp> {
  using ScheduledLowering::ScheduledLowering;
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
    SampleRow sample{elem,
                     v,
                     topK,
                     a.getLogits(),
                     a.getMask(),
                     a.getNoise(),
                     a.getTemperature(),
                     a.getTopP(),
                     Value(),
                     Value(),
                     a.getRowSeeds(),
                     op.getStages()};
    if (a.getSeed()) {
      sample.seed = kb.extract(a.getSeed(), {});
      sample.step = kb.extract(a.getStep(), {});
    }
    SmallVector<Value> outputs = {
        kb.empty({batch}, i32), kb.empty({batch}, elem),
        kb.empty({batch, topK}, i32), kb.empty({batch, topK}, elem)};
    if (op.getStages())
      for (int j = 0; j < 3; ++j)
        outputs.push_back(kb.empty({batch, v}, elem));
    rewriter.replaceOp(
        op, forEachRow(
                rewriter, loc, batch, outputs, parallelBatch(batch, v, options),
                [&](KernelBuilder &k) {
                  return SmallVector<Value>{k.empty({v}, f32),
                                            k.empty({v}, f64)};
                },
                [&](KernelBuilder &kr, Value row, Value outRow, ValueRange s) {
                  return sample.build(kr, row, outRow, s);
                }));
    return success();
  }
};

/// nova.top_p_filter: per row, the max pass, the shared nucleus filter and
/// one pass writing the filtered logits.
struct TopPFilterLowering : ScheduledLowering<TopPFilterOp> {
  using ScheduledLowering::ScheduledLowering;
  LogicalResult
  matchAndRewrite(TopPFilterOp op, OpAdaptor a,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    KernelBuilder kb(rewriter, loc);
    auto type = tensorTypeOf(op.getLogits());
    int64_t batch = type.getDimSize(0), v = type.getDimSize(1);
    Type elem = type.getElementType();
    Value logits = a.getLogits(), topP = a.getTopP();
    auto row = [&](KernelBuilder &kr, Value r, Value outRow,
                   ValueRange s) -> SmallVector<Value> {
      SmallVector<Value> loaded =
          kr.forLoop(0, v, {s[1], kr.f32(-INFINITY), kr.boolean(false)},
                     [&](KernelBuilder &k, Value i, ValueRange st) {
                       Value x = k.toF32(k.extract(logits, {r, i}));
                       Value m = arith::MaxNumFOp::create(
                           k.builder(), k.location(), st[1], x);
                       return SmallVector<Value>{k.insert(x, st[0], {i}), m,
                                                 k.ori(st[2], k.isNaN(x))};
                     });
      Value p = kr.roundTo(kr.extract(topP, {r}), elem);
      std::pair<FilteredLogits, Value> filter =
          nucleusFilter(kr, loaded[0], loaded[1], loaded[2], p,
                        kr.boolean(false), s[2], v, elem);
      const FilteredLogits &filtered = filter.first;
      Value out = kr.forLoop(
          0, v, {s[0]}, [&](KernelBuilder &k, Value i, ValueRange st) {
            Value x = k.castFloat(filtered.at(k, i), elem);
            return SmallVector<Value>{k.insert(x, st[0], {outRow, i})};
          })[0];
      return {out, loaded[0], filter.second};
    };
    rewriter.replaceOp(op,
                       forEachRow(
                           rewriter, loc, batch, {kb.empty({batch, v}, elem)},
                           parallelBatch(batch, v, options),
                           [&](KernelBuilder &k) {
                             return SmallVector<Value>{
                                 k.empty({v}, rewriter.getF32Type()),
                                 k.empty({v}, rewriter.getF64Type())};
                           },
                           row));
    return success();
  }
};

} // namespace

void mlir::nova::populateSampleLoweringPatterns(
    TypeConverter &converter, RewritePatternSet &patterns,
    const ScheduleOptions &options) {
  patterns.add<SampleLowering, TopPFilterLowering>(
      converter, patterns.getContext(), options);
}
