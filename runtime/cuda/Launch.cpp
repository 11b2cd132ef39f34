//===- Launch.cpp - Launch functions of Nova CUDA objects -----------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// MLIR's gpu-to-llvm lowering makes host code call mgpu* functions (module
// load at start-up, stream, launch, allocation). MLIR implements them in
// libmlir_cuda_runtime, which Debian does not ship and which aborts on the
// first failed call; Nova implements them here on the driver API, with the
// signatures gpu-to-llvm declares (TOOLCHAIN.md §2.1).
//
// Errors: the module load runs from a global constructor, before main, so a
// failure cannot be reported to anyone then. Every failure is recorded
// instead (the first one wins), and from then on launches are skipped and
// allocations fall back to host memory, so that the host code between them
// runs on valid pointers and the program reaches the caller, who reads
// nova_cuda_error(). Nothing here aborts or prints.
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/nova_cuda.h"

#include "runtime/cuda/Driver.h"

#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <string>
#include <unordered_set>

using nova::rt::cuda::detail::Driver;

namespace {

/// The process-wide state of the launch functions.
struct State {
  std::mutex mutex;
  std::string error;
  bool failed = false;
  bool opened = false;
  CUcontext context = nullptr;
  std::string deviceName;
  /// Host blocks handed out after a failure, to free with std::free.
  std::unordered_set<void *> hostFallback;
};

State &state() {
  static State *s = new State; // never destroyed: dtors may still call us
  return *s;
}

/// Records the first failure; later ones keep it.
void fail(State &s, const std::string &message) {
  if (!s.failed) {
    s.failed = true;
    s.error = message;
  }
}

/// The driver with the context current on this thread, or nullptr (and the
/// failure recorded). Called with the mutex held.
const Driver *ready(State &s) {
  if (s.failed)
    return nullptr;
  std::string error;
  const Driver *d = nova::rt::cuda::detail::driver(error);
  if (!d) {
    fail(s, error);
    return nullptr;
  }
  if (!s.opened) {
    s.opened = true;
    int index = 0;
    if (const char *env = std::getenv("NOVA_CUDA_DEVICE"))
      index = std::atoi(env);
    int count = 0;
    CUdevice device = 0;
    char name[256] = {0};
    if (!nova::rt::cuda::detail::check(d->deviceGetCount(&count),
                                       "cuDeviceGetCount", error)) {
      fail(s, error);
      return nullptr;
    }
    if (index < 0 || index >= count) {
      fail(s, "no CUDA device " + std::to_string(index) + " (" +
                  std::to_string(count) +
                  " present; NOVA_CUDA_DEVICE "
                  "chooses one)");
      return nullptr;
    }
    if (!nova::rt::cuda::detail::check(d->deviceGet(&device, index),
                                       "cuDeviceGet", error) ||
        !nova::rt::cuda::detail::check(d->primaryCtxRetain(&s.context, device),
                                       "cuDevicePrimaryCtxRetain", error)) {
      fail(s, error);
      return nullptr;
    }
    if (d->deviceGetName(name, sizeof(name) - 1, device) == CUDA_SUCCESS)
      s.deviceName = name;
  }
  if (!s.context)
    return nullptr;
  if (!nova::rt::cuda::detail::check(d->ctxSetCurrent(s.context),
                                     "cuCtxSetCurrent", error)) {
    fail(s, error);
    return nullptr;
  }
  return d;
}

/// Runs `call` with the driver ready; records its failure under `what`.
template <typename Call> bool withDriver(const char *what, Call call) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  const Driver *d = ready(s);
  if (!d)
    return false;
  std::string error;
  if (!nova::rt::cuda::detail::check(call(*d), what, error)) {
    fail(s, error);
    return false;
  }
  return true;
}

void *hostBlock(size_t bytes) {
  State &s = state();
  void *p = std::aligned_alloc(256, (bytes + 255) / 256 * 256 + 256);
  std::lock_guard<std::mutex> lock(s.mutex);
  if (p)
    s.hostFallback.insert(p);
  return p;
}

} // namespace

extern "C" {

//===----------------------------------------------------------------------===//
// What gpu-to-llvm's host code calls
//===----------------------------------------------------------------------===//

void *mgpuModuleLoad(void *data, size_t /*size*/) {
  CUmodule module = nullptr;
  withDriver("cuModuleLoadData",
             [&](const Driver &d) { return d.moduleLoadData(&module, data); });
  return module;
}

void *mgpuModuleLoadJIT(void *data, int /*optLevel*/) {
  return mgpuModuleLoad(data, 0);
}

void mgpuModuleUnload(void *module) {
  if (!module)
    return;
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  std::string error;
  if (const Driver *d = nova::rt::cuda::detail::driver(error))
    d->moduleUnload(static_cast<CUmodule>(module));
}

void *mgpuModuleGetFunction(void *module, const char *name) {
  CUfunction function = nullptr;
  if (!module) {
    // Either the load failed (recorded) or it never ran: the object's
    // global constructor did not (a loader that skips .init_array).
    State &s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    fail(s, std::string("kernel '") + name +
                "' launched before its module was loaded (the object's "
                "static constructors did not run)");
    return nullptr;
  }
  withDriver("cuModuleGetFunction", [&](const Driver &d) {
    return d.moduleGetFunction(&function, static_cast<CUmodule>(module), name);
  });
  return function;
}

void *mgpuStreamCreate() {
  CUstream stream = nullptr;
  withDriver("cuStreamCreate", [&](const Driver &d) {
    return d.streamCreate(&stream, CU_STREAM_NON_BLOCKING);
  });
  return stream;
}

void mgpuStreamDestroy(void *stream) {
  if (!stream)
    return;
  withDriver("cuStreamDestroy", [&](const Driver &d) {
    return d.streamDestroy(static_cast<CUstream>(stream));
  });
}

void mgpuStreamSynchronize(void *stream) {
  if (!stream)
    return;
  withDriver("cuStreamSynchronize (a kernel failed)", [&](const Driver &d) {
    return d.streamSynchronize(static_cast<CUstream>(stream));
  });
}

void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t sharedBytes, void *stream,
                      void **params, void **extra, size_t /*paramsCount*/) {
  if (!function || !stream)
    return; // a failure is recorded already
  // An empty grid (a zero-sized dimension) has nothing to compute.
  if (gridX < 1 || gridY < 1 || gridZ < 1)
    return;
  withDriver("cuLaunchKernel", [&](const Driver &d) {
    return d.launchKernel(
        static_cast<CUfunction>(function), static_cast<unsigned>(gridX),
        static_cast<unsigned>(gridY), static_cast<unsigned>(gridZ),
        static_cast<unsigned>(blockX), static_cast<unsigned>(blockY),
        static_cast<unsigned>(blockZ), static_cast<unsigned>(sharedBytes),
        static_cast<CUstream>(stream), params, extra);
  });
}

/// Every buffer of a Nova CUDA object is managed memory (the host code
/// between launches reads and writes it too), whatever `hostShared` says;
/// after a failure, host memory, so that the host code keeps running.
void *mgpuMemAlloc(uint64_t bytes, void * /*stream*/, bool /*hostShared*/) {
  if (void *ptr = nova_cuda_alloc(bytes))
    return ptr;
  return hostBlock(bytes == 0 ? 1 : bytes);
}

void mgpuMemFree(void *ptr, void * /*stream*/) { nova_cuda_free(ptr); }

//===----------------------------------------------------------------------===//
// Nova's C API (nova_cuda.h)
//===----------------------------------------------------------------------===//

void *nova_cuda_alloc(size_t bytes) {
  CUdeviceptr ptr = 0;
  // The driver rejects zero-byte allocations; an empty tensor still needs
  // a distinct valid address.
  size_t size = bytes == 0 ? 1 : bytes;
  if (withDriver("cuMemAllocManaged", [&](const Driver &d) {
        return d.memAllocManaged(&ptr, size, CU_MEM_ATTACH_GLOBAL);
      }))
    return reinterpret_cast<void *>(ptr);
  return nullptr;
}

void nova_cuda_free(void *ptr) {
  if (!ptr)
    return;
  State &s = state();
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.hostFallback.erase(ptr)) {
      std::free(ptr);
      return;
    }
  }
  withDriver("cuMemFree", [&](const Driver &d) {
    return d.memFree(reinterpret_cast<CUdeviceptr>(ptr));
  });
}

const char *nova_cuda_error(void) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.error.c_str();
}

const char *nova_cuda_device_name(void) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.deviceName.c_str();
}

} // extern "C"
