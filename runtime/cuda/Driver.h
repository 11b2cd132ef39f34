//===- Driver.h - The CUDA driver entry points Nova resolves ----*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Internal to runtime/cuda: the driver is opened with dlopen at first use,
// never linked, so that programs linking the runtime start without one.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_CUDA_DRIVER_H
#define NOVA_RUNTIME_CUDA_DRIVER_H

#include <cuda.h>

#include <string>

namespace nova::rt::cuda::detail {

/// The driver entry points Nova uses, resolved with dlsym (versioned names
/// as cuda.h maps them).
struct Driver {
  CUresult (*init)(unsigned);
  CUresult (*getErrorString)(CUresult, const char **);
  CUresult (*deviceGetCount)(int *);
  CUresult (*deviceGet)(CUdevice *, int);
  CUresult (*deviceGetName)(char *, int, CUdevice);
  CUresult (*deviceGetAttribute)(int *, CUdevice_attribute, CUdevice);
  CUresult (*primaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*primaryCtxRelease)(CUdevice);
  CUresult (*ctxSetCurrent)(CUcontext);
  CUresult (*ctxSynchronize)();
  CUresult (*memAlloc)(CUdeviceptr *, size_t);
  CUresult (*memFree)(CUdeviceptr);
  CUresult (*memcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*memcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*memHostAlloc)(void **, size_t, unsigned);
  CUresult (*memFreeHost)(void *);
  CUresult (*streamCreate)(CUstream *, unsigned);
  CUresult (*streamDestroy)(CUstream);
  CUresult (*streamSynchronize)(CUstream);
  CUresult (*memcpyHtoDAsync)(CUdeviceptr, const void *, size_t, CUstream);
  CUresult (*moduleLoadData)(CUmodule *, const void *);
  CUresult (*moduleUnload)(CUmodule);
  CUresult (*moduleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*memAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*launchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned,
                           unsigned, unsigned, unsigned, CUstream, void **,
                           void **);
};

/// Opens the driver once (and cuInit); nullptr with `error` set if that
/// failed.
const Driver *driver(std::string &error);

/// Turns a CUresult into an error message naming `what`; true on success.
bool check(CUresult r, const char *what, std::string &error);

} // namespace nova::rt::cuda::detail

#endif // NOVA_RUNTIME_CUDA_DRIVER_H
