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

/// Runs nova-spmd-partition on `module` (a no-op without a mesh of more
/// than one device, or when it is already partitioned): what every consumer
/// that derives the module's contract does first, so that the contract is
/// the per-rank program's (communicator, local shards, split state).
LogicalResult partitionForMesh(ModuleOp module,
                               int64_t maxCollectiveBytes = 0);

/// What one nova.all_reduce / nova.all_gather moves, per call and device.
struct CollectiveTraffic {
  int64_t devices = 1;      // size of its group
  int64_t payloadBytes = 0; // the value each device ends with
  int64_t sentBytes = 0;    // what a ring algorithm sends from each device
};
CollectiveTraffic collectiveTraffic(Operation *collective);

/// Writes the report of `nova-opt --explain-collectives` for a module
/// nova-spmd-partition has partitioned: per entry, every collective with
/// its kind, bytes per call per device, mesh axes, value type, cause and
/// source location, and the entry's totals.
void explainCollectives(ModuleOp module, llvm::raw_ostream &os);

} // namespace mlir::nova

#endif // NOVA_PASSES_PARTITION_PASSES_H
