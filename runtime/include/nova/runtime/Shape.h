//===- Shape.h - Tensor shapes: formatting and checked sizes ----*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Part of NovaNumerics, the bottom floor shared by the compiler and the
// runtime: no LLVM/MLIR, no threads, no IO.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_SHAPE_H
#define NOVA_RUNTIME_SHAPE_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nova::rt {

/// "[2, 3]".
std::string formatShape(const std::vector<int64_t> &shape);

/// a · b, or std::nullopt when the product of the non-negative `a` and `b`
/// does not fit in int64_t.
std::optional<int64_t> checkedMul(int64_t a, int64_t b);

/// a + b, or std::nullopt when the sum of the non-negative `a` and `b` does
/// not fit in int64_t.
std::optional<int64_t> checkedAdd(int64_t a, int64_t b);

/// The product of `sizes` (1 for none), or std::nullopt on int64_t
/// overflow; `sizes` are non-negative.
std::optional<int64_t> checkedProduct(const std::vector<int64_t> &sizes);

/// The bytes of a tensor of `shape` with `itemSize`-byte elements: the
/// product of `shape` times `itemSize`, 0 when a dimension is 0, or
/// std::nullopt when a dimension is negative or the count does not fit in
/// int64_t. Every reader that sizes a buffer from a shape uses this.
std::optional<int64_t> checkedByteSize(const std::vector<int64_t> &shape,
                                       int64_t itemSize);

} // namespace nova::rt

#endif // NOVA_RUNTIME_SHAPE_H
