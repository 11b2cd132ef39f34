//===- Pipelines.h - Nova's compilation pipelines ---------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_PIPELINES_PIPELINES_H
#define NOVA_PASSES_PIPELINES_PIPELINES_H

#include "passes/Conversion/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace llvm {
class Module;
class TargetMachine;
} // namespace llvm

namespace mlir::nova {

/// Options of the CPU pipeline: the schedule constants of Nova's lowering
/// (convert-nova-to-linalg's options, with its defaults). Nothing about the
/// compiling machine enters the pipeline, so a default-constructed options
/// object gives the same code on any host.
struct CpuPipelineOptions : public PassPipelineOptions<CpuPipelineOptions> {
  Option<int64_t> parallelTiles{
      *this, "parallel-tiles",
      llvm::cl::desc("Column tiles a large contraction is split into across "
                     "threads (at least 1)"),
      llvm::cl::init(ConvertNovaToLinalgPassOptions().parallelTiles)};
  Option<int64_t> parallelWork{
      *this, "parallel-work",
      llvm::cl::desc("Multiply-adds below which a contraction stays on one "
                     "thread"),
      llvm::cl::init(ConvertNovaToLinalgPassOptions().parallelWork)};
  Option<int64_t> parallelSampleWork{
      *this, "parallel-sample-work",
      llvm::cl::desc("Logits (batch * V) below which nova.sample stays on "
                     "one thread"),
      llvm::cl::init(ConvertNovaToLinalgPassOptions().parallelSampleWork)};
  Option<int64_t> maxCollectiveBytes{
      *this, "max-collective-bytes",
      llvm::cl::desc("A collective that moves more bytes per call per device "
                     "is a compile error (0: no limit; nova-spmd-partition)"),
      llvm::cl::init(0)};

  /// The convert-nova-to-linalg options these select.
  ConvertNovaToLinalgPassOptions loweringOptions() const;
};

/// The toolkit the build found (NOVA_CUDA_ROOT), or /usr/local/cuda.
std::string defaultCudaToolkit();

/// Options of the CUDA pipeline (docs/cuda.md). The defaults target Hopper
/// (sm_90a, PTX 8.0); nothing about the compiling machine enters.
struct CudaPipelineOptions : public PassPipelineOptions<CudaPipelineOptions> {
  Option<std::string> chip{*this, "chip",
                           llvm::cl::desc("GPU architecture (sm_XX)"),
                           llvm::cl::init("sm_90a")};
  Option<std::string> features{*this, "features",
                               llvm::cl::desc("PTX features (+ptxNN)"),
                               llvm::cl::init("+ptx80")};
  Option<int64_t> optLevel{*this, "opt-level",
                           llvm::cl::desc("Device code optimization level"),
                           llvm::cl::init(3)};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("Device binary: isa (PTX), bin (cubin) or fatbin"),
      llvm::cl::init("bin")};
  Option<std::string> toolkit{
      *this, "toolkit",
      llvm::cl::desc("CUDA toolkit (ptxas, libdevice) the binary is made with"),
      llvm::cl::init(defaultCudaToolkit())};
  Option<int64_t> blockSize{
      *this, "block-size",
      llvm::cl::desc("Threads per block of every kernel (1..1024)"),
      llvm::cl::init(128)};
  Option<int64_t> parallelTiles{
      *this, "parallel-tiles",
      llvm::cl::desc("Column tiles a contraction is split into (at least 1)"),
      llvm::cl::init(256)};

  /// The convert-nova-to-linalg options these select.
  ConvertNovaToLinalgPassOptions loweringOptions() const;
};

/// Registers every pass the textual pipelines name (once per process).
void registerNovaPipelinePasses();

/// The shared front half of both pipelines as pipeline text: Nova IR to
/// bufferized linalg with the collectives lowered to MPI calls.
std::string bufferPipeline(const ConvertNovaToLinalgPassOptions &lowering,
                           int64_t maxCollectiveBytes);

/// Checks options that upstream passes would crash on or misread: the chip
/// (sm_NN[a]), features (+ptxNN), levels, sizes and that the toolkit has
/// ptxas; the message names the bad option.
LogicalResult checkCudaPipelineOptions(const CudaPipelineOptions &options,
                                       std::string &error);

/// Nova IR to a gpu.binary of NVVM kernels (options.format) and host code in
/// the LLVM dialect whose public functions keep the CPU pipeline's
/// bare-pointer C ABI over device-reachable (managed) buffers; the launches
/// call the mgpu* functions of NovaRuntimeCuda. Fails on invalid options.
LogicalResult buildNovaCudaPipeline(OpPassManager &pm,
                                    const CudaPipelineOptions &options);

/// Nova IR (graph level, parameters as nova.param) to the LLVM dialect with
/// a bare-pointer C ABI: every public function takes its inputs, then its
/// parameters (sorted by path), then caller-allocated outputs.
LogicalResult buildNovaCpuPipeline(OpPassManager &pm,
                                   const CpuPipelineOptions &options);

/// Prepares a lowered module for translation to LLVM IR: drops the `nova.*`
/// argument and result attributes (the ABI names), which it has no use for
/// and would warn about, and the nova.mesh / nova.partition_rules ops, which
/// it would reject (the module's manifest keeps what they said). Run it after
/// the pipeline: nova-collectives-to-mpi reads the meshes.
void stripNovaAbiAttributes(ModuleOp module);

/// Adds weak definitions of the bf16 conversion builtins LLVM may call
/// (__truncsfbf2, __truncdfbf2) to a translated module.
LogicalResult addSoftFloatHelpers(llvm::Module &module);

/// Defines the CPU tier functions a translated module declares
/// (passes/Conversion/CpuTierFunctions.h) for `tm`'s tier, internal and
/// always inlined.
void defineCpuTierFunctions(llvm::Module &module,
                            const llvm::TargetMachine &tm);

/// Tunes a translated module's functions for the target's vector ISA: with
/// AVX-512, kernels use 512-bit vectors (LLVM's default for server x86 tuning
/// is 256 bits; Nova's kernels are throughput-bound and gain from 512).
void tuneForTarget(llvm::Module &module, const llvm::TargetMachine &tm);

/// Registers `nova-cpu-pipeline` and `nova-cuda-pipeline`.
void registerNovaPipelines();

/// Everything a tool running Nova's pipelines needs in its registry: the
/// Nova dialect and every upstream dialect, extension (bufferization and
/// conversion interface models) and LLVM-IR translation.
void registerNovaCompilerDialects(DialectRegistry &registry);

} // namespace mlir::nova

#endif // NOVA_PASSES_PIPELINES_PIPELINES_H
