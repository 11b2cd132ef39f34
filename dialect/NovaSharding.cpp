//===- NovaSharding.cpp - Nova shardings as the runtime sees them ---------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "dialect/NovaSharding.h"

using namespace mlir;
using namespace mlir::nova;

std::vector<::nova::rt::MeshAxis> mlir::nova::toRuntimeMesh(MeshOp mesh) {
  std::vector<::nova::rt::MeshAxis> axes;
  for (auto [name, size] : llvm::zip(mesh.getAxisNames(), mesh.getShape()))
    axes.push_back({cast<StringAttr>(name).getValue().str(), size});
  return axes;
}

::nova::rt::PartitionSpec mlir::nova::toRuntimeSpec(ShardingAttr spec) {
  ::nova::rt::PartitionSpec out(spec.getDims().size());
  for (unsigned d = 0, e = out.size(); d < e; ++d)
    for (StringRef axis : spec.getAxes(d))
      out[d].push_back(axis.str());
  return out;
}
