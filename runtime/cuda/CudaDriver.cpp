//===- CudaDriver.cpp - CUDA driver access for Nova's runtime -------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Cuda.h"

#include "runtime/cuda/Driver.h"

#include <dlfcn.h>

#include <mutex>

using namespace nova::rt::cuda;
using detail::check;
using detail::driver;
using detail::Driver;

/// The driver's message for `r`, or what Nova knows of the codes a machine
/// without a working driver gives, and the code.
static std::string describe(CUresult r, const char *message) {
  std::string text = message                        ? message
                     : r == CUDA_ERROR_STUB_LIBRARY ? "the CUDA toolkit's stub "
                                                      "libcuda was loaded, not "
                                                      "a driver"
                     : r == CUDA_ERROR_NO_DEVICE    ? "no CUDA device"
                                                    : "unknown error";
  return text + " (" + std::to_string(static_cast<int>(r)) + ")";
}

const Driver *detail::driver(std::string &error) {
  static std::once_flag once;
  static Driver d;
  static std::string failure;
  static bool ok = false;
  std::call_once(once, [] {
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      failure = std::string("cannot load the CUDA driver (libcuda.so.1): ") +
                dlerror();
      return;
    }
    bool all = true;
    auto sym = [&](auto &fn, const char *name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(
          dlsym(lib, name));
      if (!fn) {
        failure = std::string("the CUDA driver lacks ") + name;
        all = false;
      }
    };
    sym(d.init, "cuInit");
    sym(d.getErrorString, "cuGetErrorString");
    sym(d.deviceGetCount, "cuDeviceGetCount");
    sym(d.deviceGet, "cuDeviceGet");
    sym(d.deviceGetName, "cuDeviceGetName");
    sym(d.deviceGetAttribute, "cuDeviceGetAttribute");
    sym(d.primaryCtxRetain, "cuDevicePrimaryCtxRetain");
    sym(d.primaryCtxRelease, "cuDevicePrimaryCtxRelease_v2");
    sym(d.ctxSetCurrent, "cuCtxSetCurrent");
    sym(d.ctxSynchronize, "cuCtxSynchronize");
    sym(d.memAlloc, "cuMemAlloc_v2");
    sym(d.memFree, "cuMemFree_v2");
    sym(d.memcpyHtoD, "cuMemcpyHtoD_v2");
    sym(d.memcpyDtoH, "cuMemcpyDtoH_v2");
    sym(d.memHostAlloc, "cuMemHostAlloc");
    sym(d.memFreeHost, "cuMemFreeHost");
    sym(d.streamCreate, "cuStreamCreate");
    sym(d.streamDestroy, "cuStreamDestroy_v2");
    sym(d.streamSynchronize, "cuStreamSynchronize");
    sym(d.memcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
    sym(d.moduleLoadData, "cuModuleLoadData");
    sym(d.moduleUnload, "cuModuleUnload");
    sym(d.moduleGetFunction, "cuModuleGetFunction");
    sym(d.memAllocManaged, "cuMemAllocManaged");
    sym(d.launchKernel, "cuLaunchKernel");
    if (!all)
      return;
    CUresult r = d.init(0);
    if (r != CUDA_SUCCESS) {
      const char *s = nullptr;
      if (d.getErrorString(r, &s) != CUDA_SUCCESS)
        s = nullptr;
      failure = std::string("cuInit failed: ") + describe(r, s);
      return;
    }
    ok = true;
  });
  if (!ok) {
    error = failure;
    return nullptr;
  }
  return &d;
}

bool detail::check(CUresult r, const char *what, std::string &error) {
  if (r == CUDA_SUCCESS)
    return true;
  std::string dummy;
  const Driver *d = driver(dummy);
  const char *s = nullptr;
  if (d && d->getErrorString(r, &s) != CUDA_SUCCESS)
    s = nullptr;
  error = std::string(what) + " failed: " + describe(r, s);
  return false;
}

std::unique_ptr<Device> Device::open(int index, std::string &error) {
  const Driver *d = driver(error);
  if (!d)
    return nullptr;
  int count = 0;
  if (!check(d->deviceGetCount(&count), "cuDeviceGetCount", error))
    return nullptr;
  if (index < 0 || index >= count) {
    error = "no CUDA device " + std::to_string(index) + " (" +
            std::to_string(count) + " present)";
    return nullptr;
  }
  std::unique_ptr<Device> dev(new Device());
  CUdevice handle;
  CUcontext ctx;
  char name[256] = {0};
  if (!check(d->deviceGet(&handle, index), "cuDeviceGet", error) ||
      !check(d->deviceGetName(name, sizeof(name) - 1, handle),
             "cuDeviceGetName", error) ||
      !check(d->deviceGetAttribute(&dev->major,
                                   CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR,
                                   handle),
             "cuDeviceGetAttribute", error) ||
      !check(d->deviceGetAttribute(&dev->minor,
                                   CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR,
                                   handle),
             "cuDeviceGetAttribute", error) ||
      !check(d->primaryCtxRetain(&ctx, handle), "cuDevicePrimaryCtxRetain",
             error))
    return nullptr;
  dev->ordinal = handle;
  dev->context = ctx;
  dev->deviceName = name;
  if (!check(d->ctxSetCurrent(ctx), "cuCtxSetCurrent", error))
    return nullptr;
  return dev;
}

Device::~Device() {
  std::string error;
  if (const Driver *d = driver(error); d && context)
    d->primaryCtxRelease(ordinal);
}

Device::Buffer::Buffer(Buffer &&other) noexcept
    : ptr(other.ptr), bytes(other.bytes) {
  other.ptr = 0;
  other.bytes = 0;
}

Device::Buffer &Device::Buffer::operator=(Buffer &&other) noexcept {
  std::swap(ptr, other.ptr);
  std::swap(bytes, other.bytes);
  return *this;
}

Device::Buffer::~Buffer() {
  std::string error;
  if (const Driver *d = driver(error); d && ptr)
    d->memFree(ptr);
}

bool Device::allocate(size_t bytes, Buffer &out, std::string &error) {
  const Driver *d = driver(error);
  CUdeviceptr p = 0;
  if (!d || !check(d->memAlloc(&p, bytes ? bytes : 1), "cuMemAlloc", error))
    return false;
  Buffer b;
  b.ptr = p;
  b.bytes = bytes;
  out = std::move(b);
  return true;
}

bool Device::copyToDevice(Buffer &dst, const void *src, size_t bytes,
                          std::string &error) {
  const Driver *d = driver(error);
  if (bytes > dst.size()) {
    error = "copy of " + std::to_string(bytes) + " bytes into a buffer of " +
            std::to_string(dst.size());
    return false;
  }
  return d &&
         check(d->memcpyHtoD(dst.address(), src, bytes), "cuMemcpyHtoD", error);
}

bool Device::copyToHost(void *dst, const Buffer &src, size_t bytes,
                        std::string &error) {
  const Driver *d = driver(error);
  if (bytes > src.size()) {
    error = "copy of " + std::to_string(bytes) + " bytes from a buffer of " +
            std::to_string(src.size());
    return false;
  }
  return d &&
         check(d->memcpyDtoH(dst, src.address(), bytes), "cuMemcpyDtoH", error);
}

bool Device::synchronize(std::string &error) {
  const Driver *d = driver(error);
  return d && check(d->ctxSynchronize(), "cuCtxSynchronize", error);
}

std::unique_ptr<Module> Module::load(Device &, const std::string &image,
                                     std::string &error) {
  const Driver *d = driver(error);
  if (!d)
    return nullptr;
  std::unique_ptr<Module> m(new Module());
  CUmodule mod;
  // PTX must be NUL-terminated; std::string guarantees it.
  if (!check(d->moduleLoadData(&mod, image.c_str()), "cuModuleLoadData", error))
    return nullptr;
  m->module = mod;
  return m;
}

Module::~Module() {
  std::string error;
  if (const Driver *d = driver(error); d && module)
    d->moduleUnload(static_cast<CUmodule>(module));
}

bool Module::launch(const std::string &name, const unsigned grid[3],
                    const unsigned block[3], unsigned sharedBytes,
                    std::vector<void *> args, std::string &error) {
  const Driver *d = driver(error);
  if (!d)
    return false;
  CUfunction fn;
  if (!check(d->moduleGetFunction(&fn, static_cast<CUmodule>(module),
                                  name.c_str()),
             ("cuModuleGetFunction(" + name + ")").c_str(), error))
    return false;
  return check(d->launchKernel(fn, grid[0], grid[1], grid[2], block[0],
                               block[1], block[2], sharedBytes, nullptr,
                               args.data(), nullptr),
               ("cuLaunchKernel(" + name + ")").c_str(), error);
}

//===----------------------------------------------------------------------===//
// Pinned staging for checkpoint loads
//===----------------------------------------------------------------------===//

PinnedStaging::PinnedStaging(Device &device) : device(device) {}

PinnedStaging::~PinnedStaging() {
  std::vector<void *> none;
  freeSlots(none);
}

bool PinnedStaging::allocateSlots(unsigned count, uint64_t bytes,
                                  std::vector<void *> &slots,
                                  std::string &error) {
  const Driver *d = driver(error);
  if (!d || !check(d->ctxSetCurrent(static_cast<CUcontext>(device.context)),
                   "cuCtxSetCurrent", error))
    return false;
  for (unsigned i = 0; i < count; ++i) {
    void *host = nullptr;
    CUstream stream = nullptr;
    if (!check(d->memHostAlloc(&host, bytes, 0), "cuMemHostAlloc", error) ||
        !check(d->streamCreate(&stream, CU_STREAM_NON_BLOCKING),
               "cuStreamCreate", error)) {
      if (host)
        d->memFreeHost(host);
      freeSlots(slots);
      return false;
    }
    slots.push_back(host);
    pinned.push_back(host);
    streams.push_back(stream);
  }
  return true;
}

void PinnedStaging::freeSlots(std::vector<void *> &slots) {
  std::string error;
  const Driver *d = driver(error);
  if (d) {
    d->ctxSetCurrent(static_cast<CUcontext>(device.context));
    for (void *s : streams) {
      d->streamSynchronize(static_cast<CUstream>(s));
      d->streamDestroy(static_cast<CUstream>(s));
    }
    for (void *h : pinned)
      d->memFreeHost(h);
  }
  streams.clear();
  pinned.clear();
  slots.clear();
}

bool PinnedStaging::copyAsync(unsigned slot, uint64_t dst, const void *src,
                              uint64_t bytes, std::string &error) {
  const Driver *d = driver(error);
  // The context is current per thread: reader threads make it theirs.
  return d && slot < streams.size() &&
         check(d->ctxSetCurrent(static_cast<CUcontext>(device.context)),
               "cuCtxSetCurrent", error) &&
         check(d->memcpyHtoDAsync(static_cast<CUdeviceptr>(dst), src, bytes,
                                  static_cast<CUstream>(streams[slot])),
               "cuMemcpyHtoDAsync", error);
}

bool PinnedStaging::wait(unsigned slot, std::string &error) {
  const Driver *d = driver(error);
  return d && slot < streams.size() &&
         check(d->ctxSetCurrent(static_cast<CUcontext>(device.context)),
               "cuCtxSetCurrent", error) &&
         check(d->streamSynchronize(static_cast<CUstream>(streams[slot])),
               "cuStreamSynchronize", error);
}
