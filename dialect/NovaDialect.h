//===- NovaDialect.h - Nova dialect -----------------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_DIALECT_NOVADIALECT_H
#define NOVA_DIALECT_NOVADIALECT_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Dialect.h"

#include "dialect/NovaDialect.h.inc"

#include <string>

namespace mlir::nova {

/// "file:line:col" (or "file:line" without `column`) of the first
/// FileLineColLoc in `loc`, looking through fused, name and call-site
/// locations; empty when there is none. The one way Nova's diagnostics,
/// reports and runtime errors name a source position.
std::string formatFileLocation(Location loc, bool column = true);

} // namespace mlir::nova

#endif // NOVA_DIALECT_NOVADIALECT_H
