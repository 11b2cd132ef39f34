//===- TensorLiteral.h - Tensors written on a command line ------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// `nova-run --input NAME=VALUE`'s inline values, as iree-run-module takes
// them:
//
//   3                   a scalar, or every element (a splat), in the
//                       input's own shape and dtype
//   1,2,3,4             every element, row-major
//   2x2xi32=1,2,3,4     with the shape and dtype spelled out (checked
//                       against the input's); `f32=1.5` for a scalar
//
// Floats are decimal or hexadecimal C literals, inf and nan, rounded to the
// dtype (nearest, ties to even); integers must fit their dtype; booleans are
// 0, 1, true or false.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_TENSORLITERAL_H
#define NOVA_RUNTIME_TENSORLITERAL_H

#include "nova/runtime/HostTensor.h"

#include <string>
#include <string_view>
#include <vector>

namespace nova::rt {

/// Whether `text` is an inline value rather than a file name: it has the
/// TYPE=VALUES form (TYPE without '/' or '.'), or is a comma-separated list
/// of numbers (true and false included).
bool isTensorLiteral(std::string_view text);

/// Parses `text` (isTensorLiteral) as a tensor of `dtype` and `shape`. On a
/// mismatch (shape, dtype, element count, a value that is not a number or
/// does not fit) returns false and sets `error`, naming the element.
bool parseTensorLiteral(std::string_view text, DType dtype,
                        const std::vector<int64_t> &shape, HostTensor &out,
                        std::string &error);

} // namespace nova::rt

#endif // NOVA_RUNTIME_TENSORLITERAL_H
