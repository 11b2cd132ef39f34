//===- CudaTest.cpp - Loading and launching through the CUDA driver -------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Cuda.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

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
