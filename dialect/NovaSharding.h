//===- NovaSharding.h - Nova shardings as the runtime sees them -*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The one adapter from the dialect's nova.mesh and #nova.sharding to the
// MLIR-free shard arithmetic in nova/runtime/Sharding.h, which the
// verifier, the partition passes and the checkpoint loader share. A header
// of its own: it brings the top-level `nova` namespace of the runtime into
// scope, which would make `nova::` ambiguous under `using namespace mlir`
// in every includer of NovaOps.h.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_DIALECT_NOVASHARDING_H
#define NOVA_DIALECT_NOVASHARDING_H

#include "dialect/NovaOps.h"

#include "nova/runtime/Sharding.h"

#include <vector>

namespace mlir::nova {

/// The axes of `mesh`, in order, as the runtime's shard arithmetic takes
/// them.
std::vector<::nova::rt::MeshAxis> toRuntimeMesh(MeshOp mesh);

/// `spec` as the runtime's PartitionSpec: one entry per entry of the
/// attribute (dimensions past its end are replicated in both).
::nova::rt::PartitionSpec toRuntimeSpec(ShardingAttr spec);

} // namespace mlir::nova

#endif // NOVA_DIALECT_NOVASHARDING_H
