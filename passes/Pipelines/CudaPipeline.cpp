//===- CudaPipeline.cpp - Nova IR to NVVM kernels and host code -----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The CPU pipeline's graph-to-buffers half, then MLIR's gpu path
// (TOOLCHAIN.md §2 and §8): parallel loops become gpu.launch regions and
// kernels, the kernels NVVM and PTX/cubin through gpu-module-to-binary, the
// host code LLVM calling the mgpu* launch functions of Nova's CUDA runtime.
//
//===----------------------------------------------------------------------===//

#include "passes/Pipelines/Pipelines.h"

#include "passes/Conversion/Passes.h"
#include "passes/Partition/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;
using namespace mlir::nova;

#ifndef NOVA_CUDA_ROOT
#define NOVA_CUDA_ROOT "/usr/local/cuda"
#endif

std::string mlir::nova::defaultCudaToolkit() { return NOVA_CUDA_ROOT; }

/// Buffers to GPU kernels and host code; {0} is the thread-block size.
/// Every outermost parallel loop (linalg's, and the lowering's scf.forall
/// tiles) becomes a kernel whose threads take its last dimension
/// (nova-gpu-map-loops). No canonicalization between the mapping's tiling
/// and the conversion: it would merge the tiled loops again.
static constexpr const char *kToKernels =
    "func.func(convert-linalg-to-parallel-loops,scf-forall-to-parallel,"
    "canonicalize,nova-gpu-map-loops{{block-size={0}},"
    "convert-parallel-loops-to-gpu,nova-gpu-host-memory),"
    "gpu-kernel-outlining,nova-merge-gpu-modules,canonicalize,cse";

/// Kernels to NVVM ({0} chip, {1} features, {2} -O level), host code to the
/// LLVM dialect, then the kernels to a binary ({3} format, {4} toolkit).
/// The bf16 emulation and arith expansion run on both sides, as on the CPU,
/// so that kernels and host round alike.
static constexpr const char *kToBinary =
    "nvvm-attach-target{{chip={0} features={1} O={2}},"
    "arith-emulate-unsupported-floats{{source-types=bf16,f16 "
    "target-type=f32},"
    "arith-expand{{include-bf16=true},convert-scf-to-cf,"
    "gpu.module(nova-gpu-exact-math,expand-strided-metadata,lower-affine,"
    "convert-gpu-to-nvvm,"
    "canonicalize,cse,reconcile-unrealized-casts),"
    "convert-math-to-llvm,convert-math-to-libm,expand-strided-metadata,"
    "lower-affine,finalize-memref-to-llvm,convert-arith-to-llvm,"
    "convert-index-to-llvm,"
    "convert-func-to-llvm{{use-bare-ptr-memref-call-conv=1},"
    "convert-cf-to-llvm,convert-ub-to-llvm,gpu-to-llvm,"
    "gpu-module-to-binary{{format={3} toolkit={4}},"
    "reconcile-unrealized-casts";

ConvertNovaToLinalgPassOptions CudaPipelineOptions::loweringOptions() const {
  ConvertNovaToLinalgPassOptions options;
  options.parallelTiles = parallelTiles;
  // Every contraction and sample is a parallel loop: on the host it would
  // run on managed memory.
  options.parallelWork = 0;
  options.parallelSampleWork = 0;
  return options;
}

/// Whether `text` is `prefix` followed by digits and at most one letter
/// (sm_90, sm_90a, +ptx80).
static bool isVersioned(StringRef text, StringRef prefix) {
  if (!text.consume_front(prefix) || text.empty() ||
      !llvm::isDigit(text.front()))
    return false;
  StringRef digits = text.take_while(llvm::isDigit);
  StringRef rest = text.drop_front(digits.size());
  return rest.empty() || (rest.size() == 1 && llvm::isAlpha(rest.front()));
}

LogicalResult
mlir::nova::checkCudaPipelineOptions(const CudaPipelineOptions &options,
                                     std::string &error) {
  auto fail = [&](const llvm::Twine &message) {
    error = message.str();
    return failure();
  };
  if (!isVersioned(options.chip, "sm_"))
    return fail("chip '" + options.chip +
                "' is not a GPU architecture "
                "sm_NN[a] (e.g. sm_90a)");
  SmallVector<StringRef> features;
  StringRef(options.features).split(features, ',', -1, false);
  for (StringRef feature : features)
    if (!isVersioned(feature, "+ptx"))
      return fail("features '" + options.features +
                  "' are not +ptxNN "
                  "(e.g. +ptx80)");
  if (options.optLevel < 0 || options.optLevel > 3)
    return fail("opt-level must be 0..3, got " +
                llvm::Twine(options.optLevel.getValue()));
  if (options.format != "isa" && options.format != "bin" &&
      options.format != "fatbin")
    return fail("format must be isa, bin or fatbin, got '" + options.format +
                "'");
  if (options.blockSize < 1 || options.blockSize > 1024)
    return fail("block-size must be 1..1024, got " +
                llvm::Twine(options.blockSize.getValue()));
  if (options.parallelTiles < 1)
    return fail("parallel-tiles must be at least 1, got " +
                llvm::Twine(options.parallelTiles.getValue()));
  std::string ptxas = options.toolkit + "/bin/ptxas";
  if (!llvm::sys::fs::can_execute(ptxas))
    return fail("toolkit '" + options.toolkit +
                "' has no bin/ptxas (the "
                "CUDA toolkit makes the device binary)");
  return success();
}

LogicalResult
mlir::nova::buildNovaCudaPipeline(OpPassManager &pm,
                                  const CudaPipelineOptions &options) {
  registerNovaPipelinePasses();
  std::string error;
  if (failed(checkCudaPipelineOptions(options, error)))
    return failure();
  ConvertNovaToLinalgPassOptions lowering = options.loweringOptions();
  std::string text =
      bufferPipeline(lowering, 0) + "," +
      llvm::formatv(kToKernels, options.blockSize.getValue()).str() + "," +
      llvm::formatv(kToBinary, options.chip.getValue(),
                    options.features.getValue(), options.optLevel.getValue(),
                    options.format.getValue(), options.toolkit.getValue())
          .str();
  return parsePassPipeline(text, pm);
}
