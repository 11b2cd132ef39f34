//===- Backends.h - The backends nova-run can run a module on ---*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_TOOLS_NOVA_RUN_BACKENDS_H
#define NOVA_TOOLS_NOVA_RUN_BACKENDS_H

#include "runtime/interpreter/Interpreter.h"

#include "nova/runtime/Checkpoint.h"
#include "nova/runtime/HostTensor.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/SourceMgr.h"

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

/// Reads a module: a `.yaml`/`.yml` model spec is imported (at most
/// `maxSpecBytes`), anything else parsed as MLIR through `sourceMgr` (whose
/// handler reports diagnostics). Returns null after reporting an error.
mlir::OwningOpRef<mlir::ModuleOp> loadModuleFile(mlir::MLIRContext &context,
                                                 llvm::SourceMgr &sourceMgr,
                                                 const std::string &path,
                                                 uint64_t maxSpecBytes,
                                                 const char *tool);

/// A parameter of a module as checkpoint tensors: its value and, for a
/// quantized weight, its scales ("<path>.scales", with the scale layout as
/// recorded under "<path>.scales.layout" in a checkpoint's metadata).
struct DeclaredParameter {
  rt::DeclaredTensor value;
  bool quantized = false;
  rt::DeclaredTensor scales;
  /// The resolved partition spec (nova-apply-partition-rules) and its mesh,
  /// when the parameter has one; the scales share it.
  std::optional<rt::PartitionSpec> spec;
  std::string meshName;
  std::vector<rt::MeshAxis> mesh;
};

/// The module's parameters (nova.param ops, each path once), by path.
std::vector<DeclaredParameter> declaredParameters(mlir::ModuleOp module);

/// The same as a flat list of tensors, for rt::checkDeclared.
std::vector<rt::DeclaredTensor>
declaredTensors(const std::vector<DeclaredParameter> &params);

} // namespace nova::run

#endif // NOVA_TOOLS_NOVA_RUN_BACKENDS_H
