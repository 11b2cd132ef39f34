//===- ExplainCollectives.cpp - The --explain-collectives report ----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Partition/Passes.h"

#include "dialect/NovaDialect.h"
#include "dialect/NovaOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/Format.h"

using namespace mlir;
using namespace mlir::nova;

namespace {
struct Row {
  std::string kind, axes, type, cause, at;
  int64_t payload = 0, sent = 0;
};
} // namespace

static int64_t groupSize(MeshOp mesh, ArrayAttr axes) {
  int64_t n = 1;
  for (Attribute a : axes)
    n *= mesh.getAxisSize(cast<StringAttr>(a).getValue()).value_or(1);
  return n;
}

CollectiveTraffic mlir::nova::collectiveTraffic(Operation *op) {
  CollectiveTraffic t;
  auto mesh = SymbolTable::lookupNearestSymbolFrom<MeshOp>(
      op, cast<FlatSymbolRefAttr>(op->getAttr("mesh")));
  int64_t n = mesh ? groupSize(mesh, cast<ArrayAttr>(op->getAttr("axes"))) : 1;
  auto shaped =
      cast<ShapedType>(op->getNumResults() ? op->getResult(0).getType()
                                           : op->getOperand(1).getType());
  int64_t bytes =
      shaped.getNumElements() * ((shaped.getElementTypeBitWidth() + 7) / 8);
  t.devices = n;
  t.payloadBytes = bytes;
  // Ring algorithms: an all-reduce sends 2(n-1)/n of the value, an
  // all-gather the (n-1) shards it does not hold... of its own, i.e.
  // (n-1)/n of the whole.
  if (isa<AllReduceOp>(op))
    t.sentBytes = 2 * (n - 1) * bytes / n;
  else
    t.sentBytes = (n - 1) * bytes / n;
  return t;
}

void mlir::nova::explainCollectives(ModuleOp module, llvm::raw_ostream &os) {
  SmallVector<MeshOp> meshes(module.getOps<MeshOp>());
  if (meshes.empty()) {
    os << "no nova.mesh: one device's program, no collectives\n";
    return;
  }
  MeshOp mesh = meshes.front();
  os << "mesh @" << mesh.getSymName() << ":";
  for (auto [name, size] : llvm::zip(mesh.getAxisNames(), mesh.getShape()))
    os << " " << cast<StringAttr>(name).getValue() << "=" << size;
  os << " (" << mesh.getNumDevices() << " devices)\n";
  for (auto func : module.getOps<func::FuncOp>()) {
    std::vector<Row> rows;
    func.walk([&](Operation *op) {
      if (!isa<AllReduceOp, AllGatherOp>(op))
        return;
      Row r;
      r.kind = op->getName().stripDialect().str();
      SmallVector<StringRef> axes;
      for (Attribute a : cast<ArrayAttr>(op->getAttr("axes")))
        axes.push_back(cast<StringAttr>(a).getValue());
      r.axes = llvm::join(axes, ",");
      llvm::raw_string_ostream(r.type) << op->getResult(0).getType();
      if (auto cause = op->getAttrOfType<StringAttr>("nova.cause"))
        r.cause = cause.getValue().str();
      r.at = formatFileLocation(op->getLoc());
      CollectiveTraffic t = collectiveTraffic(op);
      r.payload = t.payloadBytes;
      r.sent = t.sentBytes;
      rows.push_back(std::move(r));
    });
    int64_t payload = 0, sent = 0;
    os << "\n@" << func.getSymName() << ": " << rows.size()
       << " collectives per call (bytes per call per device; sent = ring "
          "algorithm's traffic)\n";
    if (!rows.empty())
      os << llvm::format("  %-10s %12s %12s  %-8s %-28s %s\n", "kind", "bytes",
                         "sent", "axes", "value", "cause (at)");
    for (const Row &r : rows) {
      os << llvm::format("  %-10s %12lld %12lld  %-8s %-28s ", r.kind.c_str(),
                         (long long)r.payload, (long long)r.sent,
                         r.axes.c_str(), r.type.c_str())
         << r.cause << " (" << r.at << ")\n";
      payload += r.payload;
      sent += r.sent;
    }
    os << "  total: " << payload << " bytes in collectives, " << sent
       << " bytes sent per device per call\n";
  }
}
