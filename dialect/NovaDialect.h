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

#endif // NOVA_DIALECT_NOVADIALECT_H
