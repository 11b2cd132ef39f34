//===- Int8Activations.h - nova.qmatmul's fast numerics ---------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The opt-in fast numerics of nova.qmatmul (`int8_activations`,
// `--numerics=fast`): each row of activations quantized to int8 with one
// scale, the products summed exactly per chunk of weight rows, the
// chunks combined with the weight scales in f32 in a fixed order. The
// interpreter calls these functions; the compiled kernels emit the same
// operations (passes/Conversion/NovaToLinalg/Int8ActivationLowering.cpp).
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_INT8ACTIVATIONS_H
#define NOVA_RUNTIME_INT8ACTIVATIONS_H

#include <cstdint>

namespace nova::rt {

/// The largest |xq|: activations are symmetric, in [-127, 127].
inline constexpr float kInt8ActivationMax = 127.0f;

/// Rows whose largest magnitude is below 2^-64 are quantized to zero: 127 / a
/// must stay finite (it overflows for a < 2^-121), and such rows contribute
/// at most a · Σ_k |W[k, n]| to any output.
inline constexpr float kInt8MinAbsMax = 0x1p-64f;

/// The most weight rows one sum covers: its partial sums stay integers below
/// 1024 · 127 · 128 < 2^24, exact in f32, so the compiled kernels may compute
/// them with f32 fused multiply-adds in any order.
inline constexpr int64_t kInt8MaxChunkRows = 1024;

/// The rows of each chunk (one exact sum) of a scale block of `blockRows` rows:
/// the largest divisor of `blockRows` that is at most kInt8MaxChunkRows.
int64_t int8ChunkRows(int64_t blockRows);

/// A row's quantization from its largest magnitude `absMax`: the scale `d`
/// its integer sums are multiplied by and the factor `r` its values are
/// multiplied by before rounding. absMax < kInt8MinAbsMax (zero included)
/// gives d = r = 0 (the row's outputs are +0); a non-finite absMax gives d =
/// NaN and r = 0 (its outputs are NaN).
struct RowQuantization {
  float d;
  float r;
};
RowQuantization int8RowQuantization(float absMax);

/// xq = int(min(max(roundeven(f32(x · r)), -127), 127)), max and min taking
/// the number over a NaN.
int8_t int8Activation(float x, float r);

} // namespace nova::rt

#endif // NOVA_RUNTIME_INT8ACTIVATIONS_H
