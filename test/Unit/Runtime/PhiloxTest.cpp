//===- PhiloxTest.cpp - Philox 4x32-10 and Gumbel noise -------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Philox.h"
#include "nova/runtime/Float.h"

#include <gtest/gtest.h>

#include <cmath>
#include <set>

using namespace nova::rt;

namespace {

// Known-answer vectors of Random123 (kat_vectors, philox4x32 with 10 rounds).
TEST(PhiloxTest, KnownAnswers) {
  EXPECT_EQ(philox4x32_10({0, 0, 0, 0}, {0, 0}),
            (PhiloxCounter{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}));
  EXPECT_EQ(philox4x32_10({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                          {0xffffffff, 0xffffffff}),
            (PhiloxCounter{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}));
  EXPECT_EQ(philox4x32_10({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                          {0xa4093822, 0x299f31d0}),
            (PhiloxCounter{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}));
}

TEST(PhiloxTest, SampleWordIsKeyedBySeedRowStep) {
  uint32_t w = sampleWord(42, 0, 0, 5);
  EXPECT_EQ(w, sampleWord(42, 0, 0, 5));
  EXPECT_NE(w, sampleWord(43, 0, 0, 5));
  EXPECT_NE(w, sampleWord(42, 1, 0, 5));
  EXPECT_NE(w, sampleWord(42, 0, 1, 5));
  // Word i of the vocabulary is output i % 4 of counter i / 4.
  PhiloxCounter c = philox4x32_10({1, 2, 3, 0}, {42, 0});
  EXPECT_EQ(sampleWord(42, 2, 3, 6), c[2]);
  EXPECT_EQ(sampleWord(42, 2, 3, 7), c[3]);
  // The high 32 bits of the seed are the second key word.
  PhiloxCounter hi = philox4x32_10({0, 0, 0, 0}, {1, 2});
  EXPECT_EQ(sampleWord((2ull << 32) | 1, 0, 0, 1), hi[1]);
  // A 64-bit row key (nova.sample's row_seeds) fills counter words 1 and 3.
  PhiloxCounter row = philox4x32_10({2, 7, 3, 9}, {42, 0});
  EXPECT_EQ(sampleWord(42, (9ull << 32) | 7, 3, 9), row[1]);
  // A negative row seed is its two's-complement bits.
  PhiloxCounter neg = philox4x32_10({0, 0xffffffffu, 0, 0xffffffffu}, {42, 0});
  EXPECT_EQ(sampleWord(42, static_cast<uint64_t>(int64_t{-1}), 0, 0), neg[0]);
}

TEST(PhiloxTest, BF16GumbelNoiseHas128Levels) {
  // grok1-semantics §4.2.4: a bf16 uniform has 7 random bits, so the noise
  // takes 128 values between about -4.47 and 4.85.
  std::set<double> levels;
  for (uint32_t k = 0; k < 128; ++k)
    levels.insert(gumbelNoise(k << 25 | 0x1234567u, 7, 8));
  EXPECT_EQ(levels.size(), 128u);
  EXPECT_NEAR(*levels.begin(), -4.47, 0.01); // u = tiny: -log(-log(tiny))
  EXPECT_NEAR(*levels.rbegin(), 4.84, 0.02); // u = 127/128
  for (double g : levels)
    EXPECT_EQ(roundToBF16(g), g);
  // u = 1/2 exactly: -log(log 2) = 0.3665...
  EXPECT_EQ(gumbelNoise(64u << 25, 7, 8),
            roundToBF16(-std::log(std::log(2.0))));
}

TEST(PhiloxTest, F32GumbelNoiseUses23Bits) {
  double a = gumbelNoise(0x80000000u, 23, 8);
  double b = gumbelNoise(0x80000200u, 23, 8); // differs in bit 9
  EXPECT_NE(a, b);
  EXPECT_EQ(gumbelNoise(0x80000000u, 23, 8), gumbelNoise(0x800001ffu, 23, 8));
  EXPECT_EQ(roundToF32(a), a);
}

} // namespace
