//===- Int8Activations.cpp - nova.qmatmul's fast numerics -----------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Int8Activations.h"

#include <algorithm>
#include <cmath>
#include <limits>

using namespace nova::rt;

int64_t nova::rt::int8ChunkRows(int64_t blockRows) {
  for (int64_t rows = std::min(blockRows, kInt8MaxChunkRows); rows > 1; --rows)
    if (blockRows % rows == 0)
      return rows;
  return 1;
}

RowQuantization nova::rt::int8RowQuantization(float absMax) {
  if (!std::isfinite(absMax))
    return {std::numeric_limits<float>::quiet_NaN(), 0.0f};
  if (absMax < kInt8MinAbsMax)
    return {0.0f, 0.0f};
  return {absMax / kInt8ActivationMax, kInt8ActivationMax / absMax};
}

int8_t nova::rt::int8Activation(float x, float r) {
  float t = x * r;
  // roundeven: the default rounding mode is never changed by Nova.
  t = std::nearbyint(t);
  t = std::fmin(std::fmax(t, -kInt8ActivationMax), kInt8ActivationMax);
  return static_cast<int8_t>(t);
}
