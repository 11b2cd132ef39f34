//===- Passes.h - Partition passes ------------------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_PARTITION_PASSES_H
#define NOVA_PASSES_PARTITION_PASSES_H

#include "dialect/NovaDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"
#include "llvm/Support/raw_ostream.h"

namespace mlir::nova {

#define GEN_PASS_DECL
#include "passes/Partition/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Partition/Passes.h.inc"

/// Writes the sharding report of `nova-opt --explain-sharding`: one line per
/// parameter path with the winning rule (index and source location), the
/// spec as Python's PartitionSpec repr, and the bytes each device holds
/// (weight plus scales). Expects nova-apply-partition-rules to have run.
void explainSharding(ModuleOp module, llvm::raw_ostream &os);

} // namespace mlir::nova

#endif // NOVA_PASSES_PARTITION_PASSES_H
