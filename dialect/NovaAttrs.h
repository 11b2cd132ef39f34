//===- NovaAttrs.h - Nova attributes ----------------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_DIALECT_NOVAATTRS_H
#define NOVA_DIALECT_NOVAATTRS_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"

#include "dialect/NovaEnums.h.inc"

#define GET_ATTRDEF_CLASSES
#include "dialect/NovaAttrs.h.inc"

namespace mlir::nova {

/// Renders a shape as "[8, 6144, 32768]" for diagnostics.
std::string formatShape(llvm::ArrayRef<int64_t> shape);

} // namespace mlir::nova

#endif // NOVA_DIALECT_NOVAATTRS_H
