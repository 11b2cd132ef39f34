//===- CudaTest.cpp - Loading and launching through the CUDA driver -------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Cuda.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace nova::rt::cuda;

namespace {

TEST(CudaTest, MissingDriverOrDeviceIsAnErrorNotACrash) {
  std::string error;
  std::unique_ptr<Device> device = Device::open(0, error);
  if (device) {
    EXPECT_FALSE(device->name().empty());
    EXPECT_GE(device->computeCapability(), 50);
  } else {
    EXPECT_FALSE(error.empty());
  }
  // An index past the device count always fails with a message.
  EXPECT_FALSE(Device::open(1 << 20, error));
  EXPECT_FALSE(error.empty());
}

TEST(CudaTest, LoadsAndLaunchesAPtxKernel) {
  std::string error;
  std::unique_ptr<Device> device = Device::open(0, error);
  if (!device)
    GTEST_SKIP() << "no CUDA device: " << error;
  std::ifstream in(NOVA_SAXPY_PTX);
  std::stringstream ptx;
  ptx << in.rdbuf();
  std::unique_ptr<Module> module = Module::load(*device, ptx.str(), error);
  ASSERT_TRUE(module) << error;
  const int n = 1000;
  std::vector<float> x(n), y(n, 1.0f);
  for (int i = 0; i < n; ++i)
    x[i] = static_cast<float>(i);
  Device::Buffer dx, dy;
  ASSERT_TRUE(device->allocate(n * 4, dx, error)) << error;
  ASSERT_TRUE(device->allocate(n * 4, dy, error)) << error;
  ASSERT_TRUE(device->copyToDevice(dx, x.data(), n * 4, error)) << error;
  ASSERT_TRUE(device->copyToDevice(dy, y.data(), n * 4, error)) << error;
  float a = 2.0f;
  uint64_t px = dx.address(), py = dy.address();
  int count = n;
  unsigned grid[3] = {(n + 255) / 256, 1, 1}, block[3] = {256, 1, 1};
  ASSERT_TRUE(
      module->launch("saxpy", grid, block, 0, {&a, &px, &py, &count}, error))
      << error;
  ASSERT_TRUE(device->synchronize(error)) << error;
  ASSERT_TRUE(device->copyToHost(y.data(), dy, n * 4, error)) << error;
  for (int i = 0; i < n; ++i)
    ASSERT_EQ(y[i], 2.0f * i + 1.0f) << i;
  EXPECT_FALSE(module->launch("nope", grid, block, 0, {}, error));
  EXPECT_NE(error.find("cuModuleGetFunction(nope)"), std::string::npos);
}

} // namespace

namespace {

TEST(CudaTest, CheckpointLoadsStageThroughPinnedBuffers) {
  std::string error;
  std::unique_ptr<Device> device = Device::open(0, error);
  if (!device)
    GTEST_SKIP() << "no CUDA device: " << error;
  char tmpl[] = "/tmp/nova-cuda-ckpt-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  std::string path = std::string(tmpl) + "/c.safetensors";
  // 24 MiB over three tensors: several 4 MiB slots per thread.
  std::vector<std::pair<std::string, nova::rt::HostTensor>> tensors;
  for (int t = 0; t < 3; ++t) {
    auto h = nova::rt::HostTensor::zeros(nova::rt::DType::I8, {8 << 20});
    for (int64_t i = 0; i < h.numElements(); ++i)
      h.mutableBytes()[i] = static_cast<uint8_t>(i * 7 + t);
    tensors.push_back({"t" + std::to_string(t), h});
  }
  ASSERT_TRUE(nova::rt::writeSafeTensors(path, tensors, {}, error)) << error;
  auto ckpt = nova::rt::Checkpoint::open(path, error);
  ASSERT_TRUE(ckpt) << error;
  Device::Buffer buffer;
  ASSERT_TRUE(device->allocate(24 << 20, buffer, error)) << error;
  std::vector<nova::rt::DeviceLoadRequest> reqs;
  for (int t = 0; t < 3; ++t)
    reqs.push_back({"t" + std::to_string(t),
                    {},
                    buffer.address() + (uint64_t(t) << 23),
                    8 << 20});
  PinnedStaging staging(*device);
  nova::rt::LoadOptions options;
  options.chunkBytes = 4 << 20;
  nova::rt::LoadStats stats;
  ASSERT_TRUE(ckpt->loadToDevice(reqs, staging, options, error, &stats))
      << error;
  std::vector<uint8_t> back(24 << 20);
  ASSERT_TRUE(device->copyToHost(back.data(), buffer, back.size(), error))
      << error;
  for (int t = 0; t < 3; ++t)
    EXPECT_EQ(std::memcmp(back.data() + (size_t(t) << 23),
                          tensors[t].second.bytes(), 8 << 20),
              0);
  std::printf("staged %.1f MB to %s at %.2f GB/s\n", stats.bytes / 1e6,
              device->name().c_str(), stats.bytes / 1e9 / stats.seconds);
  std::remove(path.c_str());
  rmdir(tmpl);
}

} // namespace
