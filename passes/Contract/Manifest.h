//===- Manifest.h - A module's contract, derived from the IR ----*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The one place that works out a module's contract (nova::rt::ModuleManifest:
// entries, argument order and kinds, parameters with their layouts and
// shardings) from graph-level Nova IR. The manifest is attached to the module
// as the string attribute `nova.manifest` (its JSON) so that it survives
// lowering unchanged: every later stage and tool reads it instead of looking
// at the IR again.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_CONTRACT_MANIFEST_H
#define NOVA_PASSES_CONTRACT_MANIFEST_H

#include "nova/runtime/Manifest.h"

#include "mlir/IR/BuiltinOps.h"

namespace mlir::nova {

/// The module attribute holding the manifest's JSON.
constexpr llvm::StringLiteral kManifestAttrName = "nova.manifest";

/// Derives the manifest of a graph-level module (parameters as nova.param):
/// every public function with a body is an entry. Fails with a diagnostic on
/// an argument type the C ABI cannot carry.
FailureOr<::nova::rt::ModuleManifest> deriveManifest(ModuleOp module);

/// Replaces the module's `nova.manifest` attribute.
void attachManifest(ModuleOp module,
                    const ::nova::rt::ModuleManifest &manifest);

/// The manifest attached to `module`, or, when there is none, the derived
/// one, attached. A malformed attribute is a diagnostic and a failure.
FailureOr<::nova::rt::ModuleManifest> getOrDeriveManifest(ModuleOp module);

/// The manifest attached to `module`; a missing or malformed attribute is a
/// diagnostic and a failure.
FailureOr<::nova::rt::ModuleManifest> readManifest(ModuleOp module);

} // namespace mlir::nova

#endif // NOVA_PASSES_CONTRACT_MANIFEST_H
