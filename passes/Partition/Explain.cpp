//===- Explain.cpp - The --explain-sharding report ------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Partition/Passes.h"

#include "dialect/NovaOps.h"
#include "dialect/NovaSharding.h"
#include "nova/runtime/Shape.h"

#include <map>
#include <optional>

using namespace mlir;
using namespace mlir::nova;

/// Bytes of `type` that one device holds under `spec` on `mesh` (each may
/// be null: not split), or std::nullopt when the count overflows int64_t.
static std::optional<int64_t> bytesPerDevice(RankedTensorType type,
                                             ShardingAttr spec, MeshOp mesh) {
  ::nova::rt::PartitionSpec partition =
      spec && mesh ? toRuntimeSpec(spec) : ::nova::rt::PartitionSpec();
  std::vector<::nova::rt::MeshAxis> axes =
      mesh ? toRuntimeMesh(mesh) : std::vector<::nova::rt::MeshAxis>();
  std::optional<int64_t> elements = ::nova::rt::checkedProduct(
      ::nova::rt::localShape(type.getShape().vec(), partition, axes));
  if (!elements)
    return std::nullopt;
  return ::nova::rt::checkedMul(*elements,
                                (type.getElementTypeBitWidth() + 7) / 8);
}

static std::string formatCount(std::optional<int64_t> count) {
  return count ? std::to_string(*count) : "overflow";
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
  // std::nullopt once a count overflows int64_t (printed as "overflow").
  std::optional<int64_t> total = 0;
  for (auto &[path, op] : params) {
    ShardingAttr spec = op.getShardingAttr();
    MeshOp mesh = spec ? symbols.lookupNearestSymbolFrom<MeshOp>(
                             op, spec.getMesh().getAttr())
                       : MeshOp();
    std::optional<int64_t> bytes = bytesPerDevice(
        cast<RankedTensorType>(op.getValue().getType()), spec, mesh);
    if (bytes && op.isQuantized()) {
      std::optional<int64_t> scales = bytesPerDevice(
          cast<RankedTensorType>(op.getScales().getType()), spec, mesh);
      bytes = scales ? ::nova::rt::checkedAdd(*bytes, *scales) : scales;
    }
    total =
        bytes && total ? ::nova::rt::checkedAdd(*total, *bytes) : std::nullopt;

    os << path << "\t";
    auto index = op->getAttrOfType<IntegerAttr>("nova.partition_rule");
    if (index && index.getInt() >= 0 &&
        index.getInt() < static_cast<int64_t>(rules.size())) {
      os << "rule " << index.getInt();
      std::string where = formatFileLocation(rules[index.getInt()].getLoc(),
                                             /*column=*/false);
      if (!where.empty())
        os << " (" << where << ")";
    } else {
      os << (spec ? "unmatched (replicated)" : "no sharding");
    }
    os << "\t" << (spec ? spec.toPartitionSpecString() : std::string("P()"))
       << "\t" << formatCount(bytes) << "\n";
  }
  os << "# " << params.size() << " parameters, " << formatCount(total)
     << " bytes per device\n";
}
