//===- LaunchTest.cpp - The launch functions of Nova's CUDA objects -------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Without a driver or device (CI), every mgpu* call of a compiled object's
// host code must fail softly: the failure recorded once, allocations backed
// by host memory so the host code between launches keeps running, launches
// skipped. With a device, managed memory is visible from the host.
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/nova_cuda.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <string>

extern "C" {
void *mgpuModuleLoad(void *, size_t);
void *mgpuModuleGetFunction(void *, const char *);
void *mgpuStreamCreate();
void mgpuStreamSynchronize(void *);
void mgpuStreamDestroy(void *);
void mgpuLaunchKernel(void *, intptr_t, intptr_t, intptr_t, intptr_t, intptr_t,
                      intptr_t, int32_t, void *, void **, void **, size_t);
void *mgpuMemAlloc(uint64_t, void *, bool);
void mgpuMemFree(void *, void *);
}

namespace {

TEST(CudaLaunchTest, ManagedMemoryOrARecordedFailure) {
  void *p = nova_cuda_alloc(1000);
  if (!p) {
    // No driver or device: the reason is recorded, never empty.
    EXPECT_STRNE(nova_cuda_error(), "");
    return;
  }
  // A device: managed memory is written and read back from the host.
  std::memset(p, 0x5a, 1000);
  EXPECT_EQ(static_cast<unsigned char *>(p)[999], 0x5a);
  nova_cuda_free(p);
  EXPECT_STRNE(nova_cuda_device_name(), "");
  EXPECT_STREQ(nova_cuda_error(), "");
}

TEST(CudaLaunchTest, WithoutADeviceTheHostCodeKeepsValidPointers) {
  if (void *p = nova_cuda_alloc(8)) {
    nova_cuda_free(p);
    GTEST_SKIP() << "a CUDA device is present";
  }
  std::string first = nova_cuda_error();
  ASSERT_FALSE(first.empty());
  // What a compiled object's host code does, in order: load, allocate,
  // launch, synchronize, free. Nothing crashes; the first error stays.
  EXPECT_EQ(mgpuModuleLoad(const_cast<char *>("not a cubin"), 11), nullptr);
  void *buffer = mgpuMemAlloc(4096, nullptr, true);
  ASSERT_NE(buffer, nullptr);
  std::memset(buffer, 1, 4096); // host code between launches
  void *empty = mgpuMemAlloc(0, nullptr, true);
  EXPECT_NE(empty, nullptr);
  EXPECT_EQ(mgpuModuleGetFunction(nullptr, "kernel"), nullptr);
  void *stream = mgpuStreamCreate();
  EXPECT_EQ(stream, nullptr);
  void *args[] = {&buffer};
  mgpuLaunchKernel(nullptr, 1, 1, 1, 128, 1, 1, 0, stream, args, nullptr, 1);
  mgpuStreamSynchronize(stream);
  mgpuStreamDestroy(stream);
  mgpuMemFree(buffer, nullptr);
  mgpuMemFree(empty, nullptr);
  nova_cuda_free(nullptr);
  EXPECT_EQ(first, nova_cuda_error());
}

} // namespace
