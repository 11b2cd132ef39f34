//===- Backends.h - Executing a module: interpreter and CPU JIT -*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The backends every tool, test and benchmark runs modules on, behind one
// interface, with the module's contract (its manifest) as the description of
// every entry point. Like runtime/interpreter, this library links MLIR: it
// compiles or walks the IR.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_BACKENDS_BACKENDS_H
#define NOVA_RUNTIME_BACKENDS_BACKENDS_H

#include "runtime/interpreter/Interpreter.h"

#include "nova/runtime/HostTensor.h"
#include "nova/runtime/Manifest.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace nova::backends {

/// How a backend runs a module.
struct BackendOptions {
  /// The MPI communicator of the whole mesh (an MPICH `MPI_Comm`): what an
  /// SPMD module's entries receive as their `communicator` argument. MPI must
  /// be initialized and libmpich loaded with RTLD_GLOBAL before the module is
  /// compiled (the JIT resolves MPI_* from the process). Required for SPMD
  /// modules (the manifest's isSpmd()); modules that take none ignore it.
  std::optional<int32_t> communicator;
  /// Reuse and store compiled objects in the compile cache
  /// (objectCacheDirectory(): NOVA_CACHE_DIR, docs/nova-run.md).
  bool useCompileCache = true;
  /// After compiling, one line on stderr: the model, the target, the time
  /// and whether the object came from the compile cache. Without it the
  /// line appears only for compiles over a second with stderr a terminal.
  bool reportCompile = false;
  /// The CPU the CPU backend compiles for: "native" (the host), or an LLVM
  /// CPU name (e.g. x86-64-v3) to run that instruction-set tier's code on
  /// the host, which must have its features (an error names the missing
  /// ones): how the differential suite checks every tier the host runs.
  std::string targetCpu = "native";
};

/// A way to execute a module's entry points.
class Backend {
public:
  virtual ~Backend() = default;
  virtual const char *name() const = 0;
  /// The contract of the module this backend runs.
  virtual const rt::ModuleManifest &manifest() const = 0;
  /// Binds (and checks against the manifest) the parameters `entry` uses.
  virtual bool prepare(const std::string &entry,
                       const interp::ParamLookup &params,
                       std::string &error) = 0;
  /// Runs `entry` on its inputs (manifest order), returning its outputs.
  virtual bool run(const std::string &entry,
                   const std::vector<rt::HostTensor> &inputs,
                   std::vector<rt::HostTensor> &outputs,
                   std::string &error) = 0;
};

/// A module JIT-compiled for the host CPU, called through its C ABI with the
/// caller's buffers in the manifest's argument order: the inputs, then the
/// parameters sorted by path (each quantized one followed by its scales),
/// then the outputs (docs/abi.md); an SPMD entry's communicator, which is no
/// buffer, comes from BackendOptions. Nothing is copied; for benchmarks and
/// embedders.
class CompiledCpuModule {
public:
  virtual ~CompiledCpuModule() = default;
  virtual const rt::ModuleManifest &manifest() const = 0;
  /// The number of buffers `entry` takes (its arguments but the
  /// communicator), or -1 when there is no such entry.
  virtual int numBuffers(const std::string &entry) const = 0;
  virtual bool call(const std::string &entry, llvm::ArrayRef<void *> buffers,
                    std::string &error) = 0;
};

/// Compiles `module` (nova-cpu-pipeline + LLVM ORC at -O3 for the host).
/// An SPMD module needs `options.communicator`.
std::unique_ptr<CompiledCpuModule>
compileForCpu(mlir::ModuleOp module, std::string &error,
              const BackendOptions &options = {});

/// The JIT-compiled CPU backend; compiles a clone of `module` up front. An
/// SPMD module needs `options.communicator`, and its parameters are bound by
/// their local (per-rank shard) shapes: the lookup must hand out this rank's
/// shards.
std::unique_ptr<Backend> createCpuBackend(mlir::ModuleOp module,
                                          std::string &error,
                                          const BackendOptions &options = {});

/// The CUDA backend (builds with a CUDA toolkit only): kernels for the
/// default chip (sm_90a) and host code JIT-compiled into this process,
/// running on device 0 (NOVA_CUDA_DEVICE chooses another); docs/cuda.md.
/// Without a driver or device it compiles and links, then fails loading the
/// kernels with an error naming the cause.
std::unique_ptr<Backend> createCudaBackend(mlir::ModuleOp module,
                                           std::string &error,
                                           const BackendOptions &options = {});

/// Creates backend `name` ("interp", "cpu", "cuda") for `module`; an unknown or
/// unavailable backend is an error naming the ones that exist, and so is an
/// SPMD module for the interpreter (it runs unsharded modules only). The CPU
/// backend compiles a clone of `module` up front.
std::unique_ptr<Backend> createBackend(const std::string &name,
                                       mlir::ModuleOp module,
                                       std::string &error,
                                       const BackendOptions &options = {});

/// Checks `inputs` against `entry`'s inputs (count, dtype, shape).
bool checkInputs(const rt::ManifestEntry &entry,
                 const std::vector<rt::HostTensor> &inputs, std::string &error);

} // namespace nova::backends

#endif // NOVA_RUNTIME_BACKENDS_BACKENDS_H
