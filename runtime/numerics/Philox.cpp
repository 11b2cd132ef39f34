//===- Philox.cpp - Nova's Gumbel noise -----------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Philox.h"
#include "nova/runtime/Float.h"

#include <cmath>
#include <vector>

using namespace nova::rt;

static double computeGumbel(uint32_t word, int mantissaBits, int exponentBits) {
  FloatFormat format{exponentBits, mantissaBits};
  int bias = (1 << (exponentBits - 1)) - 1;
  double tiny = std::ldexp(1.0, 1 - bias);
  double u = std::ldexp(static_cast<double>(word >> (32 - mantissaBits)),
                        -mantissaBits);
  if (u < tiny)
    u = tiny;
  return roundTo(-std::log(-std::log(u)), format);
}

double nova::rt::gumbelNoise(uint32_t word, int mantissaBits,
                             int exponentBits) {
  // bf16 and f16 uniforms take 2^m values: tabulate them once so every
  // caller sees identical noise.
  if (mantissaBits <= 10) {
    static const std::vector<double> bf16 = [] {
      std::vector<double> t(1u << 7);
      for (uint32_t k = 0; k < t.size(); ++k)
        t[k] = computeGumbel(k << 25, 7, 8);
      return t;
    }();
    static const std::vector<double> f16 = [] {
      std::vector<double> t(1u << 10);
      for (uint32_t k = 0; k < t.size(); ++k)
        t[k] = computeGumbel(k << 22, 10, 5);
      return t;
    }();
    if (mantissaBits == 7 && exponentBits == 8)
      return bf16[word >> 25];
    if (mantissaBits == 10 && exponentBits == 5)
      return f16[word >> 22];
  }
  return computeGumbel(word, mantissaBits, exponentBits);
}
