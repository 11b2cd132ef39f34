//===- Cuda.h - CUDA driver access for Nova's runtime -----------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Loads kernels (PTX or cubin produced by Nova's NVVM lowering) and launches
// them through the CUDA driver API. The driver (libcuda.so.1) is opened with
// dlopen at first use, so programs linking the runtime start and run their
// CPU paths on machines without a GPU or driver; CUDA calls then fail with a
// clear error instead. Built only when a CUDA toolkit is found.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_CUDA_H
#define NOVA_RUNTIME_CUDA_H

#include "nova/runtime/Checkpoint.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nova::rt::cuda {

class Module;

/// A device with its primary context, current on the calling thread.
class Device {
public:
  /// Opens device `index`; fails with a message when the driver is missing,
  /// has no device, or cuInit fails (e.g. the toolkit's stub library).
  static std::unique_ptr<Device> open(int index, std::string &error);
  ~Device();

  const std::string &name() const { return deviceName; }
  int computeCapability() const { return major * 10 + minor; }

  /// Device memory, freed on destruction.
  class Buffer {
  public:
    Buffer() = default;
    Buffer(Buffer &&other) noexcept;
    Buffer &operator=(Buffer &&other) noexcept;
    ~Buffer();
    uint64_t address() const { return ptr; }
    size_t size() const { return bytes; }

  private:
    friend class Device;
    uint64_t ptr = 0;
    size_t bytes = 0;
  };
  bool allocate(size_t bytes, Buffer &out, std::string &error);
  bool copyToDevice(Buffer &dst, const void *src, size_t bytes,
                    std::string &error);
  bool copyToHost(void *dst, const Buffer &src, size_t bytes,
                  std::string &error);
  bool synchronize(std::string &error);

private:
  friend class PinnedStaging;
  Device() = default;
  int ordinal = 0; // the CUdevice
  void *context = nullptr;
  std::string deviceName;
  int major = 0, minor = 0;
};

/// A loaded module (PTX text or a cubin image).
class Module {
public:
  static std::unique_ptr<Module> load(Device &device, const std::string &image,
                                      std::string &error);
  ~Module();
  /// Launches kernel `name`; `args` points at each argument's value, as
  /// cuLaunchKernel expects.
  bool launch(const std::string &name, const unsigned grid[3],
              const unsigned block[3], unsigned sharedBytes,
              std::vector<void *> args, std::string &error);

private:
  Module() = default;
  void *module = nullptr;
};

/// Checkpoint loads to this device (Checkpoint::loadToDevice): page-locked
/// staging slots, each copied on its own non-blocking stream, so reader
/// threads fill one slot while the DMA engine drains another.
class PinnedStaging : public StagingSink {
public:
  explicit PinnedStaging(Device &device);
  ~PinnedStaging() override;
  bool allocateSlots(unsigned count, uint64_t bytes, std::vector<void *> &slots,
                     std::string &error) override;
  void freeSlots(std::vector<void *> &slots) override;
  bool copyAsync(unsigned slot, uint64_t dst, const void *src, uint64_t bytes,
                 std::string &error) override;
  bool wait(unsigned slot, std::string &error) override;

private:
  Device &device;
  std::vector<void *> pinned, streams;
};

} // namespace nova::rt::cuda

#endif // NOVA_RUNTIME_CUDA_H
