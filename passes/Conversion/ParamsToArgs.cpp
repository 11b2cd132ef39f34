//===- ParamsToArgs.cpp - nova.param ops to function arguments ------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "dialect/NovaRuntimeTypes.h"
#include "passes/Contract/Manifest.h"
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
namespace rt = ::nova::rt;

/// Appends the arguments of `entry`'s parameters, in the manifest's order,
/// and replaces `func`'s nova.param ops with them. A parameter the manifest
/// lists but the body no longer uses still gets its argument: the ABI is the
/// manifest's, whatever canonicalization removed.
static LogicalResult paramsToArgs(func::FuncOp func,
                                  const rt::ManifestEntry &entry) {
  Builder b(func.getContext());
  // The communicator stays where the manifest puts it, right after the
  // inputs: the parameters are appended after it.
  std::optional<size_t> comm = entry.communicatorIndex();
  for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i) {
    bool isComm = static_cast<bool>(func.getArgAttr(i, "nova.communicator"));
    if (isComm != (comm == i) || (comm && *comm + 1 != e))
      return func.emitError()
             << "the communicator of entry '" << entry.name << "' must be "
             << "argument " << (comm ? std::to_string(*comm) : "<none>")
             << ", its last, as the manifest says (docs/abi.md)";
    // Inputs are read only in the ABI (docs/abi.md): bufferization copies
    // before updating one in place.
    if (isa<TensorType>(func.getArgumentTypes()[i]))
      func.setArgAttr(i, "bufferization.writable", b.getBoolAttr(false));
  }
  std::map<std::string, SmallVector<ParamOp>> byPath;
  func.walk([&](ParamOp op) { byPath[op.getPath().str()].push_back(op); });
  std::map<std::string, Value> args;
  for (const rt::ManifestArg &arg : entry.args) {
    if (!arg.isParameter())
      continue;
    unsigned index = func.getNumArguments();
    // Parameters are read-only (often an mmap'ed checkpoint): tell
    // bufferization never to write into them.
    NamedAttribute attrs[] = {
        b.getNamedAttr("nova.param", b.getStringAttr(arg.name)),
        b.getNamedAttr("bufferization.writable", b.getBoolAttr(false))};
    auto type = RankedTensorType::get(
        arg.shape, elementTypeOf(func.getContext(), arg.dtype));
    auto it = byPath.find(arg.paramPath());
    Location loc =
        it == byPath.end() ? func.getLoc() : it->second.front().getLoc();
    if (failed(
            func.insertArgument(index, type, b.getDictionaryAttr(attrs), loc)))
      return func.emitError()
             << "cannot add an argument for parameter '" << arg.name << "'";
    args[arg.name] = func.getArgument(index);
  }
  for (auto &[path, ops] : byPath) {
    auto weight = args.find(path);
    if (weight == args.end())
      return ops.front().emitError()
             << "parameter '" << path << "' is not in the module's manifest "
             << "entry '" << entry.name << "'";
    for (ParamOp op : ops) {
      if (op.getValue().getType() != weight->second.getType() ||
          (op.isQuantized() &&
           op.getScales().getType() != args[path + ".scales"].getType()))
        return op.emitError() << "parameter '" << path
                              << "' differs from its manifest declaration";
      op.getValue().replaceAllUsesWith(weight->second);
      if (op.isQuantized())
        op.getScales().replaceAllUsesWith(args[path + ".scales"]);
      op.erase();
    }
  }
  return success();
}

namespace {
struct ParamsToArgsPass
    : mlir::nova::impl::ParamsToArgsPassBase<ParamsToArgsPass> {
  using Base::Base;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    FailureOr<rt::ModuleManifest> manifest = getOrDeriveManifest(module);
    if (failed(manifest))
      return signalPassFailure();
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      const rt::ManifestEntry *entry = manifest->entryBySymbol(func.getName());
      if (!entry) {
        // Private helpers take no parameters of their own.
        bool usesParams = false;
        func.walk([&](ParamOp) { usesParams = true; });
        if (usesParams) {
          func.emitError() << "a function outside the module's manifest uses "
                              "parameters";
          return signalPassFailure();
        }
        continue;
      }
      if (failed(paramsToArgs(func, *entry)))
        return signalPassFailure();
    }
  }
};
} // namespace
