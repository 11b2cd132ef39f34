//===- MergeGpuModules.cpp - One gpu.module for all of a module's kernels -===//
//
// SPDX-License-Identifier: Apache-2.0
//
// gpu-kernel-outlining gives every kernel a gpu.module of its own; a model
// has hundreds. Gathering them into one gives one PTX/cubin per model (one
// ptxas run, one module load) with each kernel named after its old module.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::nova {
#define GEN_PASS_DEF_MERGEGPUMODULESPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace mlir::nova

using namespace mlir;
using namespace mlir::nova;

namespace {
struct MergeGpuModulesPass
    : public mlir::nova::impl::MergeGpuModulesPassBase<MergeGpuModulesPass> {
  using MergeGpuModulesPassBase::MergeGpuModulesPassBase;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<gpu::GPUModuleOp> modules(module.getOps<gpu::GPUModuleOp>());
    if (modules.empty())
      return;
    MLIRContext *context = &getContext();
    SymbolTable top(module);
    if (top.lookup(moduleName)) {
      module.emitError() << "nova-merge-gpu-modules: the module already has "
                            "a symbol named '"
                         << moduleName << "'";
      return signalPassFailure();
    }
    OpBuilder b(context);
    b.setInsertionPoint(modules.front());
    auto merged = gpu::GPUModuleOp::create(b, modules.front().getLoc(),
                                           moduleName.getValue());
    SymbolTable mergedTable(merged);

    // Old (module, symbol) -> new kernel name, for the launches.
    llvm::DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
    for (gpu::GPUModuleOp old : modules) {
      StringAttr oldName = old.getSymNameAttr();
      // Every symbol of the old module gets a name unique in the merged
      // one: the kernel takes the module's name, helpers a prefix of it.
      for (Operation &op : llvm::make_early_inc_range(*old.getBody())) {
        auto symbol = dyn_cast<SymbolOpInterface>(&op);
        if (!symbol)
          continue;
        StringAttr name = symbol.getNameAttr();
        bool kernel =
            isa<gpu::GPUFuncOp>(op) && cast<gpu::GPUFuncOp>(op).isKernel();
        std::string fresh =
            kernel ? oldName.str()
                   : (oldName.getValue() + "__" + name.getValue()).str();
        StringAttr freshAttr = StringAttr::get(context, fresh);
        if (failed(SymbolTable::replaceAllSymbolUses(&op, freshAttr, old)))
          return signalPassFailure();
        SymbolTable::setSymbolName(&op, freshAttr);
        renamed[{oldName, name}] = freshAttr;
      }
      for (Operation &op : llvm::make_early_inc_range(*old.getBody()))
        op.moveBefore(merged.getBody(), merged.getBody()->end());
    }
    for (gpu::GPUModuleOp old : modules)
      old.erase();

    WalkResult walk = module.walk([&](gpu::LaunchFuncOp launch) {
      auto it =
          renamed.find({launch.getKernelModuleName(), launch.getKernelName()});
      if (it == renamed.end()) {
        launch.emitOpError("launches a kernel of no outlined gpu.module");
        return WalkResult::interrupt();
      }
      launch.setKernelAttr(SymbolRefAttr::get(
          merged.getSymNameAttr(), {FlatSymbolRefAttr::get(it->second)}));
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      signalPassFailure();
  }
};
} // namespace
