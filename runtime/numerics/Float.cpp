//===- Float.cpp - Exact rounding to f32, bf16 and f16 --------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Float.h"

#include <cfenv>
#include <cmath>

using namespace nova::rt;

uint32_t nova::rt::encodeFloat(double value, FloatFormat format) {
  const int m = format.mantissaBits;
  const int bias = (1 << (format.exponentBits - 1)) - 1;
  const int emin = 1 - bias;
  const uint32_t expMask = (1u << format.exponentBits) - 1;
  const uint32_t sign =
      std::signbit(value) ? 1u << (format.exponentBits + m) : 0u;
  if (std::isnan(value))
    return sign | (expMask << m) | (1u << (m - 1));
  double a = std::fabs(value);
  if (std::isinf(a))
    return sign | (expMask << m);
  if (a == 0)
    return sign;
  int e;
  (void)std::frexp(a, &e); // a = f * 2^e, f in [0.5, 1): exponent is e - 1
  int exponent = e - 1;
  int quantumExp = (exponent < emin ? emin : exponent) - m;
  // Scaling by a power of two is exact; nearbyint rounds half to even.
  double q = std::nearbyint(std::ldexp(a, -quantumExp));
  double r = std::ldexp(q, quantumExp);
  // Largest finite value: (2 - 2^-m) * 2^bias.
  double maxFinite = std::ldexp(2.0 - std::ldexp(1.0, -m), bias);
  if (r > maxFinite)
    return sign | (expMask << m);
  if (r < std::ldexp(1.0, emin)) // subnormal (or rounded to zero)
    return sign | static_cast<uint32_t>(std::ldexp(r, m - emin));
  (void)std::frexp(r, &e);
  exponent = e - 1;
  uint32_t fraction =
      static_cast<uint32_t>(std::ldexp(r, m - exponent)) - (1u << m);
  return sign | (static_cast<uint32_t>(exponent + bias) << m) | fraction;
}

double nova::rt::decodeFloat(uint32_t bits, FloatFormat format) {
  const int m = format.mantissaBits;
  const int bias = (1 << (format.exponentBits - 1)) - 1;
  const uint32_t expMask = (1u << format.exponentBits) - 1;
  bool negative = (bits >> (format.exponentBits + m)) & 1;
  uint32_t exponent = (bits >> m) & expMask;
  uint32_t fraction = bits & ((1u << m) - 1);
  double v;
  if (exponent == expMask)
    v = fraction ? std::nan("") : INFINITY;
  else if (exponent == 0)
    v = std::ldexp(static_cast<double>(fraction), 1 - bias - m);
  else
    v = std::ldexp(static_cast<double>(fraction | (1u << m)),
                   static_cast<int>(exponent) - bias - m);
  return negative ? -v : v;
}
