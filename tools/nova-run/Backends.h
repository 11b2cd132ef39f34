//===- Backends.h - The backends nova-run can run a module on ---*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_TOOLS_NOVA_RUN_BACKENDS_H
#define NOVA_TOOLS_NOVA_RUN_BACKENDS_H

#include "runtime/interpreter/Interpreter.h"

#include "nova/runtime/HostTensor.h"

#include "mlir/IR/BuiltinOps.h"

#include <memory>
#include <string>
#include <vector>

namespace nova::run {

/// A way to execute a module's entry points.
class Backend {
public:
  virtual ~Backend() = default;
  virtual const char *name() const = 0;
  /// Binds (and checks) the parameters `entry` uses.
  virtual bool prepare(const std::string &entry,
                       const interp::ParamLookup &params,
                       std::string &error) = 0;
  virtual bool run(const std::string &entry,
                   const std::vector<rt::HostTensor> &inputs,
                   std::vector<rt::HostTensor> &outputs,
                   std::string &error) = 0;
};

/// A module JIT-compiled for the host CPU, called through its C ABI with the
/// caller's buffers: the inputs, then the parameters sorted by path (each
/// quantized one followed by its scales), then the outputs (docs/abi.md).
/// Nothing is copied; for benchmarks and embedders.
class CompiledCpuModule {
public:
  virtual ~CompiledCpuModule() = default;
  /// The number of buffers `entry` takes, or -1 when there is no such entry.
  virtual int numBuffers(const std::string &entry) const = 0;
  virtual bool call(const std::string &entry, llvm::ArrayRef<void *> buffers,
                    std::string &error) = 0;
};

/// Compiles `module` (nova-cpu-pipeline + LLVM ORC at -O3 for the host).
std::unique_ptr<CompiledCpuModule> compileForCpu(mlir::ModuleOp module,
                                                 std::string &error);

/// The JIT-compiled CPU backend (nova-cpu-pipeline + LLVM ORC); compiles a
/// clone of `module` up front.
std::unique_ptr<Backend> createCpuBackend(mlir::ModuleOp module,
                                          std::string &error);

/// Creates backend `name` for `module`; an unknown or unavailable backend
/// is an error naming the ones that exist.
std::unique_ptr<Backend> createBackend(const std::string &name,
                                       mlir::ModuleOp module,
                                       std::string &error);

} // namespace nova::run

#endif // NOVA_TOOLS_NOVA_RUN_BACKENDS_H
