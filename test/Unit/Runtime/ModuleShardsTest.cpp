//===- ModuleShardsTest.cpp - A module's parameter boxes per device -------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The boxes a device holds of a module's parameters (nova/runtime/
// ModuleShards.h): the mesh the specs name, the box of value and scales, and
// that a box sliced from tensors in memory (random parameters of an SPMD
// rank) equals the box a shard-selective checkpoint load reads.
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/ModuleShards.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <unistd.h>

using namespace nova::rt;

namespace {

/// A module with a [4, 6] i8 weight sharded (null, model) plus per-column
/// scales [1, 6], an f32 [8] vector sharded over `model`, and a replicated
/// f32 [3], on mesh @mesh (data=1, model=2).
ModuleManifest smallModule() {
  ModuleManifest m;
  m.meshes.push_back({"mesh", {{"data", 1}, {"model", 2}}});
  ManifestParam w;
  w.path = "layer/w";
  w.dtype = DType::I8;
  w.shape = {4, 6};
  w.quantized = true;
  w.scalesDType = DType::F32;
  w.scalesShape = {1, 6};
  w.scaleLayout = "per_column";
  w.spec = PartitionSpec{{}, {"model"}};
  w.mesh = "mesh";
  ManifestParam v;
  v.path = "layer/v";
  v.shape = {8};
  v.spec = PartitionSpec{{"model"}};
  v.mesh = "mesh";
  ManifestParam r;
  r.path = "norm/scale";
  r.shape = {3};
  m.params = {w, v, r};
  return m;
}

/// A tensor whose element k holds k (exactly, in its dtype's range).
HostTensor counting(DType dtype, std::vector<int64_t> shape) {
  HostTensor t = HostTensor::zeros(dtype, std::move(shape));
  for (int64_t k = 0; k < t.numElements(); ++k)
    t.setFloatAt(k, static_cast<double>(k % 100));
  return t;
}

TEST(ModuleShardsTest, ParameterMeshIsTheOneTheSpecsName) {
  ModuleManifest m = smallModule();
  const ManifestMesh *mesh = nullptr;
  std::string error;
  ASSERT_TRUE(parameterMesh(m, mesh, error)) << error;
  ASSERT_NE(mesh, nullptr);
  EXPECT_EQ(mesh->name, "mesh");
  EXPECT_EQ(meshDevices(*mesh), 2);
  EXPECT_EQ(describeMesh(*mesh), "@mesh (data=1, model=2: 2 devices)");

  m.params[1].mesh = "other";
  m.meshes.push_back({"other", {{"x", 2}}});
  EXPECT_FALSE(parameterMesh(m, mesh, error));
  EXPECT_EQ(error, "parameters are sharded over two meshes, @mesh and @other");

  // No spec anywhere: the module's only mesh, or none.
  ModuleManifest plain;
  plain.params = {smallModule().params[2]};
  ASSERT_TRUE(parameterMesh(plain, mesh, error)) << error;
  EXPECT_EQ(mesh, nullptr);
}

TEST(ModuleShardsTest, DeviceBoxesCoverValueAndScales) {
  ModuleManifest m = smallModule();
  const ManifestMesh *mesh = nullptr;
  std::string error;
  ASSERT_TRUE(parameterMesh(m, mesh, error)) << error;
  std::map<std::string, std::vector<DimRange>> boxes;
  ASSERT_TRUE(deviceBoxes(m, mesh, 1, boxes, error)) << error;
  EXPECT_EQ(boxes.at("layer/w"), (std::vector<DimRange>{{0, 4}, {3, 6}}));
  EXPECT_EQ(boxes.at("layer/w.scales"),
            (std::vector<DimRange>{{0, 1}, {3, 6}}));
  EXPECT_EQ(boxes.at("layer/v"), (std::vector<DimRange>{{4, 8}}));
  // Replicated: the whole tensor.
  EXPECT_TRUE(boxes.at("norm/scale").empty());

  EXPECT_FALSE(deviceBoxes(m, mesh, 2, boxes, error));
  EXPECT_EQ(error, "device 2 is outside mesh @mesh (data=1, model=2: 2 "
                   "devices)");
  EXPECT_FALSE(deviceBoxes(m, mesh, -1, boxes, error));

  // A spec that does not divide its dimension names the tensor.
  m.params[1].shape = {7};
  EXPECT_FALSE(deviceBoxes(m, mesh, 0, boxes, error));
  EXPECT_NE(error.find("tensor \"layer/v\": "), std::string::npos) << error;
}

TEST(ModuleShardsTest, SliceBoxIsRowMajor) {
  HostTensor t = counting(DType::F32, {2, 3, 4});
  HostTensor box = sliceBox(t, {{1, 2}, {0, 3}, {1, 3}});
  ASSERT_EQ(box.shape(), (std::vector<int64_t>{1, 3, 2}));
  std::vector<double> got;
  for (int64_t k = 0; k < box.numElements(); ++k)
    got.push_back(box.floatAt(k));
  EXPECT_EQ(got, (std::vector<double>{13, 14, 17, 18, 21, 22}));
  // The whole tensor, a vector, a scalar.
  EXPECT_EQ(sliceBox(t, {}).floatAt(23), 23);
  HostTensor v = sliceBox(counting(DType::BF16, {8}), {{4, 8}});
  ASSERT_EQ(v.shape(), (std::vector<int64_t>{4}));
  EXPECT_EQ(v.floatAt(0), 4);
  EXPECT_EQ(v.floatAt(3), 7);
  HostTensor s = HostTensor::zeros(DType::F32, {});
  s.setFloatAt(0, 2.5);
  EXPECT_EQ(sliceBox(s, {}).floatAt(0), 2.5);
}

TEST(ModuleShardsTest, SlicedBoxesEqualShardSelectiveLoads) {
  ModuleManifest m = smallModule();
  std::vector<std::pair<std::string, HostTensor>> tensors = {
      {"layer/w", counting(DType::I8, {4, 6})},
      {"layer/w.scales", counting(DType::F32, {1, 6})},
      {"layer/v", counting(DType::F32, {8})},
      {"norm/scale", counting(DType::F32, {3})}};
  char dir[] = "/tmp/nova-module-shards-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/ckpt.safetensors";
  std::string error;
  ASSERT_TRUE(writeSafeTensors(path, tensors, {}, error)) << error;
  std::unique_ptr<Checkpoint> ckpt = Checkpoint::open(path, error);
  ASSERT_TRUE(ckpt) << error;
  ASSERT_TRUE(checkDeclared(*ckpt, m.declaredTensors(), error)) << error;
  const ManifestMesh *mesh = nullptr;
  ASSERT_TRUE(parameterMesh(m, mesh, error)) << error;
  for (int64_t device = 0; device < 2; ++device) {
    std::vector<LoadRequest> requests;
    ASSERT_TRUE(deviceShardRequests(
        *ckpt, m, mesh, device, [](const std::string &) { return true; },
        requests, error))
        << error;
    ASSERT_EQ(requests.size(), tensors.size());
    std::vector<HostTensor> loaded;
    ASSERT_TRUE(ckpt->load(requests, loaded, LoadOptions(), error)) << error;
    std::map<std::string, std::vector<DimRange>> boxes;
    ASSERT_TRUE(deviceBoxes(m, mesh, device, boxes, error)) << error;
    for (size_t i = 0; i < requests.size(); ++i) {
      const std::string &name = requests[i].name;
      auto source =
          std::find_if(tensors.begin(), tensors.end(),
                       [&](const auto &named) { return named.first == name; });
      HostTensor sliced = sliceBox(source->second, boxes.at(name));
      ASSERT_EQ(sliced.shape(), loaded[i].shape()) << name;
      EXPECT_EQ(
          std::memcmp(sliced.bytes(), loaded[i].bytes(), sliced.sizeInBytes()),
          0)
          << name << " on device " << device;
    }
  }
  // A selection keeps only what it accepts.
  std::vector<LoadRequest> some;
  ASSERT_TRUE(deviceShardRequests(
      *ckpt, m, mesh, 0,
      [](const std::string &name) { return name == "layer/v"; }, some, error));
  ASSERT_EQ(some.size(), 1u);
  EXPECT_EQ(some[0].slice, (std::vector<DimRange>{{0, 4}}));
  std::remove(path.c_str());
  ::rmdir(dir);
}

} // namespace
