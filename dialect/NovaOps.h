//===- NovaOps.h - Nova operations ------------------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_DIALECT_NOVAOPS_H
#define NOVA_DIALECT_NOVAOPS_H

#include "dialect/NovaAttrs.h"
#include "dialect/NovaDialect.h"

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define GET_OP_CLASSES
#include "dialect/NovaOps.h.inc"

namespace mlir::nova {

/// Splits a parameter path into its '/'-separated tokens (§2.1); empty
/// pieces are kept, as Grok-1 keeps them.
llvm::SmallVector<llvm::StringRef> splitPath(llvm::StringRef path);

/// Checks `spec` against its mesh (looked up from `op`) and, for each shape
/// in `shapes`, that the spec fits the rank and divides every sharded
/// dimension. Emits the error on `op`.
LogicalResult verifyShardingFor(Operation *op, ShardingAttr spec,
                                llvm::ArrayRef<llvm::ArrayRef<int64_t>> shapes,
                                SymbolTableCollection &symbolTable);

} // namespace mlir::nova

#endif // NOVA_DIALECT_NOVAOPS_H
