//===- Npy.h - Strict .npy reading and writing ------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// NumPy's .npy format (versions 1.0, 2.0, 3.0), little-endian C-order arrays
// of f4, f2, i1, i4, i8 and b1. NumPy has no bfloat16: Nova writes bf16
// tensors as f4 (exact) and reads an f4 array into a bf16 input only when
// every value is exactly representable in bf16.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_NPY_H
#define NOVA_RUNTIME_NPY_H

#include "nova/runtime/HostTensor.h"

#include <string>

namespace nova::rt {

/// Reads and validates an .npy file; errors name the file, the byte offset
/// of what is wrong ("'x.npy': byte 23: unsupported dtype '<c8' ...") and
/// the problem; names from the file are escaped (nova::rt::printable).
bool readNpy(const std::string &path, HostTensor &out, std::string &error);
/// Parses .npy bytes already in memory (`name` is used in errors).
bool parseNpy(const std::string &bytes, const std::string &name,
              HostTensor &out, std::string &error);
/// Writes `tensor` as .npy atomically (bf16 is written as f4).
bool writeNpy(const std::string &path, const HostTensor &tensor,
              std::string &error);

/// Converts `in` to `dtype` without losing information: floats to a
/// narrower float only if every value is exact there, integers only if
/// every value fits. Returns false with a message naming the first value
/// that does not convert.
bool convertExactly(const HostTensor &in, DType dtype, HostTensor &out,
                    std::string &error);

} // namespace nova::rt

#endif // NOVA_RUNTIME_NPY_H
