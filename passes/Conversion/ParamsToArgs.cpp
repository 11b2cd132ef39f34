//===- ParamsToArgs.cpp - nova.param ops to function arguments ------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/Passes.h"

#include "dialect/NovaOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

#include <map>

namespace mlir::nova {
#define GEN_PASS_DEF_PARAMSTOARGSPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace mlir::nova

using namespace mlir;
using namespace mlir::nova;

namespace {
struct ParamsToArgsPass : nova::impl::ParamsToArgsPassBase<ParamsToArgsPass> {
  using Base::Base;
  void runOnOperation() override {
    Builder b(&getContext());
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      // Inputs are read only in the ABI (docs/abi.md): bufferization copies
      // before updating one in place.
      for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
        func.setArgAttr(i, "bufferization.writable", b.getBoolAttr(false));
      // Sorted by path: a stable, documented argument order.
      std::map<std::string, SmallVector<ParamOp>> byPath;
      func.walk([&](ParamOp op) { byPath[op.getPath().str()].push_back(op); });
      for (auto &[path, ops] : byPath) {
        ParamOp first = ops.front();
        auto add = [&](Value value, const std::string &name) -> Value {
          unsigned index = func.getNumArguments();
          // Parameters are read-only (often an mmap'ed checkpoint): tell
          // bufferization never to write into them.
          NamedAttribute attrs[] = {
              b.getNamedAttr("nova.param", b.getStringAttr(name)),
              b.getNamedAttr("bufferization.writable", b.getBoolAttr(false))};
          if (failed(func.insertArgument(index, value.getType(),
                                         b.getDictionaryAttr(attrs),
                                         first.getLoc())))
            return Value();
          return func.getArgument(index);
        };
        Value weight = add(first.getValue(), path);
        Value scales = first.isQuantized()
                           ? add(first.getScales(), path + ".scales")
                           : Value();
        if (!weight || (first.isQuantized() && !scales)) {
          first.emitError() << "cannot add an argument for this parameter";
          return signalPassFailure();
        }
        for (ParamOp op : ops) {
          op.getValue().replaceAllUsesWith(weight);
          if (op.isQuantized())
            op.getScales().replaceAllUsesWith(scales);
          op.erase();
        }
      }
    }
  }
};
} // namespace
