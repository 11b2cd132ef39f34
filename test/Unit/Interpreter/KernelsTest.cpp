//===- KernelsTest.cpp - Reference kernels vs hand-computed values --------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Each Nova op's reference kernel against values computed by hand from
// grok1-semantics.md, including every edge case of §4.4 and the tie cases of
// §3.2 and §4.2.
//
//===----------------------------------------------------------------------===//

#include "runtime/interpreter/Kernels.h"

#include "nova/runtime/Float.h"
#include "nova/runtime/Int8Activations.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace nova::interp;
using nova::rt::roundToBF16;

namespace {

Tensor floats(Elem e, std::vector<int64_t> shape, std::vector<double> v) {
  Tensor t = Tensor::make(e, std::move(shape));
  t.f = std::move(v);
  return t;
}
Tensor ints(Elem e, std::vector<int64_t> shape, std::vector<int64_t> v) {
  Tensor t = Tensor::make(e, std::move(shape));
  t.i = std::move(v);
  return t;
}

//===----------------------------------------------------------------------===//
// Quantization (§1)
//===----------------------------------------------------------------------===//

TEST(KernelsTest, DequantizeRoundsOnceToTheScaleType) {
  Tensor q = ints(Elem::I8, {2, 2}, {-128, 127, 3, -1});
  Tensor s = floats(Elem::BF16, {1, 2}, {0.0078125, 1.0078125});
  Tensor w = dequantize(q, s, Elem::BF16);
  // -128 * 2^-7 = -1 exactly; 127 * (1 + 2^-7) = 127.99 -> bf16 128.
  EXPECT_EQ(w.f, (std::vector<double>{-1.0, 128.0, 0.0234375, -1.0078125}));
}

TEST(KernelsTest, DequantizeLayouts) {
  Tensor q = ints(Elem::I8, {4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  // G = 2 row blocks x per column: rows 0-1 use scale row 0, rows 2-3 row 1.
  Tensor rows = floats(Elem::F32, {2, 2}, {1, 10, 100, 1000});
  EXPECT_EQ(dequantize(q, rows, Elem::F32).f,
            (std::vector<double>{1, 20, 3, 40, 500, 6000, 700, 8000}));
  // Group size 2 along K is the same arithmetic.
  EXPECT_EQ(dequantize(q, rows, Elem::F32).f,
            (std::vector<double>{1, 20, 3, 40, 500, 6000, 700, 8000}));
  Tensor one = floats(Elem::F32, {1, 1}, {0.5});
  EXPECT_EQ(dequantize(q, one, Elem::F32).f,
            (std::vector<double>{0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4}));
  // Stacked experts: each expert has its own scales.
  Tensor qe = ints(Elem::I8, {2, 1, 2}, {1, 1, 1, 1});
  Tensor se = floats(Elem::F32, {2, 1, 2}, {2, 3, 4, 5});
  EXPECT_EQ(dequantize(qe, se, Elem::F32).f, (std::vector<double>{2, 3, 4, 5}));
}

TEST(KernelsTest, QuantizeRoundsHalfToEvenAndSaturates) {
  Tensor x = floats(Elem::F32, {1, 8},
                    {0.5, 1.5, 2.5, -0.5, 300, -300, NAN, INFINITY});
  Tensor s = floats(Elem::F32, {1, 1}, {1.0});
  EXPECT_EQ(quantize(x, s).i,
            (std::vector<int64_t>{0, 2, 2, 0, 127, -128, 0, 127}));
  // x / s is an f32 division: 1 / 3 * 3 ... 0.75 / 0.25 = 3 exactly.
  Tensor x2 = floats(Elem::F32, {1, 2}, {0.75, -2.5});
  Tensor s2 = floats(Elem::F32, {1, 2}, {0.25, 1.0});
  EXPECT_EQ(quantize(x2, s2).i, (std::vector<int64_t>{3, -2}));
}

//===----------------------------------------------------------------------===//
// Matmuls
//===----------------------------------------------------------------------===//

TEST(KernelsTest, MatmulAccumulatesWideAndRoundsOnce) {
  Tensor a = floats(Elem::F32, {2, 2}, {1, 2, 3, 4});
  Tensor b = floats(Elem::F32, {2, 2}, {5, 6, 7, 8});
  EXPECT_EQ(matmul(a, b, false, Elem::F32).f,
            (std::vector<double>{19, 22, 43, 50}));
  EXPECT_EQ(matmul(a, b, true, Elem::F32).f,
            (std::vector<double>{17, 23, 39, 53}));
  // 1 + 256 = 257 rounds once to bf16: a tie between 256 and 258 -> 256.
  Tensor x = floats(Elem::BF16, {1, 2}, {1, 256});
  Tensor ones = floats(Elem::BF16, {2, 1}, {1, 1});
  EXPECT_EQ(matmul(x, ones, false, Elem::BF16).f, (std::vector<double>{256}));
  // Leading dimensions of the input are kept (unlike Grok-1's Linear, §1.4).
  Tensor x3 = floats(Elem::F32, {2, 1, 2}, {1, 0, 0, 1});
  Tensor m = matmul(x3, b, false, Elem::F32);
  EXPECT_EQ(m.shape, (std::vector<int64_t>{2, 1, 2}));
  EXPECT_EQ(m.f, (std::vector<double>{5, 6, 7, 8}));
}

TEST(KernelsTest, QMatmulIsMatmulOfTheDequantizedWeight) {
  Tensor x = floats(Elem::BF16, {1, 2}, {1, 1});
  Tensor q = ints(Elem::I8, {2, 1}, {127, 1});
  Tensor s = floats(Elem::BF16, {1, 1}, {1.0078125});
  // W = [128 (bf16-rounded), 1.0078125]; y = 129.0078125 -> bf16 129.
  EXPECT_EQ(qmatmul(x, q, s, Elem::F32).f, (std::vector<double>{129.0078125}));
  EXPECT_EQ(qmatmul(x, q, s, Elem::BF16).f, (std::vector<double>{129}));
}

TEST(KernelsTest, QMatmulInt8QuantizesEachRowAndSumsExactly) {
  // Row 0: a = 1, r = 127: xq = [127, -64 (-63.5 to even), 32 (31.75)];
  // S = 127 - 128 + 96 = 95; y = 95 * f32(1 / 127).
  // Row 1: all zero, so d = 0 and the outputs are +0.
  Tensor x = floats(Elem::F32, {2, 3}, {1, -0.5, 0.25, 0, 0, 0});
  Tensor q = ints(Elem::I8, {3, 1}, {1, 2, 3});
  Tensor s = floats(Elem::F32, {1, 1}, {1});
  Tensor y = qmatmulInt8(x, q, s, Elem::F32);
  EXPECT_EQ(y.f[0], static_cast<double>(95.0f * (1.0f / 127.0f)));
  EXPECT_EQ(y.f[1], 0.0);
  EXPECT_FALSE(std::signbit(y.f[1]));
}

TEST(KernelsTest, QMatmulInt8CombinesScaleBlocksInF32) {
  // Two row blocks with scales 2 and 0.5: t = fma(S1, 0.5, S0 * 2), d = 1/127.
  Tensor x = floats(Elem::F32, {1, 2}, {1, 1});
  Tensor q = ints(Elem::I8, {2, 1}, {3, -5});
  Tensor s = floats(Elem::F32, {2, 1}, {2, 0.5});
  float t = std::fma(float(127 * -5), 0.5f, float(127 * 3) * 2.0f);
  EXPECT_EQ(qmatmulInt8(x, q, s, Elem::F32).f[0],
            static_cast<double>(t * (1.0f / 127.0f)));
}

TEST(KernelsTest, QMatmulInt8NonFiniteAndTinyRows) {
  double inf = std::numeric_limits<double>::infinity();
  Tensor x = floats(Elem::F32, {3, 2}, {1, std::nan(""), inf, 1, 0x1p-70, 1});
  // Row 2's largest magnitude is 1, so its tiny element rounds to 0.
  Tensor q = ints(Elem::I8, {2, 1}, {1, 1});
  Tensor s = floats(Elem::F32, {1, 1}, {1});
  Tensor y = qmatmulInt8(x, q, s, Elem::BF16);
  EXPECT_TRUE(std::isnan(y.f[0]));
  EXPECT_TRUE(std::isnan(y.f[1]));
  EXPECT_EQ(y.f[2], roundToBF16(127.0f * (1.0f / 127.0f)));
  Tensor tiny = floats(Elem::F32, {1, 2}, {0x1p-65, -0x1p-70});
  EXPECT_EQ(qmatmulInt8(tiny, q, s, Elem::F32).f[0], 0.0);
}

TEST(Int8ActivationsTest, ChunksDivideTheScaleBlock) {
  using nova::rt::int8ChunkRows;
  EXPECT_EQ(int8ChunkRows(1), 1);
  EXPECT_EQ(int8ChunkRows(768), 768);
  EXPECT_EQ(int8ChunkRows(1024), 1024);
  EXPECT_EQ(int8ChunkRows(1536), 768);
  EXPECT_EQ(int8ChunkRows(6144), 1024);
  EXPECT_EQ(int8ChunkRows(3000), 1000);
  EXPECT_EQ(int8ChunkRows(1031), 1); // a prime
}

TEST(Int8ActivationsTest, QuantizationEdges) {
  using namespace nova::rt;
  RowQuantization zero = int8RowQuantization(0.0f);
  EXPECT_EQ(zero.d, 0.0f);
  EXPECT_EQ(zero.r, 0.0f);
  EXPECT_EQ(int8RowQuantization(0x1p-65f).r, 0.0f);
  EXPECT_EQ(int8RowQuantization(0x1p-64f).r, 127.0f / 0x1p-64f);
  RowQuantization inf =
      int8RowQuantization(std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(inf.d));
  EXPECT_EQ(inf.r, 0.0f);
  EXPECT_TRUE(std::isnan(int8RowQuantization(std::nanf("")).d));
  EXPECT_EQ(int8Activation(2.5f, 1.0f), 2);   // half to even
  EXPECT_EQ(int8Activation(-3.5f, 1.0f), -4); // half to even
  EXPECT_EQ(int8Activation(200.0f, 1.0f), 127);
  EXPECT_EQ(int8Activation(-200.0f, 1.0f), -127);
  EXPECT_EQ(int8Activation(std::nanf(""), 1.0f), -127); // number over NaN
}

TEST(KernelsTest, ExpertQMatmulUsesOnlyTheSelectedExperts) {
  // Two experts [E=2, K=2, N=1]: expert 0 sums, expert 1 takes 10 * x1.
  Tensor q = ints(Elem::I8, {2, 2, 1}, {1, 1, 0, 10});
  Tensor s = floats(Elem::F32, {2, 1, 1}, {1, 1});
  Tensor x = floats(Elem::F32, {2, 2}, {1, 2, 3, 4});
  Tensor experts = ints(Elem::I32, {2, 2}, {1, 0, 0, 1});
  Tensor out;
  std::string error;
  ASSERT_TRUE(expertQMatmul(x, experts, q, s, Elem::F32, out, error));
  EXPECT_EQ(out.shape, (std::vector<int64_t>{2, 2, 1}));
  EXPECT_EQ(out.f, (std::vector<double>{20, 3, 7, 40}));
  // Per-slot inputs [M, k, K].
  Tensor xs = floats(Elem::F32, {1, 2, 2}, {1, 1, 2, 2});
  Tensor e1 = ints(Elem::I32, {1, 2}, {0, 1});
  ASSERT_TRUE(expertQMatmul(xs, e1, q, s, Elem::F32, out, error));
  EXPECT_EQ(out.f, (std::vector<double>{2, 20}));
  Tensor bad = ints(Elem::I32, {1, 2}, {0, 2});
  EXPECT_FALSE(expertQMatmul(xs, bad, q, s, Elem::F32, out, error));
  EXPECT_EQ(error,
            "expert index 2 of token 0 slot 1 is neither -1 (no expert) nor "
            "in [0, 2)");
  Tensor negative = ints(Elem::I32, {1, 2}, {-2, 0});
  EXPECT_FALSE(expertQMatmul(xs, negative, q, s, Elem::F32, out, error));
  EXPECT_EQ(error,
            "expert index -2 of token 0 slot 0 is neither -1 (no expert) nor "
            "in [0, 2)");
}

TEST(KernelsTest, ExpertQMatmulGivesExpertMinusOneAZeroRow) {
  // Expert -1 is no expert: its row is +0 and its input is never read, so
  // a NaN or inf there does not leak.
  Tensor q = ints(Elem::I8, {2, 2, 1}, {1, 1, 0, 10});
  Tensor s = floats(Elem::F32, {2, 1, 1}, {1, 1});
  Tensor x = floats(Elem::F32, {2, 2}, {1, 2, NAN, INFINITY});
  Tensor experts = ints(Elem::I32, {2, 2}, {1, -1, -1, -1});
  Tensor out;
  std::string error;
  ASSERT_TRUE(expertQMatmul(x, experts, q, s, Elem::BF16, out, error));
  EXPECT_EQ(out.f, (std::vector<double>{20, 0, 0, 0}));
  EXPECT_FALSE(std::signbit(out.f[1]));
}

//===----------------------------------------------------------------------===//
// Mixture of experts (§3)
//===----------------------------------------------------------------------===//

TEST(KernelsTest, MoeRouteTiesGoToTheLowerIndex) {
  Tensor logits = floats(Elem::F32, {3, 4},
                         {1, 3, 3, 0,       // two experts tie for first
                          0, 0, 0, 0,       // everything ties
                          0, NAN, 1, NAN}); // NaN: every probability is NaN
  Tensor gates, indices;
  std::string error;
  ASSERT_TRUE(
      moeRoute(logits, nullptr, nullptr, 2, false, gates, indices, error));
  // All-NaN probabilities tie: lowest indices first.
  EXPECT_EQ(indices.i, (std::vector<int64_t>{1, 2, 0, 1, 0, 1}));
  double e = std::exp(1.0), e3 = std::exp(3.0);
  double p3 = e3 / (e + 2 * e3 + 1);
  // Raw gates: probabilities over all experts, not renormalised.
  EXPECT_NEAR(gates.f[0], p3, 1e-7);
  EXPECT_EQ(gates.f[0], gates.f[1]);
  EXPECT_EQ(gates.f[2], 0.25);
  EXPECT_EQ(gates.f[3], 0.25);
  EXPECT_TRUE(std::isnan(gates.f[4]));
  ASSERT_TRUE(
      moeRoute(logits, nullptr, nullptr, 2, true, gates, indices, error));
  EXPECT_EQ(gates.f[0], 0.5);
  EXPECT_EQ(gates.f[2], 0.5);
}

TEST(KernelsTest, MoeRouteDescendingOrder) {
  Tensor logits = floats(Elem::F32, {1, 4}, {0.1, 0.4, 0.3, 0.2});
  Tensor gates, indices;
  std::string error;
  ASSERT_TRUE(
      moeRoute(logits, nullptr, nullptr, 3, false, gates, indices, error));
  EXPECT_EQ(indices.i, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_GT(gates.f[0], gates.f[1]);
  EXPECT_GT(gates.f[1], gates.f[2]);
}

TEST(KernelsTest, MoeRouteMaskedTokensSelectNoExpert) {
  // Token 1 is padding (NaN logits included): every slot -1, gate 0. The
  // mask may be i32 or i1, of the logits' leading shape.
  Tensor logits = floats(Elem::F32, {1, 3, 4},
                         {0.1, 0.4, 0.3, 0.2, NAN, 1, 2, 3, 0, 0, 5, 0});
  std::string error;
  for (Elem e : {Elem::I32, Elem::I1}) {
    Tensor mask = ints(e, {1, 3}, {1, 0, e == Elem::I1 ? 1 : 7});
    Tensor gates, indices;
    ASSERT_TRUE(
        moeRoute(logits, &mask, nullptr, 2, true, gates, indices, error));
    EXPECT_EQ(indices.shape, (std::vector<int64_t>{1, 3, 2}));
    EXPECT_EQ(indices.i, (std::vector<int64_t>{1, 2, -1, -1, 2, 0}));
    EXPECT_EQ(gates.f[2], 0.0);
    EXPECT_EQ(gates.f[3], 0.0);
    EXPECT_FALSE(std::isnan(gates.f[2]));
    EXPECT_NEAR(gates.f[0] + gates.f[1], 1.0, 1e-6);
  }
}

TEST(KernelsTest, MoeRouteForcedRoutesReplayTheRecord) {
  Tensor rollout =
      floats(Elem::F32, {3, 4}, {0.1, 0.4, 0.3, 0.2, 2, 1, 0, -1, 0, 0, 3, 1});
  std::string error;
  for (bool renormalize : {false, true}) {
    // Record: the rollout's experts. Replay with the same logits: the same
    // gates and indices, bit for bit.
    Tensor gates, indices, replayGates, replayIndices;
    ASSERT_TRUE(moeRoute(rollout, nullptr, nullptr, 2, renormalize, gates,
                         indices, error));
    ASSERT_TRUE(moeRoute(rollout, nullptr, &indices, 2, renormalize,
                         replayGates, replayIndices, error));
    EXPECT_EQ(replayIndices.i, indices.i);
    EXPECT_EQ(replayGates.f, gates.f);
  }
  // Replay under a training engine's router whose own top-2 differs: the
  // forced experts keep their order, the gates are its probabilities.
  Tensor train = floats(Elem::F32, {1, 4}, {0, 1, 2, 3});
  Tensor forced = ints(Elem::I32, {1, 2}, {1, 0});
  Tensor gates, indices;
  ASSERT_TRUE(
      moeRoute(train, nullptr, &forced, 2, false, gates, indices, error));
  EXPECT_EQ(indices.i, (std::vector<int64_t>{1, 0}));
  double z = 1 + std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  EXPECT_NEAR(gates.f[0], std::exp(1.0) / z, 1e-7);
  EXPECT_NEAR(gates.f[1], 1 / z, 1e-7);
  // Duplicates are kept; -1 is a slot without an expert, left out of the
  // renormalizing sum.
  Tensor dup = ints(Elem::I32, {1, 3}, {3, -1, 3});
  ASSERT_TRUE(moeRoute(train, nullptr, &dup, 3, true, gates, indices, error));
  EXPECT_EQ(indices.i, (std::vector<int64_t>{3, -1, 3}));
  EXPECT_EQ(gates.f, (std::vector<double>{0.5, 0, 0.5}));
  // The mask wins over forced routes.
  Tensor mask = ints(Elem::I1, {1}, {0});
  ASSERT_TRUE(moeRoute(train, &mask, &forced, 2, false, gates, indices, error));
  EXPECT_EQ(indices.i, (std::vector<int64_t>{-1, -1}));
  EXPECT_EQ(gates.f, (std::vector<double>{0, 0}));
  // Any other id out of range is an error naming token and slot.
  Tensor bad = ints(Elem::I32, {1, 2}, {0, 4});
  EXPECT_FALSE(moeRoute(train, nullptr, &bad, 2, false, gates, indices, error));
  EXPECT_EQ(error,
            "forced expert 4 of token 0 slot 1 is neither -1 (no expert) nor "
            "in [0, 4)");
}

TEST(KernelsTest, MoeCombineRoundsGatesThenSumsInF32) {
  Tensor o = floats(Elem::F32, {1, 2, 1}, {1.0, 2.0});
  Tensor g = floats(Elem::F32, {1, 2}, {0.3, 0.6});
  // bf16(0.3) = 0.30078125, bf16(0.6) = 0.6015625; their sum 1.50390625 is
  // a tie between bf16 1.5 and 1.5078125 and rounds to the even 1.5.
  EXPECT_EQ(moeCombine(o, g, Elem::BF16).f, (std::vector<double>{1.5}));
  EXPECT_EQ(moeCombine(o, g, Elem::F32).f,
            (std::vector<double>{nova::rt::roundToF32(
                nova::rt::roundToF32(0.3) +
                nova::rt::roundToF32(nova::rt::roundToF32(0.6) * 2))}));
}

//===----------------------------------------------------------------------===//
// Normalization, activations, softmax, embedding
//===----------------------------------------------------------------------===//

TEST(KernelsTest, RmsNorm) {
  Tensor x = floats(Elem::F32, {1, 2}, {3, 4});
  Tensor scale = floats(Elem::F32, {2}, {1, 2});
  Tensor y = rmsNorm(x, scale, 0.0);
  // mean(9, 16) = 12.5; 3 / sqrt(12.5) = 0.8485281; 2 * 4 / sqrt(12.5).
  EXPECT_NEAR(y.f[0], 0.84852814, 1e-7);
  EXPECT_NEAR(y.f[1], 2.26274170, 1e-6);
  Tensor yb = rmsNorm(floats(Elem::BF16, {1, 2}, {3, 4}), scale, 1e-5);
  EXPECT_EQ(yb.f[0], roundToBF16(3 / std::sqrt(12.5 + 1e-5)));
}

TEST(KernelsTest, Activations) {
  Tensor x = floats(Elem::F32, {3}, {1.0, 0.0, -2.0});
  Tensor g = gelu(x);
  EXPECT_NEAR(g.f[0], 0.84119199, 1e-7); // tanh approximation
  EXPECT_EQ(g.f[1], 0.0);
  EXPECT_NEAR(g.f[2], -0.04540231, 1e-7);
  Tensor s = silu(x);
  EXPECT_NEAR(s.f[0], 0.73105858, 1e-7);
  EXPECT_NEAR(s.f[2], -0.23840584, 1e-7);
}

TEST(KernelsTest, SoftmaxAlongAnAxis) {
  Tensor x = floats(Elem::F32, {2, 3}, {1, 2, 3, 1, 1, 1});
  Tensor p = softmax(x, 1);
  EXPECT_NEAR(p.f[0], 0.09003057, 1e-7);
  EXPECT_NEAR(p.f[1], 0.24472847, 1e-7);
  EXPECT_NEAR(p.f[2], 0.66524096, 1e-7);
  EXPECT_NEAR(p.f[3], 1.0 / 3, 1e-7);
  Tensor c = softmax(x, 0);
  EXPECT_NEAR(c.f[0], 0.5, 1e-7);
  EXPECT_NEAR(c.f[2], std::exp(2.0) / (1 + std::exp(2.0)), 1e-7);
}

TEST(KernelsTest, EmbeddingClampsIds) {
  Tensor table = floats(Elem::F32, {3, 2}, {1, 2, 3, 4, 5.001, 6});
  Tensor ids = ints(Elem::I32, {3}, {-5, 1, 99});
  Tensor h = embedding(table, ids, Elem::BF16);
  EXPECT_EQ(h.shape, (std::vector<int64_t>{3, 2}));
  EXPECT_EQ(h.f, (std::vector<double>{1, 2, 3, 4, 5.0, 6}));
}

//===----------------------------------------------------------------------===//
// Attention (§0)
//===----------------------------------------------------------------------===//

TEST(KernelsTest, RopeRotateHalf) {
  // Dh = 4: inv_freq = [1, 10000^(-1/2)] = [1, 0.01].
  Tensor x = floats(Elem::F32, {1, 2, 1, 4}, {1, 0, 0, 0, 1, 0, 0, 0});
  Tensor pos = ints(Elem::I32, {1, 2}, {0, 1});
  Tensor y = rope(x, pos, 10000.0);
  // Position 0 is the identity.
  EXPECT_EQ(std::vector<double>(y.f.begin(), y.f.begin() + 4),
            (std::vector<double>{1, 0, 0, 0}));
  // Position 1: y0 = cos 1, y2 = x0 * sin 1 (rotate-half, not interleaved).
  EXPECT_NEAR(y.f[4], 0.54030231, 1e-7);
  EXPECT_EQ(y.f[5], 0.0);
  EXPECT_NEAR(y.f[6], 0.84147098, 1e-7);
  EXPECT_EQ(y.f[7], 0.0);
  Tensor x2 = floats(Elem::F32, {1, 1, 1, 4}, {0, 1, 0, 0});
  Tensor p2 = ints(Elem::I32, {1, 1}, {100});
  Tensor y2 = rope(x2, p2, 10000.0);
  EXPECT_NEAR(y2.f[1], std::cos(1.0), 1e-6); // 100 * 0.01
  EXPECT_NEAR(y2.f[3], std::sin(1.0), 1e-6);
}

TEST(KernelsTest, KvCacheUpdateDropsOutOfRangeRows) {
  Tensor cache = floats(Elem::F32, {1, 3, 1, 1}, {7, 7, 7});
  Tensor update = floats(Elem::F32, {1, 2, 1, 1}, {1, 2});
  EXPECT_EQ(kvCacheUpdate(cache, update, ints(Elem::I32, {1}, {1})).f,
            (std::vector<double>{7, 1, 2}));
  EXPECT_EQ(kvCacheUpdate(cache, update, ints(Elem::I32, {1}, {2})).f,
            (std::vector<double>{7, 7, 1}));
  EXPECT_EQ(kvCacheUpdate(cache, update, ints(Elem::I32, {1}, {-1})).f,
            (std::vector<double>{2, 7, 7}));
}

TEST(KernelsTest, AttentionCausalCapAndGroups) {
  // B=1, T=1, Hq=2, Hkv=1, Dh=2, S=3; query at position 1 sees keys 0, 1.
  Tensor q = floats(Elem::F32, {1, 1, 2, 2}, {1, 0, 1, 0});
  Tensor k = floats(Elem::F32, {1, 3, 1, 2}, {1, 0, 0, 1, 5, 5});
  Tensor v = floats(Elem::F32, {1, 3, 1, 2}, {1, 0, 0, 1, 100, 100});
  Tensor pos = ints(Elem::I32, {1}, {1});
  Tensor o = attention(q, k, v, pos, 1.0, std::nullopt);
  double w0 = std::exp(1.0) / (std::exp(1.0) + 1);
  EXPECT_NEAR(o.f[0], w0, 1e-6);
  EXPECT_NEAR(o.f[1], 1 - w0, 1e-6);
  // Both query heads share the one KV head.
  EXPECT_EQ(o.f[2], o.f[0]);
  EXPECT_EQ(o.f[3], o.f[1]);
  // Logit cap: cap * tanh(l / cap) with cap 0.5 -> 0.5 tanh(2) for l = 1.
  Tensor c = attention(q, k, v, pos, 1.0, 0.5);
  double l = 0.5 * std::tanh(2.0);
  double wc = std::exp(l) / (std::exp(l) + 1);
  EXPECT_NEAR(c.f[0], wc, 1e-6);
  // A query before every key (p < 0) averages all values (-1e30 fill).
  Tensor none =
      attention(q, k, v, ints(Elem::I32, {1}, {-1}), 1.0, std::nullopt);
  EXPECT_NEAR(none.f[0], 101.0 / 3, 1e-4);
  // bf16 logits are rounded to bf16 before the f32 scale (§0).
  Tensor qb = floats(Elem::BF16, {1, 1, 1, 2}, {1, 1});
  Tensor kb = floats(Elem::BF16, {1, 2, 1, 2}, {1, 1.0078125, 1, 1});
  Tensor vb = floats(Elem::BF16, {1, 2, 1, 2}, {1, 0, 0, 1});
  Tensor ob =
      attention(qb, kb, vb, ints(Elem::I32, {1}, {1}), 1.0, std::nullopt);
  // Both logits round to 2 in bf16 (2.0078125 is a tie to even 2.0):
  // equal weights.
  EXPECT_EQ(ob.f[0], 0.5);
  EXPECT_EQ(ob.f[1], 0.5);
}

//===----------------------------------------------------------------------===//
// Sampling (§4)
//===----------------------------------------------------------------------===//

/// Samples one row of bf16 logits with explicit noise.
SampleResult sampleRow(std::vector<double> logits, double temperature,
                       double topP, std::vector<double> noise = {},
                       std::vector<int64_t> mask = {}, Elem e = Elem::BF16,
                       int64_t topK = 2) {
  int64_t v = static_cast<int64_t>(logits.size());
  for (double &x : logits)
    x = nova::interp::roundTo(e, x);
  if (noise.empty())
    noise.assign(v, 0.0);
  Tensor l = floats(e, {1, v}, logits);
  Tensor t = floats(Elem::F32, {1}, {temperature});
  Tensor p = floats(Elem::F32, {1}, {topP});
  Tensor g = floats(e, {1, v}, noise);
  Tensor m = ints(Elem::I32, {1, v}, mask);
  return sample(l, t, p, mask.empty() ? nullptr : &m, &g, nullptr, nullptr,
                topK);
}

/// Number of tokens with non-zero probability (= kept by the filter).
/// (Call with top_k = V so every token is listed.)
int kept(const SampleResult &r) {
  return static_cast<int>(std::count_if(r.topProbs.f.begin(),
                                        r.topProbs.f.end(),
                                        [](double p) { return p > 0; }));
}

TEST(KernelsTest, SampleTopPOneKeepsEverything) {
  // §4.4 top_p = 1: 1 - p = 0, the threshold is the minimum.
  std::vector<double> l = {4, 0, -2, -6};
  SampleResult r = sampleRow(l, 1.0, 1.0, {}, {}, Elem::BF16, 4);
  EXPECT_EQ(kept(r), 4);
  // top_p = 0.999 rounds to 1.0 in bf16: no filtering either.
  EXPECT_EQ(kept(sampleRow(l, 1.0, 0.999, {}, {}, Elem::BF16, 4)), 4);
  // ... but in f32 it is below 1 and filters the tail.
  EXPECT_LT(kept(sampleRow(l, 1.0, 0.999, {}, {}, Elem::F32, 4)), 4);
  // top_p > 1: everything kept.
  EXPECT_EQ(kept(sampleRow(l, 1.0, 1.5, {}, {}, Elem::BF16, 4)), 4);
}

TEST(KernelsTest, SampleTopPIsAValueThresholdWithTies) {
  // Probabilities 0.5, 0.3, 0.2 (f32 logits = their logs).
  std::vector<double> l = {std::log(0.5), std::log(0.3), std::log(0.2)};
  // p = 0.6: need c >= 0.4 from the bottom; 0.2 < 0.4 <= 0.5: keep {0.5, 0.3}.
  EXPECT_EQ(kept(sampleRow(l, 1.0, 0.6, {}, {}, Elem::F32, 3)), 2);
  // p = 0.45: need c >= 0.55: only the top token qualifies.
  EXPECT_EQ(kept(sampleRow(l, 1.0, 0.45, {}, {}, Elem::F32, 3)), 1);
  // Ties with the threshold token are all kept (value threshold).
  std::vector<double> tied = {2, 1, 1, 0};
  SampleResult r = sampleRow(tied, 1.0, 0.75, {}, {}, Elem::F32, 4);
  EXPECT_EQ(kept(r), 3);
  EXPECT_EQ(r.topIds.i, (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(r.topProbs.f[1], r.topProbs.f[2]);
  EXPECT_EQ(r.topProbs.f[3], 0.0); // filtered tokens have probability 0
}

TEST(KernelsTest, SampleTinyAndNonPositiveTopPKeepTheMaximumAndTies) {
  std::vector<double> l = {1, 3, 3, 2};
  // Tiny top_p keeps the maximum and all logits tied with it (§4.4).
  SampleResult r = sampleRow(l, 1.0, 1e-4, {}, {}, Elem::F32, 4);
  EXPECT_EQ(kept(r), 2);
  EXPECT_EQ(r.topProbs.f[0], 0.5);
  // top_p <= 0: Nova defines it as greedy (max and ties).
  EXPECT_EQ(kept(sampleRow(l, 1.0, 0.0, {}, {}, Elem::F32, 4)), 2);
  EXPECT_EQ(kept(sampleRow(l, 1.0, -1.0, {}, {}, Elem::BF16, 4)), 2);
}

TEST(KernelsTest, SampleAllEqualLogitsFollowTheNoise) {
  std::vector<double> l = {0.5, 0.5, 0.5, 0.5};
  std::vector<double> noise = {-1, 2, 0.5, 2};
  SampleResult r = sampleRow(l, 1.0, 0.5, noise, {}, Elem::BF16, 4);
  EXPECT_EQ(kept(r), 4); // the value threshold keeps every tie
  // Tie on z between tokens 1 and 3: the first maximum wins.
  EXPECT_EQ(r.token.i[0], 1);
  EXPECT_EQ(r.prob.f[0], 0.25);
}

TEST(KernelsTest, SampleTemperatureIsRoundedAndDivides) {
  // temperature 0.7 acts as bf16 0.69921875: 1.40625 / 0.69921875 =
  // 2.0112 rounds to bf16 2.015625.
  std::vector<double> l = {1.40625, 0};
  SampleResult r = sampleRow(l, 0.7, 1.0, {0, 0}, {}, Elem::BF16, 2);
  EXPECT_EQ(r.token.i[0], 0);
  EXPECT_EQ(roundToBF16(nova::rt::roundToF32(1.40625 / 0.69921875)), 2.015625);
  // probs = softmax([bf16(1.40625 / 0.69921875), 0]).
  double x0 = roundToBF16(nova::rt::roundToF32(1.40625 / 0.69921875));
  EXPECT_EQ(r.topProbs.f[0], roundToBF16(1 / (1 + std::exp(-x0))));
}

TEST(KernelsTest, SampleMaskLeaksAtTinyTemperature) {
  // Token 1 is masked to -1e10 after the temperature; with T = 1e-12 the
  // allowed logit -1 becomes -1e12 < -1e10 and the masked token wins (§4.4).
  std::vector<double> l = {-1, 5};
  SampleResult r = sampleRow(l, 1e-12, 1.0, {0, 0}, {1, 0}, Elem::F32, 2);
  EXPECT_EQ(r.token.i[0], 1);
  // At a sane temperature the mask holds.
  EXPECT_EQ(sampleRow(l, 1.0, 1.0, {0, 0}, {1, 0}, Elem::F32, 2).token.i[0], 0);
}

TEST(KernelsTest, SampleOverflowKeepsEverythingAndPicksTheFirstInf) {
  // 3e38 / 0.5 overflows bf16: +inf for tokens 1 and 2; softmax is NaN, the
  // filter keeps everything, the first +inf is the token (§4.4).
  std::vector<double> l = {1, 3e38, 3e38, -3e38};
  SampleResult r = sampleRow(l, 0.5, 0.9, {}, {}, Elem::BF16, 4);
  EXPECT_EQ(r.token.i[0], 1);
  EXPECT_TRUE(std::isnan(r.prob.f[0]));
}

TEST(KernelsTest, SampleTemperatureZero) {
  // T = 0: x / 0 gives +-inf, and 0 / 0 NaN; NaN z are skipped.
  std::vector<double> l = {0, -1, 2};
  SampleResult r = sampleRow(l, 0.0, 1.0, {}, {}, Elem::BF16, 3);
  EXPECT_EQ(r.token.i[0], 2);
}

TEST(KernelsTest, SampleNonPositiveTemperatureIsGreedy) {
  // T <= 0: the first maximum of the unscaled logits, whatever the noise
  // and top_p; the probabilities are the unscaled softmax, unfiltered.
  std::vector<double> l = {1, 3, 3, 2};
  std::vector<double> noise = {8, 0, 4, 8};
  // The interpreter's f64 sum of exp(x_i - max), in index order.
  double z = std::exp(-2.0) + 1 + 1 + std::exp(-1.0);
  for (double t : {0.0, -0.0, -1.0, -HUGE_VAL}) {
    SampleResult r = sampleRow(l, t, 0.5, noise, {}, Elem::BF16, 4);
    EXPECT_EQ(r.token.i[0], 1) << t;
    EXPECT_EQ(r.prob.f[0], roundToBF16(1 / z)) << t;
    EXPECT_EQ(r.topIds.i, (std::vector<int64_t>{1, 2, 3, 0})) << t;
    EXPECT_EQ(r.topProbs.f[2], roundToBF16(std::exp(-1.0) / z)) << t;
    EXPECT_EQ(kept(r), 4) << t; // top_p 0.5 is not applied
  }
  // 1e-8 is 0 in f16 (below half its smallest subnormal): greedy too.
  SampleResult f16 = sampleRow(l, 1e-8, 1.0, noise, {}, Elem::F16, 4);
  EXPECT_EQ(f16.token.i[0], 1);
  EXPECT_EQ(kept(f16), 4);
  // The same temperature in bf16 divides: only the two 3e8 keep a non-zero
  // probability.
  EXPECT_EQ(kept(sampleRow(l, 1e-8, 1.0, noise, {}, Elem::BF16, 4)), 2);
}

TEST(KernelsTest, SampleGreedyHonoursTheMaskAndSkipsNaN) {
  // Token 0 is masked to -1e10 (probability exactly 0); token 1 is NaN and
  // skipped by the argmax, but makes every probability NaN.
  std::vector<double> l = {9, 5, 4, 1};
  SampleResult r = sampleRow(l, 0.0, 1.0, {}, {0, 1, 1, 1}, Elem::F32, 4);
  EXPECT_EQ(r.token.i[0], 1);
  EXPECT_EQ(r.topIds.i, (std::vector<int64_t>{1, 2, 3, 0}));
  EXPECT_EQ(r.topProbs.f[3], 0.0);
  l[1] = NAN;
  r = sampleRow(l, 0.0, 1.0, {}, {0, 1, 1, 1}, Elem::F32, 4);
  EXPECT_EQ(r.token.i[0], 2);
  EXPECT_TRUE(std::isnan(r.prob.f[0]));
}

TEST(KernelsTest, SampleInfinityMakesEveryProbabilityNaN) {
  // A +inf logit: exp(inf - inf) is NaN, so the f64 sum and every
  // probability are NaN (the finite entries too: 0 / NaN); the top-k is
  // then the first k ids (NaN ties by the lower id).
  std::vector<double> l = {1, -2, INFINITY, 0};
  SampleResult r = sampleRow(l, 1.0, 0.5, {}, {}, Elem::BF16, 3);
  EXPECT_EQ(r.token.i[0], 2);
  EXPECT_EQ(r.topIds.i, (std::vector<int64_t>{0, 1, 2}));
  for (double p : r.topProbs.f)
    EXPECT_TRUE(std::isnan(p));
  // Overflow by the temperature acts alike: 20 / 1e-37 = 2e38 fits in
  // bf16, 40 / 1e-37 does not (beyond 3.39e38).
  r = sampleRow({20, 40, 10}, 1e-37, 0.9, {}, {}, Elem::BF16, 3);
  EXPECT_EQ(r.token.i[0], 1);
  EXPECT_EQ(r.topIds.i, (std::vector<int64_t>{0, 1, 2}));
  EXPECT_TRUE(std::isnan(r.topProbs.f[0]));
}

TEST(KernelsTest, SampleMinusInfinityHasProbabilityZero) {
  std::vector<double> l = {-INFINITY, 1, -INFINITY, 0};
  SampleResult r = sampleRow(l, 1.0, 1.0, {}, {}, Elem::F32, 4);
  EXPECT_EQ(r.token.i[0], 1);
  EXPECT_EQ(r.topIds.i, (std::vector<int64_t>{1, 3, 0, 2}));
  EXPECT_EQ(r.topProbs.f[0], nova::rt::roundToF32(1 / (1 + std::exp(-1.0))));
  EXPECT_EQ(r.topProbs.f[2], 0.0);
  // No finite logit: the maximum is -inf, exp(-inf - -inf) is NaN; the
  // token is 0 (every z is -inf, the first maximum).
  r = sampleRow({-INFINITY, -INFINITY}, 1.0, 0.5, {0, 1}, {}, Elem::F32, 2);
  EXPECT_EQ(r.token.i[0], 0);
  EXPECT_TRUE(std::isnan(r.prob.f[0]));
}

TEST(KernelsTest, SampleAllNaNDrawGivesTokenZero) {
  // z = round_T(x + g) is NaN everywhere (inf + -inf, NaN noise): token 0.
  std::vector<double> l = {1, INFINITY, 2};
  SampleResult r =
      sampleRow(l, 1.0, 1.0, {NAN, -INFINITY, NAN}, {}, Elem::BF16, 2);
  EXPECT_EQ(r.token.i[0], 0);
}

TEST(KernelsTest, SampleNaNTemperatureAndTopP) {
  // A NaN temperature is not <= 0: l / NaN is NaN everywhere, token 0.
  SampleResult r = sampleRow({1, 2}, NAN, 1.0, {0, 0}, {}, Elem::BF16, 2);
  EXPECT_EQ(r.token.i[0], 0);
  EXPECT_TRUE(std::isnan(r.prob.f[0]));
  // A NaN top_p filters nothing (0.5 would keep only the top token).
  std::vector<double> l = {4, 0, -2, -6};
  EXPECT_EQ(kept(sampleRow(l, 1.0, NAN, {}, {}, Elem::BF16, 4)), 4);
  EXPECT_EQ(kept(sampleRow(l, 1.0, 0.5, {}, {}, Elem::BF16, 4)), 1);
}

TEST(KernelsTest, SampleHugeTemperatureFlattens) {
  // 1 / 1e30 and 2 / 1e30 are normal bf16 values that differ by 1e-30:
  // exp of the difference rounds to 1, the probabilities to 0.5 each.
  SampleResult r = sampleRow({1, 2}, 1e30, 1.0, {0, 0}, {}, Elem::BF16, 2);
  EXPECT_EQ(r.token.i[0], 1);
  EXPECT_EQ(r.topProbs.f[0], 0.5);
  EXPECT_EQ(r.topProbs.f[1], 0.5);
}

TEST(KernelsTest, SampleNoiseDecidesAndTiesGoLow) {
  std::vector<double> l = {0, 0.5, 0};
  // Noise lifts token 2 to tie token 1 at 0.5: the lower id wins.
  EXPECT_EQ(sampleRow(l, 1.0, 1.0, {0, 0, 0.5}).token.i[0], 1);
  EXPECT_EQ(sampleRow(l, 1.0, 1.0, {0, 0, 0.625}).token.i[0], 2);
  // z = round_T(x + g): in bf16, 100 + 0.2 rounds back to 100 and ties.
  std::vector<double> big = {100, 100};
  EXPECT_EQ(sampleRow(big, 1.0, 1.0, {0, 0.2}).token.i[0], 0);
}

TEST(KernelsTest, SampleTopIdsTieToTheLowerId) {
  std::vector<double> l = {1, 2, 2, 1, 2};
  SampleResult r = sampleRow(l, 1.0, 1.0, {}, {}, Elem::F32, 5);
  EXPECT_EQ(r.topIds.i, (std::vector<int64_t>{1, 2, 4, 0, 3}));
}

TEST(KernelsTest, SeededNoiseIsReproducibleAndStepDependent) {
  int64_t v = 64;
  std::vector<double> logits(v, 0.0);
  Tensor l = floats(Elem::BF16, {2, v}, std::vector<double>(2 * v, 0.0));
  Tensor t = floats(Elem::F32, {2}, {1, 1});
  Tensor p = floats(Elem::F32, {2}, {1, 1});
  Tensor seed = ints(Elem::I64, {}, {42});
  auto draw = [&](int64_t step) {
    Tensor s = ints(Elem::I32, {}, {step});
    return sample(l, t, p, nullptr, nullptr, &seed, &s, 8).token.i;
  };
  std::vector<int64_t> a = draw(0);
  EXPECT_EQ(a, draw(0));
  // Rows differ (the row is part of the counter); steps differ.
  std::vector<std::vector<int64_t>> steps;
  for (int step = 0; step < 8; ++step)
    steps.push_back(draw(step));
  bool rowsDiffer = false, stepsDiffer = false;
  for (auto &s : steps) {
    rowsDiffer |= s[0] != s[1];
    stepsDiffer |= s != steps[0];
  }
  EXPECT_TRUE(rowsDiffer);
  EXPECT_TRUE(stepsDiffer);
}

//===----------------------------------------------------------------------===//
// nova.top_p_filter, sample stages and row seeds
//===----------------------------------------------------------------------===//

TEST(KernelsTest, TopPFilterIsAValueThresholdFilledWithMinus1e10) {
  // Probabilities of {2, 1, 1, 0}: the two 1s tie at the threshold and are
  // both kept; the rest gets bf16(-1e10) = -9999220736.
  Tensor l = floats(Elem::BF16, {2, 4}, {2, 1, 1, 0, 3, 0, 0, 0});
  Tensor p = floats(Elem::F32, {2}, {0.75, 0.999});
  Tensor y = topPFilter(l, p);
  EXPECT_EQ(y.shape, l.shape);
  EXPECT_EQ(y.f, (std::vector<double>{2, 1, 1, -9999220736.0, 3, 0, 0, 0}));
  // top_p <= 0 keeps the maximum and its ties; NaN filters nothing.
  Tensor greedy = floats(Elem::F32, {2}, {0, NAN});
  Tensor ties = floats(Elem::F32, {2, 4}, {1, 3, 3, 2, 1, 3, 3, 2});
  // In f32 the fill is -1e10 itself.
  EXPECT_EQ(topPFilter(ties, greedy).f,
            (std::vector<double>{-1e10, 3, 3, -1e10, 1, 3, 3, 2}));
}

TEST(KernelsTest, SampleStagesExposeScaledMaskedFilteredLogits) {
  // Row 0 samples at temperature 0.5 with a mask and top_p 0.9; row 1 is
  // greedy (temperature 0): unscaled, masked, not filtered.
  Tensor l = floats(Elem::BF16, {2, 4}, {1, 0.5, 0.25, -1, 1, 0.5, 0.25, -1});
  Tensor t = floats(Elem::F32, {2}, {0.5, 0});
  Tensor p = floats(Elem::F32, {2}, {0.9, 0.9});
  Tensor m = ints(Elem::I32, {2, 4}, {1, 1, 0, 1, 1, 1, 0, 1});
  Tensor g = floats(Elem::BF16, {2, 4}, std::vector<double>(8, 0.0));
  SampleResult r =
      sample(l, t, p, &m, &g, nullptr, nullptr, 2, nullptr, /*stages=*/true);
  const double masked = -9999220736.0;
  EXPECT_EQ(r.scaled.f, (std::vector<double>{2, 1, 0.5, -2, 1, 0.5, 0.25, -1}));
  EXPECT_EQ(r.masked.f,
            (std::vector<double>{2, 1, masked, -2, 1, 0.5, masked, -1}));
  // Step 3 is nova.top_p_filter of the masked logits.
  Tensor row0 = floats(Elem::BF16, {1, 4}, {2, 1, masked, -2});
  Tensor p0 = floats(Elem::F32, {1}, {0.9});
  std::vector<double> filtered0 = topPFilter(row0, p0).f;
  EXPECT_EQ(std::vector<double>(r.filtered.f.begin(), r.filtered.f.begin() + 4),
            filtered0);
  EXPECT_EQ(filtered0, (std::vector<double>{2, 1, masked, masked}));
  EXPECT_EQ(std::vector<double>(r.filtered.f.begin() + 4, r.filtered.f.end()),
            std::vector<double>(r.masked.f.begin() + 4, r.masked.f.end()));
  // Without stages the results are the same and no stage tensor is made.
  SampleResult plain = sample(l, t, p, &m, &g, nullptr, nullptr, 2);
  EXPECT_EQ(plain.token.i, r.token.i);
  EXPECT_EQ(plain.topProbs.f, r.topProbs.f);
  EXPECT_TRUE(plain.filtered.f.empty());
}

/// Tokens of rows `rows` of a pool of requests sampled as one batch, each
/// with its row seed, at step 3 under seed 7.
std::vector<int64_t> sampleRequests(const std::vector<int64_t> &rows,
                                    const Tensor &pool,
                                    const std::vector<int64_t> &requestIds) {
  int64_t b = static_cast<int64_t>(rows.size()), v = pool.shape[1];
  Tensor l = Tensor::make(pool.elem, {b, v});
  Tensor ids = Tensor::make(Elem::I64, {b});
  for (int64_t j = 0; j < b; ++j) {
    std::copy_n(&pool.f[rows[j] * v], v, &l.f[j * v]);
    ids.i[j] = requestIds[rows[j]];
  }
  Tensor t = floats(Elem::F32, {b}, std::vector<double>(b, 1.0));
  Tensor p = floats(Elem::F32, {b}, std::vector<double>(b, 0.95));
  Tensor seed = ints(Elem::I64, {}, {7});
  Tensor step = ints(Elem::I32, {}, {3});
  return sample(l, t, p, nullptr, nullptr, &seed, &step, 4, &ids).token.i;
}

TEST(KernelsTest, RowSeedsMakeTokensIndependentOfTheBatch) {
  // Four requests with flat logits (the noise decides) and 64-bit ids.
  int64_t v = 256;
  Tensor pool = floats(Elem::BF16, {4, v}, std::vector<double>(4 * v, 0.0));
  std::vector<int64_t> requests = {11, -5, (int64_t{3} << 40) | 11, 12};
  std::vector<int64_t> all = sampleRequests({0, 1, 2, 3}, pool, requests);
  // Reordered, mixed with other rows, and alone: the same tokens.
  std::vector<int64_t> reordered = sampleRequests({3, 1, 0, 2}, pool, requests);
  EXPECT_EQ(reordered, (std::vector<int64_t>{all[3], all[1], all[0], all[2]}));
  EXPECT_EQ(sampleRequests({2, 0}, pool, requests),
            (std::vector<int64_t>{all[2], all[0]}));
  for (int64_t r = 0; r < 4; ++r)
    EXPECT_EQ(sampleRequests({r}, pool, requests),
              std::vector<int64_t>{all[r]});
  // The high word of the key matters: ids 11 and 3 << 40 | 11 differ.
  std::vector<int64_t> differences;
  for (int64_t step = 0; step < 8; ++step) {
    Tensor seed = ints(Elem::I64, {}, {7});
    Tensor s = ints(Elem::I32, {}, {step});
    Tensor ids = ints(Elem::I64, {2}, {11, (int64_t{3} << 40) | 11});
    Tensor l = floats(Elem::BF16, {2, v}, std::vector<double>(2 * v, 0.0));
    Tensor t = floats(Elem::F32, {2}, {1, 1});
    SampleResult r = sample(l, t, t, nullptr, nullptr, &seed, &s, 1, &ids);
    differences.push_back(r.token.i[0] - r.token.i[1]);
  }
  EXPECT_TRUE(std::any_of(differences.begin(), differences.end(),
                          [](int64_t d) { return d != 0; }));
}

TEST(KernelsTest, RowSeedsEqualToTheRowsAreTheDefaultStream) {
  // Without row_seeds the key of row b is b: the stream is unchanged.
  int64_t v = 100;
  Tensor l = floats(Elem::BF16, {3, v}, std::vector<double>(3 * v, 0.0));
  Tensor t = floats(Elem::F32, {3}, {1, 1, 1});
  Tensor seed = ints(Elem::I64, {}, {42});
  Tensor step = ints(Elem::I32, {}, {5});
  Tensor rows = ints(Elem::I64, {3}, {0, 1, 2});
  EXPECT_EQ(sample(l, t, t, nullptr, nullptr, &seed, &step, 8).token.i,
            sample(l, t, t, nullptr, nullptr, &seed, &step, 8, &rows).token.i);
}

} // namespace
