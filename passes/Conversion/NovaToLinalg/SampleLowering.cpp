//===- SampleLowering.cpp - nova.sample, nova.top_p_filter to scf loops ---===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Temperature, mask and max in one pass; the top-p threshold by a radix
// search (no sort; one implementation, nucleusFilter, for nova.top_p_filter
// and step 3 of nova.sample); Philox noise keyed by the row's key and the
// Gumbel argmax; then the probabilities and the top-k in a few passes over
// V. The softmax is sampling's own (nova/runtime/SampleMath.h): an f32
// exponential of fixed operations and exact integer masses, emitted as
// branch-free loops that vectorize, so the tokens and probabilities agree
// with the reference interpreter bit for bit. A temperature <= 0 skips the
// filter and the draw (greedy decoding). A row with NaN, +inf or no finite
// logit takes no softmax pass: its probabilities are NaN. Rows run on
// threads when the batch is large enough.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/NovaToLinalg/Lowerings.h"

#include "dialect/NovaOps.h"
#include "nova/runtime/Philox.h"
#include "nova/runtime/SampleMath.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

#include <array>
#include <cmath>
#include <tuple>

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

/// The four 32-bit Philox words of counter block `block` (i32) for (seed,
/// row key, step): the words of entries 4·block .. 4·block + 3, as
/// rt::sampleWord computes them.
std::array<Value, 4> philoxBlock(KernelBuilder &k, Value seed, RowKey row,
                                 Value step, Value block) {
  OpBuilder &b = k.builder();
  Location loc = k.location();
  Type i32 = b.getI32Type();
  Value c[4] = {block, row.low, step, row.high};
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
  return {c[0], c[1], c[2], c[3]};
}

/// The 32-bit Philox word for (seed, row key, step, i): rt::sampleWord in
/// IR.
Value philoxWord(KernelBuilder &k, Value seed, RowKey row, Value step,
                 Value i) {
  Value i32i = k.indexTo(i, k.builder().getI32Type());
  std::array<Value, 4> c = philoxBlock(
      k, seed, row, step,
      arith::DivUIOp::create(k.builder(), k.location(), i32i, k.i32(4)));
  Value lane =
      arith::RemUIOp::create(k.builder(), k.location(), i32i, k.i32(4));
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

//===----------------------------------------------------------------------===//
// Sampling's softmax (nova/runtime/SampleMath.h in IR)
//===----------------------------------------------------------------------===//

/// rt::sampleExp of an f32 d: the same operations in the same order, so the
/// terms are bit-identical to the interpreter's. Branch-free, so the loops
/// over a row vectorize.
Value sampleExp(KernelBuilder &k, Value d) {
  namespace rt = ::nova::rt;
  OpBuilder &b = k.builder();
  Location loc = k.location();
  Value tooSmall = k.cmpf(Pred::OLT, d, k.f32(rt::kSampleExpMin));
  // Clamped so that n below stays in range for the terms that are kept.
  Value dc = k.select(tooSmall, k.f32(rt::kSampleExpMin), d);
  Value n = k.sub(k.add(k.mul(dc, k.f32(rt::kLog2E)), k.f32(rt::kRound)),
                  k.f32(rt::kRound));
  Value r = k.fma(n, k.f32(-rt::kLn2Hi), dc);
  r = k.fma(n, k.f32(rt::kLn2Lo), r);
  Value p = k.f32(rt::kExpPoly[0]);
  for (int j = 1; j < 6; ++j)
    p = k.fma(p, r, k.f32(rt::kExpPoly[j]));
  Value y = k.add(k.fma(p, k.mul(r, r), r), k.f32(1.0));
  Value ni = arith::FPToSIOp::create(b, loc, b.getI32Type(), n);
  Value scale =
      k.bitcast(k.shli(k.addi(ni, k.i32(127)), k.i32(23)), b.getF32Type());
  return k.select(tooSmall, k.f32(0.0), k.mul(y, scale));
}

/// rt::sampleMass: floor(2^40 · e) as i64.
Value sampleMass(KernelBuilder &k, Value e) {
  OpBuilder &b = k.builder();
  return arith::FPToSIOp::create(
      b, k.location(), b.getI64Type(),
      k.mul(e, k.f32(std::ldexp(1.0, ::nova::rt::kSampleMassBits))));
}

/// rt::nucleusNeed: ceil(need · total) for an f32 need in [0, 1] and an i64
/// total, in 128-bit integers.
Value nucleusNeed(KernelBuilder &k, Value need, Value total) {
  OpBuilder &b = k.builder();
  Location loc = k.location();
  Type i128 = b.getIntegerType(128);
  Value bits = k.bitcast(need, b.getI32Type());
  Value exponent = k.andi(k.shrui(bits, k.i32(23)), k.i32(0xff));
  Value normal = k.cmpi(IPred::ne, exponent, k.i32(0));
  Value a = k.andi(bits, k.i32(0x7fffff));
  a = k.select(normal, k.ori(a, k.i32(0x800000)), a);
  Value q = k.select(normal, k.subi(k.i32(150), exponent), k.i32(149));
  q = arith::MinSIOp::create(b, loc, q, k.i32(100));
  auto wide = [&](Value v) {
    return arith::ExtUIOp::create(b, loc, i128, v).getResult();
  };
  Value one = wide(k.i32(1));
  Value product = k.muli(wide(a), wide(total));
  Value rounded = k.subi(k.addi(product, k.shli(one, wide(q))), one);
  return arith::TruncIOp::create(b, loc, b.getI64Type(),
                                 k.shrui(rounded, wide(q)));
}

/// An [n] scratch of `element`s (the [V] f32 softmax terms of a row, a
/// chunk's buckets): an allocation of its own, which CSE cannot merge with
/// the row's [V] f32 logits as it would two tensor.empty (two iter_args
/// with one init would then share a buffer).
Value scratchOf(KernelBuilder &k, int64_t n, Type element) {
  return bufferization::AllocTensorOp::create(
      k.builder(), k.location(), RankedTensorType::get({n}, element),
      ValueRange{});
}

/// Entries per chunk of the bf16 threshold's histogram: the chunk's buckets
/// (i32) and masses (i64) stay in L1 between its two passes.
constexpr int64_t kHistogramChunk = 2048;

Value termAt(KernelBuilder &k, Value terms, Value i) {
  return k.extract(terms, {i});
}

/// The softmax terms e_i = sampleExp(f32(x_i - m)) of a row with a finite
/// maximum m, written to `terms`, and their total integer mass (i64): one
/// branch-free pass.
std::pair<Value, Value>
softmaxTerms(KernelBuilder &k, int64_t v, Value m, Value terms,
             function_ref<Value(KernelBuilder &, Value)> logitAt) {
  SmallVector<Value> r = k.forLoop(
      0, v, {k.i64(0), terms}, [&](KernelBuilder &ki, Value i, ValueRange st) {
        Value e = sampleExp(ki, ki.sub(logitAt(ki, i), m));
        return SmallVector<Value>{ki.addi(st[0], sampleMass(ki, e)),
                                  ki.insert(e, st[1], {i})};
      });
  return {r[0], r[1]};
}

/// The threshold of a bf16 row with maximum m (a finite value), total mass
/// `total` and need `n`, from one histogram of masses over the rows' 16-bit
/// keys: every entry with a positive mass lies within 32 of m (its term is
/// at least 2^-40), so the keys [key(m - 64), key(m)] hold all of the mass
/// and the others add 0 to four spare buckets. v* is a value of positive
/// mass (it is the least value reaching n ≥ 1), so a descent from the top
/// over the buckets of positive mass finds it: the last whose mass above is
/// at most total - n. Returns (v*, found).
std::pair<Value, Value> bf16Threshold(KernelBuilder &k, Value xs, Value m,
                                      Value terms, Value total, Value n,
                                      int64_t v) {
  OpBuilder &b = k.builder();
  Location loc = k.location();
  Type i32 = b.getI32Type(), i64 = b.getI64Type(), idx = b.getIndexType();
  auto key16 = [](KernelBuilder &ki, Value x) {
    return ki.shrui(sortKey(ki, x), ki.i32(16));
  };
  // key16 truncates the f32 m - 64 to a bf16 key, toward zero: one key
  // lower is at most m - 64 (or m itself where m's ulp exceeds 64, and
  // then only entries equal to m have mass).
  Value hi = key16(k, m), lo = k.subi(key16(k, k.sub(m, k.f32(64))), k.i32(1));
  Value size = k.toIndex(k.addi(k.subi(hi, lo), k.i32(1)));
  Value hist = k.forLoop(
      k.index(0), k.addi(size, k.index(4)), {k.empty({(1 << 16) + 8}, i64)},
      [&](KernelBuilder &ki, Value i, ValueRange st) {
        return SmallVector<Value>{ki.insert(ki.i64(0), st[0], {i})};
      })[0];
  // Per chunk of kHistogramChunk entries, two passes: every entry's bucket
  // and mass in a branch-free pass that vectorizes, then the scattered adds
  // alone (the only part that cannot).
  int64_t chunk = std::min<int64_t>(v, kHistogramChunk);
  Value size32 = k.indexTo(size, i32);
  SmallVector<Value> state = {hist, scratchOf(k, chunk, i32),
                              scratchOf(k, chunk, i64)};
  hist = k.forLoop(
      0, (v + chunk - 1) / chunk, state,
      [&](KernelBuilder &kc, Value c, ValueRange st) {
        Value first = kc.muli(c, kc.index(chunk));
        Value count =
            arith::MinUIOp::create(kc.builder(), kc.location(), kc.index(chunk),
                                   kc.subi(kc.index(v), first));
        SmallVector<Value> slotsAndMasses = kc.forLoop(
            kc.index(0), count, {st[1], st[2]},
            [&](KernelBuilder &ki, Value j, ValueRange s) {
              Value i = ki.addi(first, j);
              Value rel = ki.subi(key16(ki, ki.extract(xs, {i})), lo);
              Value in = ki.cmpi(IPred::sge, rel, ki.i32(0));
              Value spare =
                  ki.addi(size32, ki.andi(ki.indexTo(j, i32), ki.i32(3)));
              Value w = sampleMass(ki, termAt(ki, terms, i));
              return SmallVector<Value>{
                  ki.insert(ki.select(in, rel, spare), s[0], {j}),
                  ki.insert(w, s[1], {j})};
            });
        Value h = kc.forLoop(kc.index(0), count, {st[0]},
                             [&](KernelBuilder &ki, Value j, ValueRange s) {
                               Value slot = arith::IndexCastUIOp::create(
                                   ki.builder(), ki.location(), idx,
                                   ki.extract(slotsAndMasses[0], {j}));
                               Value w = ki.extract(slotsAndMasses[1], {j});
                               Value old = ki.extract(s[0], {slot});
                               return SmallVector<Value>{
                                   ki.insert(ki.addi(old, w), s[0], {slot})};
                             })[0];
        return SmallVector<Value>{h, slotsAndMasses[0], slotsAndMasses[1]};
      })[0];
  // The descent: (bucket, mass above it, candidate, done).
  Value budget = k.subi(total, n);
  auto loop = scf::WhileOp::create(
      b, loc, TypeRange{idx, i64, idx, b.getI1Type()},
      ValueRange{k.subi(size, k.index(1)), k.i64(0), k.index(-1),
                 k.boolean(false)},
      [&](OpBuilder &nb, Location l, ValueRange st) {
        KernelBuilder kb(nb, l);
        Value go =
            kb.andi(kb.cmpi(IPred::sge, st[0], kb.index(0)), kb.notI1(st[3]));
        scf::ConditionOp::create(nb, l, go, st);
      },
      [&](OpBuilder &nb, Location l, ValueRange st) {
        KernelBuilder kb(nb, l);
        Value h = kb.extract(hist, {st[0]});
        Value positive = kb.cmpi(IPred::sgt, h, kb.i64(0));
        Value within = kb.cmpi(IPred::sle, st[1], budget);
        Value take = kb.andi(positive, within);
        scf::YieldOp::create(
            nb, l,
            ValueRange{kb.subi(st[0], kb.index(1)),
                       kb.select(take, kb.addi(st[1], h), st[1]),
                       kb.select(take, st[0], st[2]),
                       kb.andi(positive, kb.notI1(within))});
      });
  Value cand = loop.getResult(2);
  Value found = k.cmpi(IPred::sge, cand, k.index(0));
  Value key = k.addi(lo, k.indexTo(k.select(found, cand, k.index(0)), i32));
  Value key32 = k.shli(key, k.i32(16));
  Value nonNegative = k.cmpi(IPred::slt, key32, k.i32(0)); // top bit set
  key32 = k.ori(key32, k.select(nonNegative, k.i32(0), k.i32(0xffff)));
  return {fromSortKey(k, key32), found};
}

/// The nucleus threshold v* = min{v : Σ_{x_i ≤ v} w_i ≥ N} with the integer
/// masses w_i of the row's softmax terms and N = ceil(round_T(1 - p) · Σ w),
/// found without sorting: a radix descent over the order-preserving 32-bit
/// keys of the logits, one byte per pass with a 256-bucket histogram of
/// masses. The masses are integers, so the histogram's sums are exact in any
/// order. Returns (v*, found, terms).
SmallVector<Value> radixThreshold(KernelBuilder &k, Value xs, Value m, Value p,
                                  Value scratch, int64_t v, Type elem) {
  Value total, terms;
  std::tie(total, terms) =
      softmaxTerms(k, v, m, scratch, [&](KernelBuilder &ki, Value i) {
        return ki.extract(xs, {i});
      });
  Value need = k.castFloat(k.roundTo(k.sub(k.f64(1), k.toF64(p)), elem),
                           k.builder().getF32Type());
  Value n = nucleusNeed(k, need, total);
  if (elem.isBF16()) {
    auto [threshold, found] = bf16Threshold(k, xs, m, terms, total, n, v);
    return {threshold, found, terms};
  }
  Value prefix = k.i32(0), below = k.i64(0), found = k.boolean(true);
  for (int level = 3; level >= 0; --level) {
    int shift = 8 * level;
    // Four histograms, entry i adding to number i mod 4, so that runs of
    // one bucket do not chain each add to the one before through memory.
    Value hist = k.forLoop(
        0, v, {k.filled({4 * 256}, k.i64(0))},
        [&](KernelBuilder &ki, Value i, ValueRange st) {
          Value key = sortKey(ki, ki.extract(xs, {i}));
          Value match = ki.boolean(true);
          if (level < 3) {
            Value hi = ki.i32(shift + 8);
            match = ki.cmpi(IPred::eq, ki.shrui(key, hi), ki.shrui(prefix, hi));
          }
          Value bucket = ki.addi(
              arith::IndexCastUIOp::create(
                  ki.builder(), ki.location(), ki.builder().getIndexType(),
                  ki.andi(ki.shrui(key, ki.i32(shift)), ki.i32(255))),
              ki.muli(ki.andi(i, ki.index(3)), ki.index(256)));
          Value old = ki.extract(st[0], {bucket});
          Value add =
              ki.select(match, sampleMass(ki, termAt(ki, terms, i)), ki.i64(0));
          return SmallVector<Value>{
              ki.insert(ki.addi(old, add), st[0], {bucket})};
        })[0];
    // The first bucket whose cumulative mass reaches N. One always does,
    // N being at most the total (found is false only for a bug).
    SmallVector<Value> scan = k.forLoop(
        0, 256, {k.index(-1), below},
        [&](KernelBuilder &ki, Value bk, ValueRange st) {
          Value h = ki.extract(hist, {bk});
          for (int copy = 1; copy < 4; ++copy)
            h = ki.addi(h,
                        ki.extract(hist, {ki.addi(bk, ki.index(256 * copy))}));
          Value open = ki.cmpi(IPred::slt, st[0], ki.index(0));
          Value reach = ki.cmpi(IPred::sge, ki.addi(st[1], h), n);
          Value take = ki.andi(open, reach);
          return SmallVector<Value>{ki.select(take, bk, st[0]),
                                    ki.select(ki.andi(open, ki.notI1(take)),
                                              ki.addi(st[1], h), st[1])};
        });
    Value hit = k.cmpi(IPred::sge, scan[0], k.index(0));
    found = k.andi(found, hit);
    below = scan[1];
    Value bucket = k.indexTo(k.select(hit, scan[0], k.index(255)),
                             k.builder().getI32Type());
    prefix = k.ori(prefix, k.shli(k.andi(bucket, k.i32(255)), k.i32(shift)));
  }
  return {fromSortKey(k, prefix), found, terms};
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
/// sampling). Returns the filtered row and the updated [V] terms scratch.
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

/// Entries per chunk of the passes that skip most of a row: a chunk is
/// visited only if its maximum (a reduction that vectorizes) can matter.
constexpr int64_t kSkipChunk = 256;

/// `body(k, lo, hi, state)` for each chunk [lo, hi) of [0, v) of
/// kSkipChunk entries whose maximum of `valueAt` passes `visit(k, max,
/// state)`; the other chunks leave the state as it is. Returns the state.
SmallVector<Value> forChunksWhere(
    KernelBuilder &kr, int64_t v, ValueRange init,
    function_ref<Value(KernelBuilder &, Value)> valueAt,
    function_ref<Value(KernelBuilder &, Value, ValueRange)> visit,
    function_ref<SmallVector<Value>(KernelBuilder &, Value, Value, ValueRange)>
        body) {
  int64_t chunks = (v + kSkipChunk - 1) / kSkipChunk;
  return kr.forLoop(
      0, chunks, init, [&](KernelBuilder &k, Value c, ValueRange st) {
        Value lo = k.muli(c, k.index(kSkipChunk));
        Value hi =
            arith::MinUIOp::create(k.builder(), k.location(),
                                   k.addi(lo, k.index(kSkipChunk)), k.index(v));
        Value max = k.forLoop(lo, hi, {k.f32(-INFINITY)},
                              [&](KernelBuilder &ki, Value i, ValueRange m) {
                                return SmallVector<Value>{
                                    ki.maximumReduction(m[0], valueAt(ki, i))};
                              })[0];
        return k.ifThenElse(
            visit(k, max, st), st.getTypes(),
            [&](KernelBuilder &kb) { return body(kb, lo, hi, st); },
            [&](KernelBuilder &) {
              return SmallVector<Value>(st.begin(), st.end());
            });
      });
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
  /// entries after them are the [V] f32 logits and terms scratch rows.
  /// Returns s, updated.
  SmallVector<Value> build(KernelBuilder &kr, Value row, Value outRow,
                           ValueRange s) const;

private:
  Value roundElem(KernelBuilder &k, Value x) const {
    return k.roundTo(x, elem);
  }
  /// The row's key in the Philox counter: row_seeds[row], or the row.
  RowKey rowKey(KernelBuilder &k, Value row) const;
  /// 1-2. Temperature in the logits' type, mask after it; max. Returns
  /// (xs, max, min, any NaN, argmax, greedy, stage outputs...); greedy
  /// (temperature <= 0 in T) leaves the logits unscaled. With `stages`
  /// the scaled and masked logits are written to row `outRow` of
  /// `stageOuts`.
  SmallVector<Value> scaleAndMask(KernelBuilder &kr, Value row, Value outRow,
                                  Value scratch, Value masked,
                                  ValueRange stageOuts) const;
  /// 4. Gumbel argmax over the filtered logits, seeded with `argmax` (a
  /// first maximum of them). Returns (z, token).
  SmallVector<Value> gumbelArgmax(KernelBuilder &kr, Value row,
                                  const FilteredLogits &filtered,
                                  Value argmax) const;
  /// 5. The probabilities of the filtered logits (max `m2`, `anyNaN` if
  /// one is NaN) with `terms` as scratch: the sampled token's and the
  /// top-k (ids, values), and the scratch.
  SmallVector<Value> probabilities(KernelBuilder &kr,
                                   const FilteredLogits &filtered, Value m2,
                                   Value anyNaN, Value token,
                                   Value terms) const;
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
  // Branch-free reductions (max, min, any NaN), so the pass vectorizes;
  // maximum and minimum propagate NaN, so a row with NaN takes a second
  // pass for the extremes of its numbers.
  SmallVector<Value> init = {scratch, kr.f32(-INFINITY), kr.f32(INFINITY),
                             kr.boolean(false)};
  init.append(stageOuts.begin(), stageOuts.end());
  SmallVector<Value> r =
      kr.forLoop(0, v, init, [&](KernelBuilder &k, Value i, ValueRange st) {
        Value scaled =
            roundElem(k, k.div(k.toF32(k.extract(logits, {row, i})), t));
        Value x = scaled;
        if (mask)
          x = k.select(k.cmpi(IPred::eq, k.extract(mask, {row, i}), k.i32(0)),
                       masked, x);
        SmallVector<Value> next = {
            k.insert(x, st[0], {i}), k.maximumReduction(st[1], x),
            k.minimumReduction(st[2], x), k.ori(st[3], k.isNaN(x))};
        if (!stageOuts.empty()) {
          next.push_back(
              k.insert(k.castFloat(scaled, elem), st[4], {outRow, i}));
          next.push_back(k.insert(k.castFloat(x, elem), st[5], {outRow, i}));
        }
        return next;
      });
  Value xs = r[0];
  SmallVector<Value> extremes = kr.ifThenElse(
      r[3], {r[1].getType(), r[2].getType()},
      [&](KernelBuilder &k) {
        return k.forLoop(
            0, v, {k.f32(-INFINITY), k.f32(INFINITY)},
            [&](KernelBuilder &ki, Value i, ValueRange st) {
              Value x = ki.extract(xs, {i});
              OpBuilder &b = ki.builder();
              return SmallVector<Value>{
                  arith::MaxNumFOp::create(b, ki.location(), st[0], x),
                  arith::MinNumFOp::create(b, ki.location(), st[1], x)};
            });
      },
      [&](KernelBuilder &) { return SmallVector<Value>{r[1], r[2]}; });
  r[1] = extremes[0];
  r[2] = extremes[1];
  // The first maximum: the least i with x_i = max (0 when every x is NaN),
  // a min-reduction that vectorizes.
  Value m = r[1];
  Value first = kr.forLoop(
      0, v, {kr.index(v)}, [&](KernelBuilder &k, Value i, ValueRange st) {
        Value at = k.cmpf(Pred::OEQ, k.extract(xs, {i}), m);
        return SmallVector<Value>{arith::MinUIOp::create(
            k.builder(), k.location(), st[0], k.select(at, i, k.index(v)))};
      })[0];
  Value argmax =
      kr.select(kr.cmpi(IPred::eq, first, kr.index(v)), kr.index(0), first);
  SmallVector<Value> out = {xs, m, r[2], r[3], argmax, greedy};
  out.append(r.begin() + 4, r.end());
  return out;
}

SmallVector<Value> SampleRow::gumbelArgmax(KernelBuilder &kr, Value row,
                                           const FilteredLogits &filtered,
                                           Value argmax) const {
  // (z, i) replaces the best (st[0], st[1]) when z is not NaN and beats
  // it, the lower index winning ties: the sequential first maximum in any
  // visiting order. A NaN best (the seed's) is replaced by any number.
  auto update = [](KernelBuilder &k, Value z, Value i, Value bestZ, Value bestI,
                   Value valid) {
    Value wins = k.ori(
        k.cmpf(Pred::OGT, z, bestZ),
        k.andi(k.cmpf(Pred::OEQ, z, bestZ), k.cmpi(IPred::ult, i, bestI)));
    Value better =
        k.andi(valid, k.andi(k.notI1(k.isNaN(z)), k.ori(k.isNaN(bestZ), wins)));
    return std::make_pair(k.select(better, z, bestZ),
                          k.select(better, i, bestI));
  };
  // The draw is seeded with the largest logit's z. A NaN seed (inf + -inf,
  // NaN noise) starts from token 0, which every z that is not NaN
  // replaces, so that an all-NaN draw gives token 0.
  auto seeded = [&](Value z0) -> SmallVector<Value> {
    return {z0, kr.select(kr.isNaN(z0), kr.index(0), argmax)};
  };
  if (noise) {
    auto zAt = [&](KernelBuilder &k, Value i) {
      Value g = k.toF32(k.extract(noise, {row, i}));
      return roundElem(k, k.add(filtered.at(k, i), g));
    };
    return kr.forLoop(0, v, seeded(zAt(kr, argmax)),
                      [&](KernelBuilder &k, Value i, ValueRange st) {
                        auto [z, t] = update(k, zAt(k, i), i, st[0], st[1],
                                             k.boolean(true));
                        return SmallVector<Value>{z, t};
                      });
  }
  // Generated noise: entries go in blocks of four, one Philox call per
  // block. A block is skipped without generating its noise when no entry
  // can reach the best so far even with the largest possible noise.
  RowKey key = rowKey(kr, row);
  Value gMax = kr.f32(maxGumbel(elem));
  Value z0 = roundElem(
      kr, kr.add(filtered.at(kr, argmax),
                 gumbel(kr, philoxWord(kr, seed, key, step, argmax), elem)));
  // A block, or a whole chunk of them, is skipped when no logit in it can
  // reach the best so far with the largest noise: round_T(x + gMax) < best
  // holds whenever x is below best - gMax by more than two ulps in T of
  // the operands' scale, which also covers the f32 roundings of the sum
  // and of the cutoff ((|best| + |gMax|) · 2^(1-m) with m explicit
  // mantissa bits, plus 2^-20 near 0), a
  // cutoff computed once per block and compared with the logits as they
  // are before the filter. A dropped logit is `masked` in the draw: it is
  // below the filter's threshold, and it cannot win unless `masked`
  // reaches the cutoff, which then becomes -inf (everything is visited).
  // A NaN logit or best is never skipped.
  int mantissaBits = elem.isBF16() ? 7 : elem.isF16() ? 10 : 23;
  Value floor =
      kr.select(filtered.hasThreshold, filtered.threshold, kr.f32(-INFINITY));
  auto cutoff = [&](KernelBuilder &k, Value best) {
    OpBuilder &b = k.builder();
    Value scale = k.add(math::AbsFOp::create(b, k.location(), best),
                        k.f32(std::fabs(maxGumbel(elem))));
    Value ulp = k.add(k.mul(scale, k.f32(std::ldexp(1.0, 1 - mantissaBits))),
                      k.f32(std::ldexp(1.0, -20)));
    Value cut = k.sub(k.sub(best, gMax), ulp);
    Value kept = arith::MaxNumFOp::create(b, k.location(), floor, cut);
    return k.select(k.cmpf(Pred::OGE, filtered.masked, cut), k.f32(-INFINITY),
                    kept);
  };
  return forChunksWhere(
      kr, v, seeded(z0),
      [&](KernelBuilder &k, Value i) { return k.extract(filtered.xs, {i}); },
      [&](KernelBuilder &k, Value max, ValueRange st) {
        return k.notI1(k.cmpf(Pred::OLT, max, cutoff(k, st[0])));
      },
      [&](KernelBuilder &kc, Value lo, Value hi, ValueRange init) {
        OpBuilder &b = kc.builder();
        Value firstBlock =
            arith::DivUIOp::create(b, kc.location(), lo, kc.index(4));
        Value endBlock = arith::DivUIOp::create(
            b, kc.location(), kc.addi(hi, kc.index(3)), kc.index(4));
        return kc.forLoop(
            firstBlock, endBlock, init,
            [&](KernelBuilder &k, Value blk, ValueRange st) {
              Value base = k.muli(blk, k.index(4));
              Value cut = cutoff(k, st[0]);
              SmallVector<Value> idx, valid;
              Value anyHope = k.boolean(false);
              for (int j = 0; j < 4; ++j) {
                Value i = k.addi(base, k.index(j));
                Value ok = v % 4 == 0 ? k.boolean(true)
                                      : k.cmpi(IPred::ult, i, k.index(v));
                Value in = arith::MinUIOp::create(k.builder(), k.location(), i,
                                                  k.index(v - 1));
                Value x = k.extract(filtered.xs, {in});
                anyHope = k.ori(anyHope,
                                k.andi(ok, k.notI1(k.cmpf(Pred::OLT, x, cut))));
                idx.push_back(in);
                valid.push_back(ok);
              }
              return k.ifThenElse(
                  anyHope, st.getTypes(),
                  [&](KernelBuilder &kz) -> SmallVector<Value> {
                    std::array<Value, 4> words =
                        philoxBlock(kz, seed, key, step,
                                    kz.indexTo(blk, kz.builder().getI32Type()));
                    Value bestZ = st[0], bestI = st[1];
                    for (int j = 0; j < 4; ++j) {
                      Value x = filtered.at(kz, idx[j]);
                      Value z =
                          roundElem(kz, kz.add(x, gumbel(kz, words[j], elem)));
                      std::tie(bestZ, bestI) =
                          update(kz, z, idx[j], bestZ, bestI, valid[j]);
                    }
                    return {bestZ, bestI};
                  },
                  [&](KernelBuilder &) {
                    return SmallVector<Value>(st.begin(), st.end());
                  });
            });
      });
}

SmallVector<Value> SampleRow::probabilities(KernelBuilder &kr,
                                            const FilteredLogits &filtered,
                                            Value m2, Value anyNaN, Value token,
                                            Value terms) const {
  OpBuilder &b = kr.builder();
  Type f32 = b.getF32Type();
  Value ids = kr.empty({topK}, b.getIndexType());
  Value vals = kr.empty({topK}, f32);
  // A NaN, a +inf or no finite logit makes every probability NaN, and the
  // top-k is then 0, 1, ..., topK - 1 (NaN ranks above numbers, ties by id).
  Value defined = kr.andi(kr.notI1(anyNaN),
                          kr.andi(kr.cmpf(Pred::ONE, m2, kr.f32(INFINITY)),
                                  kr.cmpf(Pred::ONE, m2, kr.f32(-INFINITY))));
  return kr.ifThenElse(
      defined, {f32, ids.getType(), vals.getType(), terms.getType()},
      [&](KernelBuilder &k) -> SmallVector<Value> {
        Value total, e;
        std::tie(total, e) =
            softmaxTerms(k, v, m2, terms, [&](KernelBuilder &ki, Value i) {
              return filtered.at(ki, i);
            });
        // probs_i = round_T(e_i · r), r = 1 / (2^-40 · total) in f64.
        Value r =
            k.div(k.f64(1.0),
                  k.mul(arith::SIToFPOp::create(b, k.location(), b.getF64Type(),
                                                total),
                        k.f64(std::ldexp(1.0, -::nova::rt::kSampleMassBits))));
        auto probOf = [&](KernelBuilder &kp, Value term) {
          return kp.toF32(kp.castFloat(kp.mul(kp.toF64(term), r), elem));
        };
        Value prob = probOf(k, termAt(k, e, token));
        // The top-k by one insertion pass. probs is non-decreasing in the
        // term, so a term at most the last entry's cannot outrank it: the
        // pass compares terms and rounds a probability only for those
        // above (kth is -1 until the buffer is full).
        SmallVector<Value> best = forChunksWhere(
            k, v,
            {k.filled({topK}, k.index(-1)), k.filled({topK}, k.f32(0)),
             k.f32(-1.0)},
            [&](KernelBuilder &ki, Value i) { return termAt(ki, e, i); },
            [&](KernelBuilder &kv, Value max, ValueRange st) {
              return kv.cmpf(Pred::OGT, max, st[2]);
            },
            [&](KernelBuilder &kc, Value lo, Value hi, ValueRange init) {
              return kc.forLoop(
                  lo, hi, init, [&](KernelBuilder &ki, Value i, ValueRange st) {
                    Value term = termAt(ki, e, i);
                    return ki.ifThenElse(
                        ki.cmpf(Pred::OGT, term, st[2]), st.getTypes(),
                        [&](KernelBuilder &kt) -> SmallVector<Value> {
                          Value pv = probOf(kt, term);
                          Value lastIdx =
                              kt.extract(st[0], {kt.index(topK - 1)});
                          Value lastVal =
                              kt.extract(st[1], {kt.index(topK - 1)});
                          Value enter =
                              kt.ori(kt.cmpi(IPred::slt, lastIdx, kt.index(0)),
                                     ranksBefore(kt, pv, i, lastVal, lastIdx));
                          return kt.ifThenElse(
                              enter, st.getTypes(),
                              [&](KernelBuilder &kn) -> SmallVector<Value> {
                                SmallVector<Value> in =
                                    insertTopK(kn, st[0], st[1], pv, i, topK);
                                Value last =
                                    kn.extract(in[0], {kn.index(topK - 1)});
                                Value full =
                                    kn.cmpi(IPred::sge, last, kn.index(0));
                                Value lastTerm = termAt(
                                    kn, e, kn.select(full, last, kn.index(0)));
                                in.push_back(
                                    kn.select(full, lastTerm, kn.f32(-1.0)));
                                return in;
                              },
                              [&](KernelBuilder &) {
                                return SmallVector<Value>(st.begin(), st.end());
                              });
                        },
                        [&](KernelBuilder &) {
                          return SmallVector<Value>(st.begin(), st.end());
                        });
                  });
            });
        return {prob, best[0], best[1], e};
      },
      [&](KernelBuilder &k) -> SmallVector<Value> {
        SmallVector<Value> nan = k.forLoop(
            0, topK, {ids, vals},
            [&](KernelBuilder &kj, Value j, ValueRange st) {
              return SmallVector<Value>{kj.insert(j, st[0], {j}),
                                        kj.insert(kj.f32(NAN), st[1], {j})};
            });
        return {k.f32(NAN), nan[0], nan[1], terms};
      });
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
  Value xs = pa[0], m = pa[1], mn = pa[2], anyNaN = pa[3], argmax = pa[4],
        greedy = pa[5];
  // 3. nova.top_p_filter of the row (nothing filtered when greedy).
  Value p = roundElem(kr, kr.extract(topP, {row}));
  std::pair<FilteredLogits, Value> filter =
      nucleusFilter(kr, xs, m, anyNaN, p, greedy, piScratch, v, elem);
  const FilteredLogits &filtered = filter.first;
  SmallVector<Value> outs(s.begin(), s.begin() + n);
  if (stages) {
    outs[4] = pa[6];
    outs[5] = pa[7];
    outs[6] =
        kr.forLoop(0, v, {s[6]}, [&](KernelBuilder &k, Value i, ValueRange st) {
          Value x = k.castFloat(filtered.at(k, i), elem);
          return SmallVector<Value>{k.insert(x, st[0], {outRow, i})};
        })[0];
  }
  // Greedy: the first maximum of the unfiltered logits, found by step 1.
  SmallVector<Value> draw = kr.ifThenElse(
      greedy, {m.getType(), argmax.getType()},
      [&](KernelBuilder &) { return SmallVector<Value>{m, argmax}; },
      [&](KernelBuilder &k) { return gumbelArgmax(k, row, filtered, argmax); });
  Value token = draw[1];
  // The filter keeps the maximum and NaN (it runs only on rows without
  // NaN), and the dropped tokens become `masked`, which can exceed the
  // maximum (a mask leak): the filtered logits' max follows.
  Value dropped = kr.andi(filtered.hasThreshold,
                          kr.cmpf(Pred::OLT, mn, filtered.threshold));
  Value m2 = kr.select(
      dropped, arith::MaxNumFOp::create(kr.builder(), kr.location(), m, masked),
      m);
  SmallVector<Value> probs =
      probabilities(kr, filtered, m2, anyNaN, token, filter.second);
  Type i32 = kr.builder().getI32Type();
  SmallVector<Value> top =
      kr.forLoop(0, topK, {outs[2], outs[3]},
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
  outs.append({xs, probs[3]});
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
    Type f32 = rewriter.getF32Type(), i32 = rewriter.getI32Type();
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
                  return SmallVector<Value>{
                      k.empty({v}, f32),
                      scratchOf(k, v, k.builder().getF32Type())};
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
                                 scratchOf(k, v, k.builder().getF32Type())};
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
