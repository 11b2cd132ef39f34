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
