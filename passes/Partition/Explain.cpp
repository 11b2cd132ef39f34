//===- Explain.cpp - The --explain-sharding report ------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Partition/Passes.h"

#include "dialect/NovaOps.h"

#include <map>

using namespace mlir;
using namespace mlir::nova;

/// Bytes of `type` that one device holds under `spec` on `mesh`.
static int64_t bytesPerDevice(RankedTensorType type, ShardingAttr spec,
                              MeshOp mesh) {
  int64_t elements = 1;
  for (int64_t d = 0; d < type.getRank(); ++d) {
    int64_t size = type.getDimSize(d);
    int64_t devices = 1;
    if (spec && mesh)
      for (StringRef axis : spec.getAxes(d))
        devices *= mesh.getAxisSize(axis).value_or(1);
    // A size-1 dimension is broadcast: every device holds it whole.
    elements *= size == 1 ? 1 : size / devices;
  }
  return elements * ((type.getElementTypeBitWidth() + 7) / 8);
}

void mlir::nova::explainSharding(ModuleOp module, llvm::raw_ostream &os) {
  // Sorted by path: the order of Grok-1's checkpoint files (§5.1).
  std::map<StringRef, ParamOp> params;
  module.walk([&](ParamOp op) { params.try_emplace(op.getPath(), op); });
  SmallVector<PartitionRuleOp> rules;
  for (auto container : module.getOps<PartitionRulesOp>())
    llvm::append_range(rules, container.getOps<PartitionRuleOp>());

  SymbolTableCollection symbols;
  os << "# path\trule\tspec\tbytes/device\n";
  int64_t total = 0;
  for (auto &[path, op] : params) {
    ShardingAttr spec = op.getShardingAttr();
    MeshOp mesh = spec ? symbols.lookupNearestSymbolFrom<MeshOp>(
                             op, spec.getMesh().getAttr())
                       : MeshOp();
    int64_t bytes = bytesPerDevice(
        cast<RankedTensorType>(op.getValue().getType()), spec, mesh);
    if (op.isQuantized())
      bytes += bytesPerDevice(cast<RankedTensorType>(op.getScales().getType()),
                              spec, mesh);
    total += bytes;

    os << path << "\t";
    auto index = op->getAttrOfType<IntegerAttr>("nova.partition_rule");
    if (index && index.getInt() >= 0 &&
        index.getInt() < static_cast<int64_t>(rules.size())) {
      os << "rule " << index.getInt();
      if (auto loc = dyn_cast<FileLineColLoc>(rules[index.getInt()].getLoc()))
        os << " (" << loc.getFilename().getValue() << ":" << loc.getLine()
           << ")";
    } else {
      os << (spec ? "unmatched (replicated)" : "no sharding");
    }
    os << "\t" << (spec ? spec.toPartitionSpecString() : std::string("P()"))
       << "\t" << bytes << "\n";
  }
  os << "# " << params.size() << " parameters, " << total
     << " bytes per device\n";
}
