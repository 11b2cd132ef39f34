//===- Kernels.h - Reference semantics of the Nova ops ----------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// One function per Nova op, on interpreter tensors, implementing the op's
// description in docs/dialect/NovaDialect.md. Pure C++ (no MLIR), so the
// unit tests can check them against hand-computed values directly. Inputs
// are assumed to satisfy the op verifiers; data-dependent failures (an
// expert index out of range, ...) return false with a message.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_INTERPRETER_KERNELS_H
#define NOVA_RUNTIME_INTERPRETER_KERNELS_H

#include "runtime/interpreter/Tensor.h"

#include <optional>

namespace nova::interp {

// Quantized kernels index the scales by broadcasting their shape against the
// weight's (the verifier ties the shape to the op's #nova.scale_layout), so
// they take no layout of their own.
Tensor quantize(const Tensor &x, const Tensor &scales);
Tensor dequantize(const Tensor &q, const Tensor &scales, Elem result);
Tensor matmul(const Tensor &lhs, const Tensor &rhs, bool transposeRhs,
              Elem result);
Tensor qmatmul(const Tensor &x, const Tensor &q, const Tensor &scales,
               Elem result);
/// nova.qmatmul with `int8_activations`: x quantized per row to int8,
/// exact integer sums per chunk of weight rows
/// (nova/runtime/Int8Activations.h).
Tensor qmatmulInt8(const Tensor &x, const Tensor &q, const Tensor &scales,
                   Elem result);
bool expertQMatmul(const Tensor &x, const Tensor &experts, const Tensor &q,
                   const Tensor &scales, Elem result, Tensor &out,
                   std::string &error);
/// `mask` ([...], non-zero = a real token) and `forced` ([..., k] expert
/// ids) are optional; a forced id outside [-1, E) fails.
bool moeRoute(const Tensor &logits, const Tensor *mask, const Tensor *forced,
              int64_t k, bool renormalize, Tensor &gates, Tensor &indices,
              std::string &error);
Tensor moeCombine(const Tensor &outputs, const Tensor &gates, Elem result);
Tensor rmsNorm(const Tensor &x, const Tensor &scale, double eps);
Tensor gelu(const Tensor &x);
Tensor silu(const Tensor &x);
Tensor softmax(const Tensor &x, int64_t axis);
Tensor embedding(const Tensor &table, const Tensor &ids, Elem result);
Tensor rope(const Tensor &x, const Tensor &positions, double base);
Tensor kvCacheUpdate(const Tensor &cache, const Tensor &update,
                     const Tensor &positions);
Tensor attention(const Tensor &q, const Tensor &k, const Tensor &v,
                 const Tensor &positions, double scale,
                 std::optional<double> cap);

/// nova.top_p_filter: logits [B, V] outside each row's nucleus set to
/// round_T(-1e10).
Tensor topPFilter(const Tensor &logits, const Tensor &topP);

/// Results of nova.sample; the stage logits only with `stages`.
struct SampleResult {
  Tensor token, prob, topIds, topProbs;
  Tensor scaled, masked, filtered;
};
/// `noise` or (`seed`, `step`) must be given; `rowSeeds` ([B] i64) only
/// with (`seed`, `step`).
SampleResult sample(const Tensor &logits, const Tensor &temperature,
                    const Tensor &topP, const Tensor *mask, const Tensor *noise,
                    const Tensor *seed, const Tensor *step, int64_t topK,
                    const Tensor *rowSeeds = nullptr, bool stages = false);

} // namespace nova::interp

#endif // NOVA_RUNTIME_INTERPRETER_KERNELS_H
