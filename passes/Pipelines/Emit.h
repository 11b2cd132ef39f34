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
// one as weight then scales), then outputs: the order of the module's
// manifest (passes/Contract), which every artifact here is written from. An
// SPMD module's entries also take `int32_t comm` (an MPICH MPI_Comm, by
// value) right after the inputs, and their `_args` variant takes it as a
// second argument beside the array of buffers.
// Everything here is deterministic: identical inputs and flags give
// byte-identical artifacts.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_PIPELINES_EMIT_H
#define NOVA_PASSES_PIPELINES_EMIT_H

#include "passes/Pipelines/Pipelines.h"

#include "nova/runtime/Manifest.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
} // namespace llvm

namespace mlir {
class PassManager;
} // namespace mlir

namespace mlir::nova {

/// Applied to every pass manager of the compile step before its passes are
/// added: what a tool's user asked for (mlir-opt's IR printing, statistics,
/// timing, crash reproducers). Empty: nothing.
using PassManagerSetup = llvm::function_ref<LogicalResult(PassManager &)>;

/// Whether `prefix` can start a C identifier: empty, or letters, digits and
/// '_' not starting with a digit. Otherwise `error` says why.
bool isValidSymbolPrefix(llvm::StringRef prefix, std::string &error);

/// Renames every public function `f` to `<prefix>f` and records the
/// symbols in the module's manifest (derived first if there is none). An
/// invalid prefix (isValidSymbolPrefix) is an error at the module.
LogicalResult prefixEntryPoints(ModuleOp module, llvm::StringRef prefix);

/// Writes the self-contained C header for the manifest's entries. The
/// include guard is derived from the full model name, `prefix` and a hash of
/// the declarations, so headers of different models (or of one model with
/// different prefixes or shapes) never share a guard, and the same inputs
/// always give the same bytes.
void emitHeader(const ::nova::rt::ModuleManifest &manifest,
                llvm::StringRef prefix, llvm::StringRef source,
                llvm::raw_ostream &os);

/// The target `cpu` resolves to ("native" = the host CPU and its features).
/// A name LLVM does not know for the host's architecture is an error listing
/// the valid names (and the closest one).
FailureOr<::nova::rt::ManifestTarget> describeTarget(llvm::StringRef cpu,
                                                     std::string &error);

/// The instruction-set features (LLVM names, those an object's CPU check
/// looks at) of every tier `cpu` names that the host CPU lacks: empty when
/// the host runs all of them. An invalid `cpu` is an error.
FailureOr<std::vector<std::string>> featuresHostLacks(llvm::StringRef cpu,
                                                      std::string &error);

/// Succeeds when the host runs every tier `cpu` names; otherwise `error`
/// names the features it lacks ("the host CPU cannot run code for ...").
LogicalResult checkHostRuns(llvm::StringRef cpu, std::string &error);

/// The instruction-set features (as featuresHostLacks names them) of the
/// CPU `cpu` names ("native": the host; for a list of tiers, the last).
FailureOr<std::vector<std::string>> cpuFeatures(llvm::StringRef cpu,
                                                std::string &error);

/// Lowers `module` in place with nova-cpu-pipeline (with `options`) and
/// translates it to an LLVM module for `cpu` ("native" = the host CPU and its
/// features), optimized at -O3, with the bf16 conversion helpers linked in.
///
/// With `progress`, each phase of the compile (nova-cpu-pipeline, LLVM -O3,
/// code generation) gets a line on it when it starts and one with its time
/// when it ends: what a long compile shows on a terminal.
///
/// `setup` is applied to the pass manager of nova-cpu-pipeline.
FailureOr<std::unique_ptr<llvm::Module>>
lowerToLLVMIR(ModuleOp module, llvm::LLVMContext &context, llvm::StringRef cpu,
              const CpuPipelineOptions &options, std::string &error,
              llvm::raw_ostream *progress = nullptr,
              PassManagerSetup setup = {});

/// Adds `void <symbol>_args(void *const *args)` for every entry: the
/// same call with the arguments passed as an array of pointers in ABI order
/// (what generic callers and the argument tables of the header use). For an
/// SPMD entry it is `<symbol>_args(void *const *args, int32_t comm)`: the
/// array holds the buffers only.
void addPackedEntryPoints(llvm::Module &module,
                          const ::nova::rt::ModuleManifest &manifest);

/// The whole compile step: lowerToLLVMIR (the module is lowered in place),
/// addPackedEntryPoints and emitObject, giving the object for `module` and
/// `cpu`. With a `cacheDirectory` (objectCacheDirectory()), an object stored
/// there for the same module, target, options and compiler is returned
/// instead, and a new one is stored (`*hit` says which happened); a cache
/// that cannot be written costs a warning on stderr, never the compile.
///
/// With `checkCpu` (objects for other machines: nova-opt --emit=obj), every
/// entry first checks, once per process, that the CPU has the instruction
/// set features `cpu` enables and otherwise aborts naming the missing ones
/// (never SIGILL); code JIT-compiled for the host needs no check.
FailureOr<std::string> compileObject(
    ModuleOp module, llvm::StringRef cpu, const CpuPipelineOptions &options,
    const std::optional<std::string> &cacheDirectory, std::string &error,
    bool *hit = nullptr, llvm::raw_ostream *progress = nullptr,
    PassManagerSetup setup = {}, bool checkCpu = false);

/// Object code (ELF, position independent) for `module` and `cpu`.
LogicalResult emitObject(llvm::Module &module, llvm::StringRef cpu,
                         llvm::raw_pwrite_stream &os, std::string &error);

/// What compileCuda produces.
enum class CudaArtifact {
  Ptx,       // the kernels as PTX text
  Cubin,     // the kernels as a cubin for the chip
  Fatbin,    // a fatbin: the cubin and the PTX
  HostLLVM,  // the host code (kernels embedded) as LLVM IR text
  HostObject // the host code as an object file for `hostCpu`
};

/// Compiles `module` (lowered in place) through nova-cuda-pipeline. The
/// device artifacts are the kernels of the whole module in one binary; the
/// host artifacts embed them (format from `options`) and keep the CPU
/// object's entry points, `_args` wrappers and tier query (an object also
/// its CPU check; docs/abi.md), over buffers
/// the device can reach (docs/cuda.md). The manifest records target kind
/// "cuda" with the chip. SPMD modules are an error.
FailureOr<std::string>
compileCuda(ModuleOp module, CudaArtifact artifact, llvm::StringRef hostCpu,
            const CudaPipelineOptions &options, std::string &error,
            llvm::raw_ostream *progress = nullptr, PassManagerSetup setup = {});

} // namespace mlir::nova

#endif // NOVA_PASSES_PIPELINES_EMIT_H
