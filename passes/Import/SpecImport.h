//===- SpecImport.h - YAML specs to Nova IR ---------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The spec importers: a translation (like CIRCT's ImportVerilog) from the
// YAML model and partition-rule specs of docs/spec.md to Nova IR. Every
// diagnostic is located at the YAML file:line:col it is about.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_IMPORT_SPECIMPORT_H
#define NOVA_PASSES_IMPORT_SPECIMPORT_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Support/LLVM.h"

#include <string>

namespace mlir::nova {

/// Default cap on the size of a spec file.
constexpr uint64_t kDefaultMaxSpecBytes = 16u << 20;

/// Default cap on what a spec unrolls to (--max-spec-ops): the full Grok-1
/// spec and rules (examples/grok1, 64 layers, 770 parameters) count about
/// 7,200; at the cap an import takes about 150 MB.
constexpr uint64_t kDefaultMaxSpecOps = 200'000;

/// Bounds on the IR a spec may make the importer build.
struct SpecLimits {
  /// Items counted after unrolling repeat blocks: graph ops, inputs,
  /// outputs and parameter checks of every entry, parameters, repeat
  /// iterations (even of an empty body), entries and partition rules.
  uint64_t maxOps = kDefaultMaxSpecOps;
};

/// Reads a spec file ("-" for stdin), refusing files over `maxBytes`.
FailureOr<std::string> readSpecFile(llvm::StringRef filename, uint64_t maxBytes,
                                    MLIRContext *context);

/// Imports the model spec `text` (read from `filename`) into a new module:
/// one func.func per entry point, parameters as nova.param ops.
OwningOpRef<ModuleOp> importModelSpec(llvm::StringRef text,
                                      llvm::StringRef filename,
                                      MLIRContext *context,
                                      const SpecLimits &limits = {});

/// Imports the partition-rule spec `text` into `module`: a nova.mesh and a
/// nova.partition_rules op holding the rules in priority order.
LogicalResult importPartitionRules(llvm::StringRef text,
                                   llvm::StringRef filename, ModuleOp module,
                                   const SpecLimits &limits = {});

} // namespace mlir::nova

#endif // NOVA_PASSES_IMPORT_SPECIMPORT_H
