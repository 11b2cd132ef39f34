//===- SampleMathTest.cpp - Sampling's exponential and masses -------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/SampleMath.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace nova::rt;

namespace {

float fromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

/// |a - b| in units in the last place of b (b a normal float).
double ulps(float a, double b) {
  int e;
  std::frexp(b, &e);
  return std::fabs(a - b) / std::ldexp(1.0, e - 24);
}

TEST(SampleMathTest, ExpIsExactAtZeroAndZeroBelowTheRange) {
  EXPECT_EQ(sampleExp(0.0f), 1.0f);
  EXPECT_EQ(sampleExp(-0.0f), 1.0f);
  EXPECT_EQ(sampleExp(-87.0001f), 0.0f);
  EXPECT_EQ(sampleExp(-1e10f), 0.0f);
  EXPECT_EQ(sampleExp(-INFINITY), 0.0f);
  EXPECT_TRUE(std::isnan(sampleExp(NAN)));
  EXPECT_GT(sampleExp(-87.0f), 0.0f);
}

// Every 61st f32 in [-87, 0] (about 18 million values, subnormal d
// included): within 2 ulp of the exponential rounded to f32.
TEST(SampleMathTest, ExpIsWithinTwoUlpOnItsWholeRange) {
  double worst = 0;
  float at = 0;
  for (uint32_t bits = 0x80000000u; bits <= 0xc2ae0000u; bits += 61) {
    float d = fromBits(bits);
    double exact = std::exp(static_cast<double>(d));
    double err = ulps(sampleExp(d), exact);
    if (err > worst) {
      worst = err;
      at = d;
    }
  }
  EXPECT_LE(worst, 2.0) << "at d = " << at;
}

TEST(SampleMathTest, MassIsTheFloorOf2To40Times) {
  EXPECT_EQ(sampleMass(1.0f), uint64_t(1) << 40);
  EXPECT_EQ(sampleMass(0.5f), uint64_t(1) << 39);
  EXPECT_EQ(sampleMass(0.0f), 0u);
  EXPECT_EQ(sampleMass(std::ldexp(1.0f, -40)), 1u);
  EXPECT_EQ(sampleMass(std::nextafter(std::ldexp(1.0f, -40), 0.0f)), 0u);
  float e = 0.7f; // 0.699999988079071044921875: 2^40 e is not an integer
  EXPECT_EQ(sampleMass(e), static_cast<uint64_t>(std::floor(
                               std::ldexp(static_cast<double>(e), 40))));
  // The largest row sums to at most 2^62, within a signed 64-bit integer.
  EXPECT_LE(static_cast<double>(kMaxSampleVocab) * std::ldexp(1.0, 40),
            std::ldexp(1.0, 62));
}

/// The need of nucleusNeed, checked through std::frexp's decomposition:
/// (N - 1) · 2^q < a · total ≤ N · 2^q for need = a · 2^-q.
void expectCeiling(float need, uint64_t total) {
  uint64_t n = nucleusNeed(need, total);
  int e;
  double f = std::frexp(static_cast<double>(need), &e); // need = f · 2^e
  unsigned __int128 a = static_cast<unsigned __int128>(std::ldexp(f, 60));
  int q = 60 - e; // need = a · 2^-q exactly
  unsigned __int128 product = a * total;
  if (q >= 127) {
    EXPECT_EQ(n, product != 0 ? 1u : 0u) << need << " " << total;
    return;
  }
  unsigned __int128 scale = static_cast<unsigned __int128>(1) << q;
  EXPECT_GE(static_cast<unsigned __int128>(n) * scale, product)
      << need << " " << total;
  if (n > 0)
    EXPECT_LT(static_cast<unsigned __int128>(n - 1) * scale, product)
        << need << " " << total;
}

TEST(SampleMathTest, NucleusNeedIsTheExactCeiling) {
  EXPECT_EQ(nucleusNeed(0.0f, 12345), 0u);
  EXPECT_EQ(nucleusNeed(1.0f, 12345), 12345u);
  EXPECT_EQ(nucleusNeed(0.5f, 3), 2u);
  EXPECT_EQ(nucleusNeed(0.25f, 8), 2u);
  // 0.05 in bf16 is 0.050048828125 = 205 / 4096.
  EXPECT_EQ(nucleusNeed(0.050048828125f, 4096), 205u);
  EXPECT_EQ(nucleusNeed(0.050048828125f, 4097), 206u);
  EXPECT_EQ(nucleusNeed(std::ldexp(1.0f, -149), uint64_t(1) << 62), 1u);
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200000; ++i) {
    // Random values in [0, 1] of every binade, subnormals included.
    float need = fromBits(static_cast<uint32_t>(rng() % 0x3f800001u));
    uint64_t total = rng() >> (1 + rng() % 63);
    expectCeiling(need, total);
  }
}

} // namespace
