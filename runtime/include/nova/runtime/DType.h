//===- DType.h - Element types of runtime tensors ---------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Part of Nova's runtime: no LLVM/MLIR dependency.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_DTYPE_H
#define NOVA_RUNTIME_DTYPE_H

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace nova::rt {

/// Element types Nova moves between files, the interpreter and kernels.
enum class DType : uint8_t { F32, BF16, F16, I8, I32, I64, Bool };

/// Bytes per element.
size_t dtypeSize(DType dtype);
/// Nova's spelling ("f32", "bf16", ...), as in specs and IR.
std::string_view dtypeName(DType dtype);
/// Parses Nova's spelling.
std::optional<DType> parseDType(std::string_view name);
bool isFloat(DType dtype);

} // namespace nova::rt

#endif // NOVA_RUNTIME_DTYPE_H
