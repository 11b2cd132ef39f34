//===- Interpreter.h - Nova's reference interpreter -------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Executes a Nova module op by op on host tensors: the oracle every compiled
// backend is checked against. It is written from the op descriptions
// (docs/dialect/NovaDialect.md, i.e. grok1-semantics.md) and shares no
// kernel code with the lowerings: values are held as doubles, reductions
// accumulate in double, and every result is rounded once to its element
// type (round-to-nearest-even), except where the semantics prescribe f32
// intermediate steps, which are emulated exactly.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_INTERPRETER_INTERPRETER_H
#define NOVA_RUNTIME_INTERPRETER_INTERPRETER_H

#include "nova/runtime/HostTensor.h"
#include "nova/runtime/Manifest.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace nova::interp {

struct Tensor;

/// Looks up a checkpoint tensor by name ("<path>" or "<path>.scales").
/// Returns false with `error` set when it is missing.
using ParamLookup = std::function<bool(
    const std::string &name, rt::HostTensor &out, std::string &error)>;

/// Statistics of the last run.
struct RunStats {
  uint64_t opsExecuted = 0;
};

class Interpreter {
public:
  explicit Interpreter(mlir::ModuleOp module);
  ~Interpreter();

  /// Entry points (public func.func ops) in module order.
  std::vector<std::string> entries() const;

  /// Whether the interpreter can run `module`: it runs unsharded modules
  /// only. An SPMD program (a collective such as nova.all_reduce, or an entry
  /// taking a communicator) is an error naming the first such op or entry
  /// and its source location. bindParams() and run() check it too.
  static bool supports(mlir::ModuleOp module, std::string &error);

  /// Checks every parameter the manifest lists for `entry` against
  /// `params` (presence, dtype, shape, and for quantized weights the scales)
  /// and caches them.
  bool bindParams(const rt::ModuleManifest &manifest, llvm::StringRef entry,
                  const ParamLookup &params, std::string &error);

  /// Runs `entry` on `inputs` (validated against the signature). Parameters
  /// must have been bound. Errors name the op and its source location.
  bool run(llvm::StringRef entry, const std::vector<rt::HostTensor> &inputs,
           std::vector<rt::HostTensor> &outputs, std::string &error);

  const RunStats &stats() const { return lastStats; }

private:
  mlir::ModuleOp module;
  llvm::StringMap<std::shared_ptr<Tensor>> params;
  RunStats lastStats;
};

/// Converts an MLIR tensor type to a runtime (dtype, shape); false if the
/// element type has no runtime dtype.
bool toRuntimeType(mlir::Type type, rt::DType &dtype,
                   std::vector<int64_t> &shape);

} // namespace nova::interp

#endif // NOVA_RUNTIME_INTERPRETER_INTERPRETER_H
