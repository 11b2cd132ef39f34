//===- DeclareCpuTierFunctions.cpp - Declare the per-tier functions -------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/CpuTierFunctions.h"
#include "passes/Conversion/Passes.h"

#include "mlir/IR/SymbolTable.h"

namespace mlir::nova {
#define GEN_PASS_DEF_DECLARECPUTIERFUNCTIONSPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace mlir::nova

using namespace mlir;
using namespace mlir::nova;

namespace {

struct DeclareCpuTierFunctionsPass
    : nova::impl::DeclareCpuTierFunctionsPassBase<DeclareCpuTierFunctionsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
    Type i1 = b.getI1Type();
    auto f32Vec = VectorType::get({16}, b.getF32Type());
    auto i32Vec = VectorType::get({16}, b.getI32Type());
    std::pair<StringRef, FunctionType> functions[] = {
        {kCpuHasBf16Dot, b.getFunctionType({}, {i1})},
        {kCpuDotBf16Pairs,
         b.getFunctionType({f32Vec, i32Vec, i32Vec}, {f32Vec})},
    };
    for (auto [name, type] : functions) {
      if (auto existing = module.lookupSymbol<func::FuncOp>(name)) {
        if (existing.getFunctionType() != type) {
          existing.emitError() << "'" << name << "' is Nova's CPU tier "
                               << "function of type " << type;
          return signalPassFailure();
        }
        continue;
      }
      if (Operation *other = module.lookupSymbol(name)) {
        other->emitError() << "the symbol '" << name
                           << "' is reserved for Nova's CPU tier functions";
        return signalPassFailure();
      }
      auto f = func::FuncOp::create(b, module.getLoc(), name, type);
      f.setPrivate();
    }
  }
};

} // namespace
