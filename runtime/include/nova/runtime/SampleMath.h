//===- SampleMath.h - The exponential and masses of nova.sample -*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Sampling's softmax, defined so that every backend computes it bit for bit
// in one vectorized pass: an f32 exponential of fixed operations (Cody-Waite
// reduction, a degree-6 polynomial, a power of two from the exponent bits)
// and integer masses w = floor(2^40 · e), whose sums are exact and so do not
// depend on the order of the additions (lanes, threads, shards). The
// interpreter calls these functions; the compiled kernels emit the same
// operations (passes/Conversion/NovaToLinalg/SampleLowering.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_SAMPLEMATH_H
#define NOVA_RUNTIME_SAMPLEMATH_H

#include <cstdint>

namespace nova::rt {

/// The operations of sampleExp, in order (each rounded to f32, fma once):
///   d < kSampleExpMin (or -inf):  0
///   t = d · kLog2E;  n = (t + kRound) - kRound      (n = rint(t))
///   r = fma(n, -kLn2Hi, d);  r = fma(n, kLn2Lo, r)
///   p = kExpPoly[0];  p = fma(p, r, kExpPoly[j]) for j = 1 .. 5
///   y = fma(p, r · r, r) + 1
///   e = y · 2^n                                      (2^n from its bits)
inline constexpr float kSampleExpMin = -87.0f;
inline constexpr float kLog2E = 1.44269504088896341f;
inline constexpr float kRound = 12582912.0f; // 1.5 · 2^23
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = 2.12194440e-4f;
inline constexpr float kExpPoly[6] = {1.9875691500e-4f, 1.3981999507e-3f,
                                      8.3334519073e-3f, 4.1665795894e-2f,
                                      1.6666665459e-1f, 5.0000001201e-1f};

/// exp(d) for d ≤ 0 as nova.sample defines it (within 2 ulp of the true
/// exponential, exactly 1 at 0, exactly 0 below -87). NaN gives NaN.
float sampleExp(float d);

/// The integer mass of a term e = sampleExp(d) in [0, 1]: floor(2^40 · e).
/// A row of at most kMaxSampleVocab terms sums to at most 2^62.
inline constexpr int kSampleMassBits = 40;
inline constexpr int64_t kMaxSampleVocab = int64_t(1) << 22;
uint64_t sampleMass(float e);

/// ceil(need · total), exactly, for a value `need` in [0, 1] of a float
/// type of at most 24 significant bits (bf16, f16, f32) and total < 2^63.
uint64_t nucleusNeed(float need, uint64_t total);

} // namespace nova::rt

#endif // NOVA_RUNTIME_SAMPLEMATH_H
