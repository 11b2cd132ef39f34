//===- AttentionLowering.cpp - nova.attention to scf loops ----------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Online softmax over the KV cache per (batch, query, head): one pass over
// the visible keys with a running max, a running sum and a rescaled
// accumulator, so no score matrix is materialized. Loops on tensors
// (tensor.extract/insert, iteration arguments) that bufferize in place.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/NovaToLinalg/Lowerings.h"

#include "dialect/NovaOps.h"

#include <cmath>
#include <optional>

using namespace mlir;
using namespace mlir::nova;
using IPred = arith::CmpIPredicate;

namespace {

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

} // namespace

void mlir::nova::populateAttentionLoweringPatterns(
    TypeConverter &converter, RewritePatternSet &patterns) {
  patterns.add<AttentionLowering>(converter, patterns.getContext());
}
