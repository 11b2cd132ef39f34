//===- ModuleShards.cpp - Which parameter boxes a device holds ------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/ModuleShards.h"

#include <cstring>

using namespace nova::rt;

bool nova::rt::parameterMesh(const ModuleManifest &manifest,
                             const ManifestMesh *&mesh, std::string &error) {
  mesh = nullptr;
  const ManifestParam *first = nullptr;
  for (const ManifestParam &p : manifest.params) {
    if (!p.spec)
      continue;
    if (!first) {
      first = &p;
    } else if (p.mesh != first->mesh) {
      error = "parameters are sharded over two meshes, @" + first->mesh +
              " and @" + p.mesh;
      return false;
    }
  }
  if (first) {
    mesh = manifest.mesh(first->mesh);
    if (!mesh) {
      error = "parameter '" + first->path + "' is sharded over mesh @" +
              first->mesh + ", which the module does not declare";
      return false;
    }
    return true;
  }
  if (manifest.meshes.size() == 1) {
    mesh = &manifest.meshes.front();
  } else if (manifest.meshes.size() > 1) {
    error = "the module declares " + std::to_string(manifest.meshes.size()) +
            " meshes (@" + manifest.meshes[0].name + ", @" +
            manifest.meshes[1].name +
            ", ...) but shards no parameter over any of them";
    return false;
  }
  return true;
}

std::optional<int64_t> nova::rt::meshDevices(const ManifestMesh &mesh) {
  std::vector<int64_t> sizes;
  for (const MeshAxis &a : mesh.axes)
    sizes.push_back(a.size);
  return checkedProduct(sizes);
}

std::string nova::rt::describeMesh(const ManifestMesh &mesh) {
  std::string axes;
  for (const MeshAxis &a : mesh.axes)
    axes += (axes.empty() ? "" : ", ") + a.name + "=" + std::to_string(a.size);
  std::optional<int64_t> devices = meshDevices(mesh);
  return "@" + mesh.name + " (" + axes + ": " +
         (devices ? std::to_string(*devices) : std::string("too many")) +
         " devices)";
}

bool nova::rt::deviceBoxes(const ModuleManifest &manifest,
                           const ManifestMesh *mesh, int64_t device,
                           std::map<std::string, std::vector<DimRange>> &boxes,
                           std::string &error) {
  std::optional<int64_t> devices = mesh ? meshDevices(*mesh) : 1;
  if (!devices || device < 0 || device >= *devices) {
    error = "device " + std::to_string(device) + " is outside " +
            (mesh ? "mesh " + describeMesh(*mesh)
                  : std::string("a module without a mesh (1 device)"));
    return false;
  }
  std::vector<MeshAxis> axes;
  std::vector<int64_t> coords;
  if (mesh) {
    axes = mesh->axes;
    coords = meshCoordinates(axes, device);
  }
  std::map<std::string, std::vector<DimRange>> out;
  for (const ManifestParam &p : manifest.params) {
    if (p.spec && (!mesh || p.mesh != mesh->name)) {
      error = "parameter '" + p.path + "' is sharded over mesh @" + p.mesh +
              ", not @" + (mesh ? mesh->name : std::string("(none)"));
      return false;
    }
    for (const DeclaredTensor &t : p.declaredTensors()) {
      std::vector<DimRange> &box = out[t.name];
      if (p.spec && !shardBox(t.shape, *p.spec, axes, coords, box, error)) {
        error = "tensor \"" + t.name + "\": " + error;
        return false;
      }
    }
  }
  boxes = std::move(out);
  return true;
}

bool nova::rt::deviceShardRequests(
    const Checkpoint &ckpt, const ModuleManifest &manifest,
    const ManifestMesh *mesh, int64_t device,
    const std::function<bool(const std::string &)> &keep,
    std::vector<LoadRequest> &requests, std::string &error) {
  std::map<std::string, std::vector<DimRange>> boxes;
  if (!deviceBoxes(manifest, mesh, device, boxes, error))
    return false;
  std::vector<LoadRequest> out;
  for (const SafeTensorInfo *info : ckpt.tensors()) {
    auto it = boxes.find(info->name);
    if (it != boxes.end() && keep(info->name))
      out.push_back({info->name, it->second, nullptr, 0});
  }
  requests = std::move(out);
  return true;
}

HostTensor nova::rt::sliceBox(const HostTensor &tensor,
                              const std::vector<DimRange> &box) {
  const std::vector<int64_t> &shape = tensor.shape();
  std::vector<DimRange> ranges = box;
  if (ranges.empty())
    for (int64_t d : shape)
      ranges.push_back({0, d});
  std::vector<int64_t> outShape;
  for (const DimRange &r : ranges)
    outShape.push_back(r.end - r.begin);
  HostTensor out = HostTensor::zeros(tensor.dtype(), outShape);
  if (out.numElements() == 0)
    return out;
  const size_t es = dtypeSize(tensor.dtype());
  const size_t rank = shape.size();
  if (rank == 0) {
    std::memcpy(out.mutableBytes(), tensor.bytes(), es);
    return out;
  }
  // Row-major strides in elements; one contiguous run per last-dimension
  // row of the box.
  std::vector<int64_t> strides(rank, 1);
  for (size_t d = rank - 1; d > 0; --d)
    strides[d - 1] = strides[d] * shape[d];
  const size_t run = static_cast<size_t>(outShape.back()) * es;
  std::vector<int64_t> idx(rank);
  for (size_t d = 0; d < rank; ++d)
    idx[d] = ranges[d].begin;
  uint8_t *dst = out.mutableBytes();
  const uint8_t *src = tensor.bytes();
  for (;;) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d)
      offset += idx[d] * strides[d];
    std::memcpy(dst, src + static_cast<size_t>(offset) * es, run);
    dst += run;
    // The next row: increment the index over every dimension but the last.
    size_t d = rank - 1;
    while (d > 0) {
      --d;
      if (++idx[d] < ranges[d].end)
        break;
      idx[d] = ranges[d].begin;
      if (d == 0)
        return out;
    }
    if (rank == 1)
      return out;
  }
}
