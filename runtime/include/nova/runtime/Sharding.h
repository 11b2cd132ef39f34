//===- Sharding.h - Which box of a tensor a device holds --------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The only implementation of Nova's shard arithmetic: how a partition spec
// over a device mesh cuts a tensor, whether it fits, and which block each
// device holds. The dialect's verifier, the partition-rules pass, the
// --explain-sharding report and the checkpoint loader all use it, so they
// cannot disagree. Part of NovaNumerics: no LLVM/MLIR, no threads, no IO.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_SHARDING_H
#define NOVA_RUNTIME_SHARDING_H

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nova::rt {

/// One axis of a device mesh. Sizes are positive (the dialect's nova.mesh
/// verifier and the C API check that).
struct MeshAxis {
  std::string name;
  int64_t size = 1;
};

/// Per dimension, the mesh axes it is split over (empty: replicated), as
/// Grok-1's PartitionSpec: P(None, ('data', 'model')) is {{}, {"data",
/// "model"}}. Missing trailing dimensions are replicated.
using PartitionSpec = std::vector<std::vector<std::string>>;

/// Half-open index range [begin, end) of one dimension.
struct DimRange {
  int64_t begin = 0, end = 0;
  bool operator==(const DimRange &o) const {
    return begin == o.begin && end == o.end;
  }
};

/// The coordinates of device `device` on `mesh` (row-major: the last axis
/// varies fastest, as jax.sharding.Mesh over a reshaped device list).
std::vector<int64_t> meshCoordinates(const std::vector<MeshAxis> &mesh,
                                     int64_t device);

/// The number of equal blocks dimension `dim` is cut into under `spec`: the
/// product of its mesh axes' sizes (1 when it is replicated or past the
/// spec's end). Axes `mesh` lacks are skipped; std::nullopt when the
/// product overflows int64_t. checkSharding reports both.
std::optional<int64_t> shardCount(const PartitionSpec &spec,
                                  const std::vector<MeshAxis> &mesh,
                                  size_t dim);

/// Why a partition spec does not fit a tensor: checkSharding's answer, from
/// which each caller words its own diagnostic.
struct ShardingMismatch {
  enum class Kind {
    /// The spec has more entries (spec.size()) than the tensor dimensions.
    TooManyEntries,
    /// Mesh axis `axis`, named for dimension `dim`, is not on the mesh.
    UnknownAxis,
    /// Mesh axis `axis` shards dimension `dim` and an earlier one (or
    /// appears twice in one dimension's entry).
    RepeatedAxis,
    /// The sizes of dimension `dim`'s axes multiply past int64_t.
    ShardCountOverflow,
    /// Dimension `dim` (of `size`) is not divisible by its `shards`.
    NotDivisible,
  };
  Kind kind;
  size_t dim = 0;
  int64_t size = 0;
  int64_t shards = 0;
  std::string axis;
};

/// Checks that `spec` fits a tensor of `shape` on `mesh`: at most one entry
/// per dimension, every axis on the mesh and used once, and every dimension
/// divisible by its shardCount(), except that a dimension of size 1 is
/// broadcast (every device holds it whole, as per-column scales [1, N]
/// following a row-split weight). Returns the first problem, in dimension
/// order (TooManyEntries first), or std::nullopt when the spec fits.
std::optional<ShardingMismatch>
checkSharding(const std::vector<int64_t> &shape, const PartitionSpec &spec,
              const std::vector<MeshAxis> &mesh);

/// The shape of the block each device holds of a tensor of `shape`:
/// shape[d] / shardCount(d), and 1 for a broadcast dimension of size 1.
/// Meaningful where checkSharding() finds nothing; otherwise still defined
/// (axes the mesh lacks count as size 1, a quotient is rounded down, an
/// overflowing count gives 0).
std::vector<int64_t> localShape(const std::vector<int64_t> &shape,
                                const PartitionSpec &spec,
                                const std::vector<MeshAxis> &mesh);

/// The box of a tensor of `shape` that the device at `coords` holds under
/// `spec`: a dimension split over axes (a, b) is cut into size(a)·size(b)
/// equal blocks, block index coord(a)·size(b) + coord(b); a dimension of
/// size 1 is broadcast. Errors: coordinates out of range, then whatever
/// checkSharding() reports.
bool shardBox(const std::vector<int64_t> &shape, const PartitionSpec &spec,
              const std::vector<MeshAxis> &mesh,
              const std::vector<int64_t> &coords, std::vector<DimRange> &box,
              std::string &error);

} // namespace nova::rt

#endif // NOVA_RUNTIME_SHARDING_H
