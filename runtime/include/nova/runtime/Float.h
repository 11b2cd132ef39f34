//===- Float.h - Exact rounding to f32, bf16 and f16 ------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Encodes a double into the bits of a narrower IEEE-style format with one
// round-to-nearest-even step (no double rounding through f32), and decodes
// such bits exactly. The interpreter's round_T() and every file reader and
// writer use these, so bf16 results are bit-exact where Grok-1's are.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_FLOAT_H
#define NOVA_RUNTIME_FLOAT_H

#include <cstdint>

namespace nova::rt {

/// An IEEE-754 binary format with `exponentBits` and `mantissaBits`
/// (explicit fraction bits).
struct FloatFormat {
  int exponentBits;
  int mantissaBits;
};
constexpr FloatFormat kF32Format{8, 23};
constexpr FloatFormat kBF16Format{8, 7};
constexpr FloatFormat kF16Format{5, 10};

/// The bits of `value` rounded to `format` with round-to-nearest-even;
/// overflow gives ±inf, NaN gives the canonical quiet NaN (sign kept).
uint32_t encodeFloat(double value, FloatFormat format);
/// The exact value of `bits` in `format`.
double decodeFloat(uint32_t bits, FloatFormat format);

/// `value` rounded to the format (as a double).
inline double roundTo(double value, FloatFormat format) {
  return decodeFloat(encodeFloat(value, format), format);
}
inline double roundToF32(double v) { return roundTo(v, kF32Format); }
inline double roundToBF16(double v) { return roundTo(v, kBF16Format); }
inline double roundToF16(double v) { return roundTo(v, kF16Format); }

inline uint16_t floatToBF16Bits(float f) {
  return static_cast<uint16_t>(encodeFloat(f, kBF16Format));
}
inline float bf16BitsToFloat(uint16_t bits) {
  return static_cast<float>(decodeFloat(bits, kBF16Format));
}
inline uint16_t floatToF16Bits(float f) {
  return static_cast<uint16_t>(encodeFloat(f, kF16Format));
}
inline float f16BitsToFloat(uint16_t bits) {
  return static_cast<float>(decodeFloat(bits, kF16Format));
}

} // namespace nova::rt

#endif // NOVA_RUNTIME_FLOAT_H
