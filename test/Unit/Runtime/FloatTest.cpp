//===- FloatTest.cpp - Exact rounding to f32, bf16 and f16 ----------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Float.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace nova::rt;

namespace {

TEST(FloatTest, BF16RoundsHalfToEven) {
  // Exactly halfway between 1 and 1 + 2^-7: ties to the even 1.0.
  EXPECT_EQ(roundToBF16(1.0 + std::ldexp(1.0, -8)), 1.0);
  // Halfway between 1 + 2^-7 and 1 + 2^-6: ties to the even 1 + 2^-6.
  EXPECT_EQ(roundToBF16(1.0 + 3 * std::ldexp(1.0, -8)),
            1.0 + std::ldexp(1.0, -6));
  // Just above halfway rounds up: no double rounding through f32.
  EXPECT_EQ(roundToBF16(1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40)),
            1.0 + std::ldexp(1.0, -7));
  // Grok-1's constants (grok1-semantics.md §0, §4.2).
  EXPECT_EQ(roundToBF16(78.38367176906169), 78.5);
  EXPECT_EQ(roundToBF16(0.5773502691896257), 0.578125);
  EXPECT_EQ(roundToBF16(0.01), 0.010009765625);
  EXPECT_EQ(roundToBF16(0.7), 0.69921875);
  EXPECT_EQ(roundToBF16(0.95), 0.94921875);
  EXPECT_EQ(roundToBF16(0.99), 0.98828125);
  EXPECT_EQ(roundToBF16(0.999), 1.0);
  EXPECT_EQ(roundToBF16(-1e10), -9999220736.0);
}

TEST(FloatTest, OverflowSubnormalsAndSpecials) {
  double bf16Max = std::ldexp(2.0 - std::ldexp(1.0, -7), 127);
  EXPECT_EQ(roundToBF16(bf16Max), bf16Max);
  // Half an ulp above the maximum rounds to infinity.
  EXPECT_TRUE(std::isinf(roundToBF16(bf16Max + std::ldexp(1.0, 127 - 8))));
  EXPECT_EQ(roundToBF16(std::ldexp(1.0, -133)), std::ldexp(1.0, -133));
  EXPECT_EQ(roundToBF16(std::ldexp(1.0, -135)), 0.0);
  EXPECT_EQ(roundToF16(65504.0), 65504.0);
  EXPECT_TRUE(std::isinf(roundToF16(65520.0)));
  EXPECT_EQ(roundToF16(std::ldexp(1.0, -24)), std::ldexp(1.0, -24));
  EXPECT_TRUE(std::isnan(roundToBF16(NAN)));
  EXPECT_EQ(encodeFloat(-0.0, kBF16Format), 0x8000u);
  EXPECT_EQ(encodeFloat(INFINITY, kBF16Format), 0x7f80u);
  EXPECT_EQ(encodeFloat(1.0, kF16Format), 0x3c00u);
}

TEST(FloatTest, MatchesHardwareF32Conversion) {
  // encodeFloat(f32) must agree bit for bit with the CPU's double->float
  // conversion (round to nearest even) on random doubles.
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<uint64_t> bits;
  for (int i = 0; i < 100000; ++i) {
    uint64_t b = bits(rng);
    double d;
    std::memcpy(&d, &b, 8);
    if (std::isnan(d))
      continue;
    float f = static_cast<float>(d);
    uint32_t expected;
    std::memcpy(&expected, &f, 4);
    ASSERT_EQ(encodeFloat(d, kF32Format), expected) << d;
  }
}

TEST(FloatTest, BF16RoundTripsEveryBitPattern) {
  for (uint32_t b = 0; b < 0x10000; ++b) {
    double v = decodeFloat(b, kBF16Format);
    if (std::isnan(v))
      continue;
    ASSERT_EQ(encodeFloat(v, kBF16Format), b);
  }
}

} // namespace
