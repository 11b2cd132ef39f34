//===- Sharding.cpp - Which box of a tensor a device holds ----------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Sharding.h"
#include "nova/runtime/Shape.h"

#include <algorithm>
#include <set>

using namespace nova::rt;

/// The index of axis `name` on `mesh`, or mesh.size() when it has none.
static size_t findAxis(const std::vector<MeshAxis> &mesh,
                       const std::string &name) {
  return std::find_if(mesh.begin(), mesh.end(),
                      [&](const MeshAxis &m) { return m.name == name; }) -
         mesh.begin();
}

std::vector<int64_t>
nova::rt::meshCoordinates(const std::vector<MeshAxis> &mesh, int64_t device) {
  std::vector<int64_t> coords(mesh.size());
  for (size_t a = mesh.size(); a-- > 0;) {
    coords[a] = device % mesh[a].size;
    device /= mesh[a].size;
  }
  return coords;
}

std::optional<int64_t> nova::rt::shardCount(const PartitionSpec &spec,
                                            const std::vector<MeshAxis> &mesh,
                                            size_t dim) {
  int64_t count = 1;
  if (dim >= spec.size())
    return count;
  for (const std::string &axis : spec[dim]) {
    size_t a = findAxis(mesh, axis);
    if (a == mesh.size())
      continue;
    std::optional<int64_t> next = checkedMul(count, mesh[a].size);
    if (!next)
      return std::nullopt;
    count = *next;
  }
  return count;
}

std::optional<ShardingMismatch>
nova::rt::checkSharding(const std::vector<int64_t> &shape,
                        const PartitionSpec &spec,
                        const std::vector<MeshAxis> &mesh) {
  using Kind = ShardingMismatch::Kind;
  if (spec.size() > shape.size())
    return ShardingMismatch{Kind::TooManyEntries, spec.size(), 0, 0, ""};
  std::set<std::string> used;
  for (size_t d = 0; d < spec.size(); ++d) {
    for (const std::string &axis : spec[d]) {
      if (findAxis(mesh, axis) == mesh.size())
        return ShardingMismatch{Kind::UnknownAxis, d, shape[d], 0, axis};
      if (!used.insert(axis).second)
        return ShardingMismatch{Kind::RepeatedAxis, d, shape[d], 0, axis};
    }
    if (shape[d] == 1) // broadcast
      continue;
    std::optional<int64_t> shards = shardCount(spec, mesh, d);
    if (!shards)
      return ShardingMismatch{Kind::ShardCountOverflow, d, shape[d], 0, ""};
    if (shape[d] % *shards != 0)
      return ShardingMismatch{Kind::NotDivisible, d, shape[d], *shards, ""};
  }
  return std::nullopt;
}

std::vector<int64_t> nova::rt::localShape(const std::vector<int64_t> &shape,
                                          const PartitionSpec &spec,
                                          const std::vector<MeshAxis> &mesh) {
  std::vector<int64_t> local;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) { // broadcast
      local.push_back(1);
      continue;
    }
    std::optional<int64_t> shards = shardCount(spec, mesh, d);
    local.push_back(shards ? shape[d] / *shards : 0);
  }
  return local;
}

/// The block of dimension `dim` that the device at `coords` holds: its axes'
/// coordinates read as one mixed-radix number, the last axis fastest.
static int64_t blockIndex(const PartitionSpec &spec,
                          const std::vector<MeshAxis> &mesh,
                          const std::vector<int64_t> &coords, size_t dim) {
  int64_t block = 0;
  if (dim < spec.size())
    for (const std::string &axis : spec[dim]) {
      size_t a = findAxis(mesh, axis);
      block = block * mesh[a].size + coords[a];
    }
  return block;
}

/// shardBox's wording of a mismatch of `spec` with a tensor of `shape`.
static std::string describeMismatch(const ShardingMismatch &m,
                                    const std::vector<int64_t> &shape,
                                    const PartitionSpec &spec) {
  using Kind = ShardingMismatch::Kind;
  switch (m.kind) {
  case Kind::TooManyEntries:
    return "the partition spec has " + std::to_string(spec.size()) +
           " entries, the tensor " + formatShape(shape) + " has " +
           std::to_string(shape.size()) + " dimensions";
  case Kind::UnknownAxis:
    return "unknown mesh axis '" + m.axis + "'";
  case Kind::RepeatedAxis:
    return "mesh axis '" + m.axis + "' shards two dimensions";
  case Kind::ShardCountOverflow:
    return "dimension " + std::to_string(m.dim) + " of " + formatShape(shape) +
           ": the product of its mesh axes' sizes overflows 64 bits";
  case Kind::NotDivisible:
    return "dimension " + std::to_string(m.dim) + " of " + formatShape(shape) +
           " (" + std::to_string(m.size) + ") is not divisible by " +
           std::to_string(m.shards) + " shards";
  }
  return "";
}

bool nova::rt::shardBox(const std::vector<int64_t> &shape,
                        const PartitionSpec &spec,
                        const std::vector<MeshAxis> &mesh,
                        const std::vector<int64_t> &coords,
                        std::vector<DimRange> &box, std::string &error) {
  if (coords.size() != mesh.size()) {
    error = "expected " + std::to_string(mesh.size()) +
            " mesh coordinates, got " + std::to_string(coords.size());
    return false;
  }
  for (size_t a = 0; a < mesh.size(); ++a)
    if (coords[a] < 0 || coords[a] >= mesh[a].size) {
      error = "coordinate " + std::to_string(coords[a]) + " of mesh axis '" +
              mesh[a].name + "' is outside [0, " +
              std::to_string(mesh[a].size) + ")";
      return false;
    }
  if (std::optional<ShardingMismatch> m = checkSharding(shape, spec, mesh)) {
    error = describeMismatch(*m, shape, spec);
    return false;
  }
  box.clear();
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) { // broadcast
      box.push_back({0, 1});
      continue;
    }
    // checkSharding() found the count finite and dividing shape[d].
    int64_t size = shape[d] / *shardCount(spec, mesh, d);
    int64_t block = blockIndex(spec, mesh, coords, d);
    box.push_back({block * size, (block + 1) * size});
  }
  return true;
}
