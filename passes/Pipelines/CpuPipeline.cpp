//===- CpuPipeline.cpp - Nova IR to LLVM for the host CPU -----------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The pass sequence is the one verified for MLIR 22 in TOOLCHAIN.md (§1.2),
// with Nova's lowering in front and a bare-pointer calling convention.
//
//===----------------------------------------------------------------------===//

#include "passes/Pipelines/Pipelines.h"

#include "dialect/BufferizableOpInterfaceImpl.h"
#include "dialect/NovaDialect.h"
#include "dialect/NovaOps.h"
#include "passes/Conversion/Passes.h"
#include "passes/Partition/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/Support/FormatVariadic.h"

#include <mutex>

using namespace mlir;
using namespace mlir::nova;

/// Graph level to buffers; {0} is convert-nova-to-linalg's options, {1}
/// the collective budget. A module whose mesh has more than one device
/// becomes one device's program first (nova-spmd-partition; a no-op
/// otherwise).
/// The SPMD collectives stay Nova ops through bufferization (their buffer
/// form) and become MPI calls right after deallocation is settled, while the
/// meshes they name are still in the module (stripNovaAbiAttributes erases
/// those after the pipeline).
static constexpr const char *kToBuffers =
    "nova-check-cpu-input,"
    "nova-spmd-partition{{max-collective-bytes={1}},nova-params-to-args,{2}"
    "func.func(convert-nova-to-linalg{0},convert-elementwise-to-linalg,"
    "canonicalize,cse,linalg-fuse-elementwise-ops,canonicalize),"
    "eliminate-empty-tensors,func.func(nova-distinct-results),"
    "one-shot-bufferize{{bufferize-function-boundaries "
    "function-boundary-type-conversion=identity-layout-map},"
    "buffer-results-to-out-params{{hoist-static-allocs "
    "modify-public-functions},"
    "buffer-deallocation-pipeline,nova-collectives-to-mpi";

/// Buffers to loops, the parallel ones on OpenMP threads.
static constexpr const char *kToLoops =
    "func.func(convert-linalg-to-loops,scf-forall-to-parallel),"
    "convert-scf-to-openmp,canonicalize,cse";

/// Loops on buffers to the LLVM dialect.
static constexpr const char *kToLLVM =
    "arith-emulate-unsupported-floats{source-types=bf16,f16 target-type=f32},"
    "arith-expand{include-bf16=true},"
    "convert-math-to-llvm,convert-math-to-libm,convert-scf-to-cf,"
    "convert-vector-to-llvm,"
    "expand-strided-metadata,lower-affine,finalize-memref-to-llvm,"
    "convert-arith-to-llvm,convert-index-to-llvm,"
    "convert-func-to-llvm{use-bare-ptr-memref-call-conv=1},"
    "convert-cf-to-llvm,convert-ub-to-llvm,convert-openmp-to-llvm,"
    "reconcile-unrealized-casts";

ConvertNovaToLinalgPassOptions CpuPipelineOptions::loweringOptions() const {
  ConvertNovaToLinalgPassOptions options;
  options.parallelTiles = parallelTiles;
  options.parallelWork = parallelWork;
  options.parallelSampleWork = parallelSampleWork;
  // Resolved per CPU tier when the LLVM IR is optimized.
  options.bf16Dot = true;
  return options;
}

void mlir::nova::registerNovaPipelinePasses() {
  // The textual pipelines name registered passes: register them once, so
  // that every client (tools, tests, benchmarks, embedders) can build them.
  static std::once_flag registered;
  std::call_once(registered, [] {
    registerAllPasses();
    registerNovaConversionPasses();
    registerNovaPartitionPasses();
  });
}

std::string
mlir::nova::bufferPipeline(const ConvertNovaToLinalgPassOptions &lowering,
                           int64_t maxCollectiveBytes) {
  return llvm::formatv(
      kToBuffers,
      llvm::formatv("{{parallel-tiles={0} parallel-work={1} "
                    "parallel-sample-work={2} bf16-dot={3}}",
                    lowering.parallelTiles, lowering.parallelWork,
                    lowering.parallelSampleWork, lowering.bf16Dot ? 1 : 0),
      maxCollectiveBytes,
      lowering.bf16Dot ? "nova-declare-cpu-tier-functions," : "");
}

LogicalResult
mlir::nova::buildNovaCpuPipeline(OpPassManager &pm,
                                 const CpuPipelineOptions &options) {
  registerNovaPipelinePasses();
  std::string text = bufferPipeline(options.loweringOptions(),
                                    options.maxCollectiveBytes.getValue()) +
                     "," + kToLoops + "," + kToLLVM;
  return parsePassPipeline(text, pm);
}

void mlir::nova::registerNovaPipelines() {
  PassPipelineRegistration<CpuPipelineOptions>(
      "nova-cpu-pipeline",
      "Lower Nova IR to the LLVM dialect for the host CPU (bare-pointer C "
      "ABI: inputs, parameters sorted by path, caller-owned outputs)",
      [](OpPassManager &pm, const CpuPipelineOptions &options) {
        if (failed(buildNovaCpuPipeline(pm, options)))
          llvm::report_fatal_error("nova-cpu-pipeline failed to build");
      });
  PassPipelineRegistration<CudaPipelineOptions>(
      "nova-cuda-pipeline",
      "Lower Nova IR to NVVM kernels in a gpu.binary (PTX, cubin or fatbin) "
      "and host code in the LLVM dialect calling Nova's CUDA runtime "
      "(docs/cuda.md)",
      [](OpPassManager &pm, const CudaPipelineOptions &options) {
        std::string error;
        if (failed(checkCudaPipelineOptions(options, error)) ||
            failed(buildNovaCudaPipeline(pm, options)))
          llvm::report_fatal_error(
              llvm::Twine("nova-cuda-pipeline: ") +
                  (error.empty() ? "cannot build the pipeline" : error),
              /*gen_crash_diag=*/false);
      });
}

void mlir::nova::registerNovaCompilerDialects(DialectRegistry &registry) {
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<NovaDialect>();
  registerBufferizableOpInterfaceExternalModels(registry);
}

void mlir::nova::stripNovaAbiAttributes(ModuleOp module) {
  // Meshes and partition rules describe the contract (the manifest records
  // them); one device's program has no code for them, and LLVM IR
  // translation would reject them.
  for (Operation &op : llvm::make_early_inc_range(*module.getBody()))
    if (isa<MeshOp, PartitionRulesOp>(op))
      op.erase();
  module.walk([](Operation *op) {
    auto func = dyn_cast<FunctionOpInterface>(op);
    if (!func)
      return;
    auto strip = [](DictionaryAttr attrs) -> DictionaryAttr {
      if (!attrs)
        return attrs;
      SmallVector<NamedAttribute> kept;
      for (NamedAttribute a : attrs)
        if (!a.getName().getValue().starts_with("nova."))
          kept.push_back(a);
      return DictionaryAttr::get(attrs.getContext(), kept);
    };
    for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
      func.setArgAttrs(i, strip(func.getArgAttrDict(i)));
    for (unsigned i = 0, e = func.getNumResults(); i < e; ++i)
      func.setResultAttrs(i, strip(func.getResultAttrDict(i)));
  });
}
