//===- ShardingTest.cpp - Shard arithmetic and checked sizes --------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The shard arithmetic the verifier, the partition-rules pass, the explain
// report and the checkpoint loader share (nova/runtime/Sharding.h), and the
// checked size helpers under it (nova/runtime/Shape.h).
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Sharding.h"
#include "nova/runtime/Shape.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

using namespace nova::rt;
using Kind = ShardingMismatch::Kind;

namespace {

const std::vector<MeshAxis> kMesh = {{"data", 2}, {"model", 4}};

TEST(ShardingTest, CheckedSizes) {
  EXPECT_EQ(checkedMul(6, 7), 42);
  EXPECT_EQ(checkedMul(INT64_MAX, 1), INT64_MAX);
  EXPECT_EQ(checkedMul(int64_t(1) << 32, int64_t(1) << 31), std::nullopt);
  EXPECT_EQ(checkedAdd(INT64_MAX - 1, 1), INT64_MAX);
  EXPECT_EQ(checkedAdd(INT64_MAX, 1), std::nullopt);
  EXPECT_EQ(checkedProduct({}), 1);
  EXPECT_EQ(checkedProduct({8, 6144, 32768}), int64_t(8) * 6144 * 32768);
  EXPECT_EQ(checkedProduct({int64_t(1) << 40, int64_t(1) << 40}), std::nullopt);
  // A zero size wins over an overflowing partial product.
  EXPECT_EQ(checkedProduct({int64_t(1) << 40, int64_t(1) << 40, 0}), 0);
  EXPECT_EQ(checkedByteSize({2, 3}, 4), 24);
  EXPECT_EQ(checkedByteSize({}, 8), 8);
  EXPECT_EQ(checkedByteSize({int64_t(1) << 31, int64_t(1) << 31, 4}, 4),
            std::nullopt);
  EXPECT_EQ(checkedByteSize({INT64_MAX, INT64_MAX, 0}, 4), 0);
  EXPECT_EQ(checkedByteSize({-1, 4}, 4), std::nullopt);
  EXPECT_EQ(checkedByteSize({INT64_MAX}, 2), std::nullopt);
  EXPECT_EQ(formatShape({}), "[]");
  EXPECT_EQ(formatShape({8, 6144}), "[8, 6144]");
}

TEST(ShardingTest, MeshCoordinatesAreRowMajor) {
  EXPECT_EQ(meshCoordinates(kMesh, 0), (std::vector<int64_t>{0, 0}));
  EXPECT_EQ(meshCoordinates(kMesh, 3), (std::vector<int64_t>{0, 3}));
  EXPECT_EQ(meshCoordinates(kMesh, 4), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(meshCoordinates(kMesh, 7), (std::vector<int64_t>{1, 3}));
  std::set<std::vector<int64_t>> seen;
  for (int64_t device = 0; device < 8; ++device)
    seen.insert(meshCoordinates(kMesh, device));
  EXPECT_EQ(seen.size(), 8u);
}

TEST(ShardingTest, ShardCountMultipliesADimensionsAxes) {
  PartitionSpec spec = {{}, {"data", "model"}, {"model"}};
  EXPECT_EQ(shardCount(spec, kMesh, 0), 1);
  EXPECT_EQ(shardCount(spec, kMesh, 1), 8);
  EXPECT_EQ(shardCount(spec, kMesh, 2), 4);
  // Past the spec's end: replicated.
  EXPECT_EQ(shardCount(spec, kMesh, 3), 1);
  // Axes the mesh lacks are skipped (checkSharding reports them).
  EXPECT_EQ(shardCount({{"expert", "model"}}, kMesh, 0), 4);
  std::vector<MeshAxis> huge = {{"a", int64_t(1) << 32},
                                {"b", int64_t(1) << 32}};
  EXPECT_EQ(shardCount({{"a", "b"}}, huge, 0), std::nullopt);
}

TEST(ShardingTest, CheckShardingAcceptsDivisibleAndBroadcastDimensions) {
  EXPECT_EQ(checkSharding({96, 80}, {{}, {"data", "model"}}, kMesh),
            std::nullopt);
  EXPECT_EQ(checkSharding({96, 80}, {{"model"}, {"data"}}, kMesh),
            std::nullopt);
  // A size-1 dimension is broadcast, whatever its axes multiply to.
  EXPECT_EQ(checkSharding({1, 80}, {{"model"}, {"data"}}, kMesh), std::nullopt);
  // Fewer entries than dimensions; no entries at all; a rank-0 tensor.
  EXPECT_EQ(checkSharding({4, 24, 40}, {{"data"}}, kMesh), std::nullopt);
  EXPECT_EQ(checkSharding({3, 5}, {}, kMesh), std::nullopt);
  EXPECT_EQ(checkSharding({}, {}, kMesh), std::nullopt);
  // Size 0 divides by anything.
  EXPECT_EQ(checkSharding({0}, {{"model"}}, kMesh), std::nullopt);
}

TEST(ShardingTest, CheckShardingNamesTheFirstProblem) {
  std::optional<ShardingMismatch> m =
      checkSharding({96, 81}, {{}, {"data", "model"}}, kMesh);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, Kind::NotDivisible);
  EXPECT_EQ(m->dim, 1u);
  EXPECT_EQ(m->size, 81);
  EXPECT_EQ(m->shards, 8);

  // Dimension order: dimension 0's problem comes before dimension 1's.
  m = checkSharding({6, 81}, {{"model"}, {"data"}}, kMesh);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, Kind::NotDivisible);
  EXPECT_EQ(m->dim, 0u);
  EXPECT_EQ(m->shards, 4);

  m = checkSharding({96}, {{}, {"model"}}, kMesh);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, Kind::TooManyEntries);

  m = checkSharding({96, 80}, {{}, {"expert"}}, kMesh);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, Kind::UnknownAxis);
  EXPECT_EQ(m->dim, 1u);
  EXPECT_EQ(m->axis, "expert");

  m = checkSharding({96, 80}, {{"data"}, {"model", "data"}}, kMesh);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, Kind::RepeatedAxis);
  EXPECT_EQ(m->dim, 1u);
  EXPECT_EQ(m->axis, "data");

  std::vector<MeshAxis> huge = {{"a", int64_t(1) << 32},
                                {"b", int64_t(1) << 32}};
  m = checkSharding({4096}, {{"a", "b"}}, huge);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->kind, Kind::ShardCountOverflow);
  EXPECT_EQ(m->dim, 0u);
}

TEST(ShardingTest, LocalShapeIsOneDevicesBlock) {
  EXPECT_EQ(localShape({96, 80}, {{}, {"data", "model"}}, kMesh),
            (std::vector<int64_t>{96, 10}));
  EXPECT_EQ(localShape({96, 80}, {{"model"}, {"data"}}, kMesh),
            (std::vector<int64_t>{24, 40}));
  EXPECT_EQ(localShape({1, 80}, {{"model"}, {"data"}}, kMesh),
            (std::vector<int64_t>{1, 40}));
  EXPECT_EQ(localShape({8, 6144, 32768}, {{}, {"data"}}, kMesh),
            (std::vector<int64_t>{8, 3072, 32768}));
  EXPECT_EQ(localShape({}, {}, kMesh), std::vector<int64_t>{});
  // No mesh (an unresolved one): nothing is split.
  EXPECT_EQ(localShape({96, 80}, {{"model"}, {"data"}}, {}),
            (std::vector<int64_t>{96, 80}));
}

TEST(ShardingTest, BoxesTileTheTensorWithLocalShape) {
  std::vector<int64_t> shape = {96, 80, 1};
  PartitionSpec spec = {{"model"}, {"data"}, {}};
  std::vector<int64_t> local = localShape(shape, spec, kMesh);
  std::set<std::pair<int64_t, int64_t>> starts;
  for (int64_t device = 0; device < 8; ++device) {
    std::vector<DimRange> box;
    std::string error;
    ASSERT_TRUE(shardBox(shape, spec, kMesh, meshCoordinates(kMesh, device),
                         box, error))
        << error;
    ASSERT_EQ(box.size(), shape.size());
    for (size_t d = 0; d < shape.size(); ++d) {
      EXPECT_EQ(box[d].end - box[d].begin, local[d]);
      EXPECT_EQ(box[d].begin % local[d], 0);
      EXPECT_LE(box[d].end, shape[d]);
    }
    starts.insert({box[0].begin, box[1].begin});
  }
  // Eight devices, eight distinct blocks of a 4 x 2 grid: a tiling.
  EXPECT_EQ(starts.size(), 8u);
}

TEST(ShardingTest, ShardBoxWordsEachMismatch) {
  std::vector<DimRange> box;
  auto bad = [&](std::vector<int64_t> shape, PartitionSpec spec,
                 const std::vector<MeshAxis> &mesh,
                 std::vector<int64_t> coords) {
    std::string e;
    EXPECT_FALSE(shardBox(shape, spec, mesh, coords, box, e));
    return e;
  };
  EXPECT_EQ(bad({96}, {{"data"}}, kMesh, {0}),
            "expected 2 mesh coordinates, got 1");
  EXPECT_EQ(bad({96}, {{"data"}}, kMesh, {0, 4}),
            "coordinate 4 of mesh axis 'model' is outside [0, 4)");
  std::vector<MeshAxis> huge = {{"a", int64_t(1) << 32},
                                {"b", int64_t(1) << 32}};
  EXPECT_EQ(bad({4096}, {{"a", "b"}}, huge, {0, 0}),
            "dimension 0 of [4096]: the product of its mesh axes' sizes "
            "overflows 64 bits");
}

} // namespace
