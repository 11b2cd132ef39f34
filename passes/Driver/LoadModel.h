//===- LoadModel.h - A model spec or module, with its rules -----*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// What every tool does first: read a module (a YAML model spec, imported, or
// MLIR text), attach and resolve partition rules, verify. One implementation
// for nova-opt, nova-run, nova-ckpt, tests and benchmarks.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_DRIVER_LOADMODEL_H
#define NOVA_PASSES_DRIVER_LOADMODEL_H

#include "passes/Import/SpecImport.h"

#include "nova/runtime/Manifest.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/OwningOpRef.h"
#include "mlir/Pass/Pass.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/SourceMgr.h"

#include <optional>
#include <string>

namespace mlir::nova {

/// What a tool loads modules into: a context with every dialect Nova's
/// pipelines use, whose diagnostics point at the input's lines (without
/// dumping the op).
struct ToolContext {
  ToolContext();
  MLIRContext context;
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler;
};

/// The numerics of nova.qmatmul a tool asks for (`--numerics`).
enum class Numerics {
  /// Each op as the module has it (a spec imports as exact).
  AsWritten,
  /// Every nova.qmatmul exact: the attribute `int8_activations` removed.
  Exact,
  /// Every nova.qmatmul with `int8_activations` (the opt-in fast numerics;
  /// nova.expert_qmatmul stays exact).
  Fast,
};

/// The values of a tool's `--numerics` option (exact, fast).
llvm::cl::ValuesClass numericsValues();

struct LoadModelOptions {
  /// Partition-rule spec (YAML) to attach and resolve; empty for none.
  std::string rulesFile;
  /// Refuse YAML specs (model and rules) larger than this.
  uint64_t maxSpecBytes;
  /// Refuse YAML specs that unroll to more ops, parameters and inputs
  /// (SpecLimits::maxOps).
  uint64_t maxSpecOps = kDefaultMaxSpecOps;
  /// Replicate parameters no rule matches, with a warning, instead of
  /// failing (nova-apply-partition-rules' allow-unmatched).
  bool allowUnmatched = false;
  /// Sets or clears `int8_activations` on every nova.qmatmul before the
  /// module is verified.
  Numerics numerics = Numerics::AsWritten;
  /// The tool's name, prefixed to messages that have no source location.
  const char *tool = "nova";
};

/// The deepest bracket nesting ((), [], {}, <>) accepted in MLIR text.
/// MLIR's parser, verifier and printer recurse once per level and have no
/// limit of their own, so deeper input would overflow the stack; real IR
/// stays under a few dozen levels.
constexpr unsigned kMaxIrNesting = 512;

/// The offset of the first bracket past kMaxIrNesting levels in `text`
/// (string literals and comments do not count), if any.
std::optional<size_t> findIrNestingOverflow(llvm::StringRef text);

/// Errors, at the first bracket past kMaxIrNesting levels, if buffer
/// `bufferId` of `sourceMgr` nests deeper (string literals and comments
/// do not count). Reported through `sourceMgr` as "file:line:col: error".
LogicalResult checkIrNesting(llvm::SourceMgr &sourceMgr, unsigned bufferId);

/// Errors, at the op, where an op's attributes break an assumption its
/// upstream verifier makes without checking, so that verifying it would read
/// out of bounds (MLIR 22: a `reassociation` with an empty group, as in
/// `tensor.expand_shape %x [[0], [], [1]]`, indexes its first expression).
/// Run it on unverified IR before `verify`.
LogicalResult checkVerifierPreconditions(Operation *root);

/// checkVerifierPreconditions, then `verify`: what a tool runs on IR it
/// parsed without verification.
LogicalResult verifyUntrustedIr(Operation *root);

/// A pass that runs verifyUntrustedIr on its operation: first in nova-opt's
/// MlirOptMain pipeline, which parses without verifying.
std::unique_ptr<Pass> createVerifyUntrustedIrPass();

/// Parses the main buffer of `sourceMgr` (MLIR text from outside Nova):
/// checkIrNesting, parse without verification, verifyUntrustedIr. Returns
/// null after reporting an error.
OwningOpRef<ModuleOp> parseUntrustedIr(MLIRContext &context,
                                       llvm::SourceMgr &sourceMgr);

/// Reads `path` (`.yaml`/`.yml`: a model spec, anything else MLIR through
/// `sourceMgr`, whose handler reports diagnostics; "-" is standard input),
/// attaches and resolves `options.rulesFile`, and verifies the result.
/// Returns null after reporting an error.
OwningOpRef<ModuleOp> loadModel(MLIRContext &context,
                                llvm::SourceMgr &sourceMgr,
                                llvm::StringRef path,
                                const LoadModelOptions &options);

/// loadModel, then the module's contract (derived and attached as
/// `nova.manifest`) into `manifest`. Returns null after reporting an error.
OwningOpRef<ModuleOp> loadModel(MLIRContext &context,
                                llvm::SourceMgr &sourceMgr,
                                llvm::StringRef path,
                                const LoadModelOptions &options,
                                ::nova::rt::ModuleManifest &manifest);

} // namespace mlir::nova

#endif // NOVA_PASSES_DRIVER_LOADMODEL_H
