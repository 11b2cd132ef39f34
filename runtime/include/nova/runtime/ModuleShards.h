//===- ModuleShards.h - Which parameter boxes a device holds ----*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// A module's parameters on its mesh, from its manifest alone: the mesh the
// partition specs name, and the box of each parameter tensor (value and
// scales, which share the spec) that one device holds. `nova-ckpt load
// --device-index` and every rank of an SPMD run load through these, so the
// boxes they read cannot disagree; the arithmetic itself is Sharding.h's.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_MODULESHARDS_H
#define NOVA_RUNTIME_MODULESHARDS_H

#include "nova/runtime/Checkpoint.h"
#include "nova/runtime/HostTensor.h"
#include "nova/runtime/Manifest.h"

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace nova::rt {

/// The mesh `manifest`'s parameters are sharded over: the one their
/// partition specs name or, when no parameter has a spec, the module's only
/// mesh; nullptr when it has none. Errors: specs over two meshes, or a mesh
/// the manifest does not declare.
bool parameterMesh(const ModuleManifest &manifest, const ManifestMesh *&mesh,
                   std::string &error);

/// The number of devices of `mesh`: the product of its axis sizes
/// (std::nullopt past int64_t).
std::optional<int64_t> meshDevices(const ManifestMesh &mesh);

/// "@mesh (data=1, model=8: 8 devices)".
std::string describeMesh(const ManifestMesh &mesh);

/// The box device `device` (row-major linear index on `mesh`) holds of each
/// declared tensor of `manifest` (`<path>` and `<path>.scales`), keyed by
/// tensor name: the shardBox of its partition spec, or empty (the whole
/// tensor) for a parameter without one. With no mesh, only device 0 exists
/// and holds everything. Errors: a device outside the mesh, a spec that does
/// not fit its tensor (prefixed with the tensor's name).
bool deviceBoxes(const ModuleManifest &manifest, const ManifestMesh *mesh,
                 int64_t device,
                 std::map<std::string, std::vector<DimRange>> &boxes,
                 std::string &error);

/// Requests, in checkpoint order, for device `device`'s boxes
/// (deviceBoxes) of every declared tensor that `keep` accepts (by name).
/// The checkpoint holds the global tensors; check it with checkDeclared
/// first.
bool deviceShardRequests(const Checkpoint &ckpt, const ModuleManifest &manifest,
                         const ManifestMesh *mesh, int64_t device,
                         const std::function<bool(const std::string &)> &keep,
                         std::vector<LoadRequest> &requests,
                         std::string &error);

/// Box `box` of `tensor` (one range per dimension, within its shape; empty:
/// all of it) as a new owned tensor, row-major.
HostTensor sliceBox(const HostTensor &tensor, const std::vector<DimRange> &box);

} // namespace nova::rt

#endif // NOVA_RUNTIME_MODULESHARDS_H
