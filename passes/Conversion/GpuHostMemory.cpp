//===- GpuHostMemory.cpp - Host buffers the GPU can reach -----------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// After convert-parallel-loops-to-gpu, a function's parallel loops are
// gpu.launch regions and everything else (sequential loops, scalar code,
// copies) still runs on the host, on the same buffers. Allocating those
// buffers as host-shared (managed) memory makes them valid on both sides:
// the launches synchronize before the host reads what a kernel wrote.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::nova {
#define GEN_PASS_DEF_GPUHOSTMEMORYPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace mlir::nova

using namespace mlir;
using namespace mlir::nova;

namespace {
bool insideLaunch(Operation *op) {
  return op->getParentOfType<gpu::LaunchOp>() != nullptr;
}

/// Whether a kernel reads or writes `value`'s buffer directly.
bool usedByKernel(Value value) {
  for (OpOperand &use : value.getUses())
    if (insideLaunch(use.getOwner()) ||
        llvm::any_of(use.getOwner()->getResults(), usedByKernel))
      return true;
  return false;
}

/// Frees `memref` (a gpu.alloc): gpu-to-llvm lowers only the asynchronous
/// form of gpu.dealloc, so it runs on a stream of its own that is waited on.
void createFree(OpBuilder &b, Location loc, Value memref) {
  Type token = gpu::AsyncTokenType::get(b.getContext());
  Value stream = gpu::WaitOp::create(b, loc, token, ValueRange()).getResult(0);
  Value done = gpu::DeallocOp::create(b, loc, token, ValueRange{stream}, memref)
                   .getAsyncToken();
  gpu::WaitOp::create(b, loc, Type(), ValueRange{done});
}

struct GpuHostMemoryPass
    : public mlir::nova::impl::GpuHostMemoryPassBase<GpuHostMemoryPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<Operation *> allocs, deallocs, globals, kernelAllocs;
    WalkResult walk = func.walk([&](Operation *op) {
      if (insideLaunch(op)) {
        auto alloc = dyn_cast<memref::AllocOp>(op);
        if (alloc && !alloc.getType().hasStaticShape()) {
          op->emitOpError("is a buffer of dynamic size inside a GPU kernel; "
                          "the kernels allocate only fixed-size scratch");
          return WalkResult::interrupt();
        }
        if (alloc)
          kernelAllocs.push_back(op);
        return WalkResult::advance();
      }
      if (isa<memref::AllocOp>(op))
        allocs.push_back(op);
      else if (isa<memref::DeallocOp>(op))
        deallocs.push_back(op);
      else if (isa<memref::GetGlobalOp>(op) && usedByKernel(op->getResult(0)))
        globals.push_back(op);
      else if (isa<memref::AllocaOp>(op) && usedByKernel(op->getResult(0))) {
        op->emitOpError("is a host stack buffer that a GPU kernel uses; "
                        "the GPU cannot reach it");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    OpBuilder b(&getContext());
    // A kernel's scratch is per thread: a stack buffer at the top of the
    // launch body (its contents start undefined either way), never the
    // device heap.
    for (Operation *op : kernelAllocs) {
      auto alloc = cast<memref::AllocOp>(op);
      auto launch = op->getParentOfType<gpu::LaunchOp>();
      b.setInsertionPointToStart(&launch.getBody().front());
      auto scratch = memref::AllocaOp::create(
          b, alloc.getLoc(), alloc.getType(), alloc.getAlignmentAttr());
      alloc.replaceAllUsesWith(scratch.getResult());
      alloc.erase();
    }
    WalkResult frees = func.walk([&](memref::DeallocOp dealloc) {
      if (!insideLaunch(dealloc))
        return WalkResult::advance();
      Value root = dealloc.getMemref();
      while (auto view = root.getDefiningOp<ViewLikeOpInterface>())
        root = view.getViewSource();
      if (!root.getDefiningOp<memref::AllocaOp>()) {
        dealloc.emitOpError("frees a buffer inside a GPU kernel that the "
                            "kernel did not allocate");
        return WalkResult::interrupt();
      }
      dealloc.erase();
      return WalkResult::advance();
    });
    if (frees.wasInterrupted())
      return signalPassFailure();
    for (Operation *op : allocs) {
      auto alloc = cast<memref::AllocOp>(op);
      b.setInsertionPoint(alloc);
      auto shared = gpu::AllocOp::create(
          b, alloc.getLoc(), alloc.getType(), /*asyncToken=*/Type(),
          /*asyncDependencies=*/ValueRange(), alloc.getDynamicSizes(),
          alloc.getSymbolOperands(), /*hostShared=*/true);
      alloc.replaceAllUsesWith(shared.getMemref());
      alloc.erase();
    }
    for (Operation *op : deallocs) {
      auto dealloc = cast<memref::DeallocOp>(op);
      b.setInsertionPoint(dealloc);
      createFree(b, dealloc.getLoc(), dealloc.getMemref());
      dealloc.erase();
    }
    // A constant a kernel reads is copied once per call into shared memory
    // (the global itself lives in the host image), freed before returning.
    for (Operation *op : globals) {
      auto global = cast<memref::GetGlobalOp>(op);
      auto type = cast<MemRefType>(global.getType());
      if (!type.hasStaticShape() || !type.getLayout().isIdentity()) {
        global.emitOpError("is a global a GPU kernel reads; only static, "
                           "row-major globals can be copied to it");
        return signalPassFailure();
      }
      b.setInsertionPointAfter(global);
      auto shared =
          gpu::AllocOp::create(b, global.getLoc(), type, Type(), ValueRange(),
                               ValueRange(), ValueRange(), /*hostShared=*/true);
      auto copy = memref::CopyOp::create(b, global.getLoc(), global.getResult(),
                                         shared.getMemref());
      global.getResult().replaceAllUsesExcept(shared.getMemref(), copy);
      func.walk([&](func::ReturnOp ret) {
        b.setInsertionPoint(ret);
        createFree(b, global.getLoc(), shared.getMemref());
      });
    }
  }
};
} // namespace
