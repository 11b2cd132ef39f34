//===- Emit.h - Nova's artifacts: ABI, C header, LLVM IR, objects -*- C++ -*-=//
//
// SPDX-License-Identifier: Apache-2.0
//
// The compile step's outputs. Every public function of a module becomes a C
// function with caller-owned buffers (docs/abi.md):
//
//   void <prefix><entry>(const T0 *input0, ..., const P0 *param0, ...,
//                        R0 *output0, ...);
//
// inputs in signature order, then parameters sorted by path (a quantized
// one as weight then scales), then outputs. Everything here is
// deterministic: identical inputs and flags give byte-identical artifacts.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_PIPELINES_EMIT_H
#define NOVA_PASSES_PIPELINES_EMIT_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace mlir::nova {

/// One argument of a compiled entry point.
struct AbiArg {
  enum Kind { Input, Param, Output } kind;
  /// Input/output name (`nova.name`, else argN/resultN) or parameter name
  /// (`<path>` or `<path>.scales`).
  std::string name;
  /// Element type as Nova spells it: f32, bf16, f16, i8, i32, i64, i1.
  std::string dtype;
  std::vector<int64_t> shape;
};

struct EntryAbi {
  /// The function's name in the module (the symbol gets the prefix).
  std::string name;
  std::vector<AbiArg> args;
};

/// The ABI of every public function of a graph-level module (before
/// lowering). Fails with a diagnostic on a type the ABI cannot carry.
FailureOr<std::vector<EntryAbi>> describeAbi(ModuleOp module);

/// Renames every public function `f` to `<prefix>f`.
void prefixEntryPoints(ModuleOp module, llvm::StringRef prefix);

/// Writes the self-contained C header for `entries` (symbols `<prefix>f`).
void emitHeader(llvm::ArrayRef<EntryAbi> entries, llvm::StringRef prefix,
                llvm::StringRef source, llvm::raw_ostream &os);

/// Lowers `module` in place with nova-cpu-pipeline and translates it to an
/// LLVM module for `cpu` ("native" = the host CPU and its features),
/// optimized at -O3, with the bf16 conversion helpers linked in.
FailureOr<std::unique_ptr<llvm::Module>>
lowerToLLVMIR(ModuleOp module, llvm::LLVMContext &context, llvm::StringRef cpu,
              std::string &error);

/// Adds `void <prefix><entry>_args(void *const *args)` for every entry: the
/// same call with the arguments passed as an array of pointers in ABI order
/// (what generic callers and the argument tables of the header use).
void addPackedEntryPoints(llvm::Module &module,
                          llvm::ArrayRef<EntryAbi> entries,
                          llvm::StringRef prefix);

/// Object code (ELF, position independent) for `module` and `cpu`.
LogicalResult emitObject(llvm::Module &module, llvm::StringRef cpu,
                         llvm::raw_pwrite_stream &os, std::string &error);

} // namespace mlir::nova

#endif // NOVA_PASSES_PIPELINES_EMIT_H
