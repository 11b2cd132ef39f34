//===- SampleMath.cpp - The exponential and masses of nova.sample ---------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/SampleMath.h"

#include <cmath>
#include <cstring>

using namespace nova::rt;

// Every multiply and add below is one IEEE f32 operation: the compiler must
// not fuse them into FMAs that the compiled kernels do not use.
#pragma clang fp contract(off)

float nova::rt::sampleExp(float d) {
  if (std::isnan(d))
    return d;
  if (d < kSampleExpMin)
    return 0.0f;
  float t = d * kLog2E;
  float n = t + kRound;
  n = n - kRound;
  float r = std::fma(n, -kLn2Hi, d);
  r = std::fma(n, kLn2Lo, r);
  float p = kExpPoly[0];
  for (int j = 1; j < 6; ++j)
    p = std::fma(p, r, kExpPoly[j]);
  float z = r * r;
  float y = std::fma(p, z, r);
  y = y + 1.0f;
  // n is an integer in [-126, 0] for d in [-87, 0]: 2^n is a normal float.
  uint32_t bits = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof(scale));
  return y * scale;
}

uint64_t nova::rt::sampleMass(float e) {
  return static_cast<uint64_t>(e * 0x1p40f);
}

uint64_t nova::rt::nucleusNeed(float need, uint64_t total) {
  uint32_t bits;
  std::memcpy(&bits, &need, sizeof(bits));
  // need = a · 2^-q with an integer a < 2^24.
  uint32_t exponent = (bits >> 23) & 0xff;
  uint64_t a = bits & 0x7fffff;
  int q = 149;
  if (exponent != 0) {
    a |= 0x800000;
    q = 150 - static_cast<int>(exponent);
  }
  // a · total < 2^87, so q ≥ 100 rounds the same as q itself.
  if (q > 100)
    q = 100;
  unsigned __int128 product = static_cast<unsigned __int128>(a) * total;
  unsigned __int128 one = 1;
  return static_cast<uint64_t>((product + (one << q) - 1) >> q);
}
