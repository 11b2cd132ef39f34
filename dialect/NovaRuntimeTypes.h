//===- NovaRuntimeTypes.h - MLIR tensor types as runtime dtypes -*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The one mapping between MLIR element types and the runtime's DType, used
// by the module contract, the argument-order pass and the interpreter. A
// header of its own for the same reason as NovaSharding.h (the runtime's
// top-level `nova` namespace).
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_DIALECT_NOVARUNTIMETYPES_H
#define NOVA_DIALECT_NOVARUNTIMETYPES_H

#include "nova/runtime/DType.h"

#include "mlir/IR/BuiltinTypes.h"

#include <optional>
#include <vector>

namespace mlir::nova {

/// The runtime dtype and shape of a static tensor type; std::nullopt (and
/// `shape` untouched) when the element type has no runtime dtype or the
/// shape is dynamic.
std::optional<::nova::rt::DType> runtimeTypeOf(Type type,
                                               std::vector<int64_t> &shape);

/// The MLIR element type of a runtime dtype.
Type elementTypeOf(MLIRContext *context, ::nova::rt::DType dtype);

} // namespace mlir::nova

#endif // NOVA_DIALECT_NOVARUNTIMETYPES_H
