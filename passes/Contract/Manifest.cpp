//===- Manifest.cpp - A module's contract, derived from the IR ------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Contract/Manifest.h"

#include "dialect/NovaDialect.h"
#include "dialect/NovaRuntimeTypes.h"
#include "dialect/NovaSharding.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

using namespace mlir;
using namespace mlir::nova;
namespace rt = ::nova::rt;

//===----------------------------------------------------------------------===//
// Derivation
//===----------------------------------------------------------------------===//

static rt::ManifestParam describeParam(ParamOp op) {
  rt::ManifestParam p;
  p.path = op.getPath().str();
  p.location = formatFileLocation(op.getLoc());
  // The verifier guarantees static, runtime-representable parameter types.
  p.dtype = *runtimeTypeOf(op.getValue().getType(), p.shape);
  if (op.isQuantized()) {
    p.quantized = true;
    p.scalesDType = *runtimeTypeOf(op.getScales().getType(), p.scalesShape);
    llvm::raw_string_ostream os(p.scaleLayout);
    os << *op.getScaleLayout();
  }
  if (std::optional<ShardingAttr> sharding = op.getSharding()) {
    p.mesh = sharding->getMesh().getValue().str();
    p.spec = toRuntimeSpec(*sharding);
  }
  return p;
}

namespace {
/// Builds one entry's argument list.
struct EntryBuilder {
  func::FuncOp func;
  rt::ManifestEntry entry;

  LogicalResult add(rt::ArgRole role, Type type, std::string name,
                    StringRef what, unsigned index) {
    rt::ManifestArg arg;
    arg.role = role;
    arg.name = std::move(name);
    std::optional<rt::DType> dtype = runtimeTypeOf(type, arg.shape);
    if (!dtype)
      return func.emitError() << what << " " << index << " has type " << type
                              << ", which the C ABI cannot carry";
    arg.dtype = *dtype;
    entry.args.push_back(std::move(arg));
    return success();
  }
};
} // namespace

static FailureOr<rt::ManifestEntry>
describeEntry(func::FuncOp func,
              const std::map<std::string, rt::ManifestParam> &params) {
  EntryBuilder b{func, {func.getName().str(), func.getName().str(), {}}};
  FunctionType type = func.getFunctionType();
  auto nameOf = [](StringAttr name, const char *fallback, unsigned i) {
    return name ? name.str() : fallback + std::to_string(i);
  };
  std::vector<std::string> outputNames;
  for (unsigned i = 0; i < type.getNumResults(); ++i)
    outputNames.push_back(nameOf(
        func.getResultAttrOfType<StringAttr>(i, "nova.name"), "result", i));
  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    std::string name =
        nameOf(func.getArgAttrOfType<StringAttr>(i, "nova.name"), "arg", i);
    // An input returned under its own name is state the caller carries.
    bool state = llvm::is_contained(outputNames, name);
    if (failed(b.add(state ? rt::ArgRole::State : rt::ArgRole::Input,
                     type.getInput(i), name, "argument", i)))
      return failure();
  }
  std::map<std::string, ParamOp> used;
  func.walk([&](ParamOp op) { used.try_emplace(op.getPath().str(), op); });
  for (auto &[path, op] : used) {
    const rt::ManifestParam &p = params.at(path);
    b.entry.args.push_back({rt::ArgRole::Parameter, path, p.dtype, p.shape});
    if (p.quantized)
      b.entry.args.push_back({rt::ArgRole::Scales, path + ".scales",
                              p.scalesDType, p.scalesShape});
  }
  for (unsigned i = 0; i < type.getNumResults(); ++i)
    if (failed(b.add(rt::ArgRole::Output, type.getResult(i), outputNames[i],
                     "result", i)))
      return failure();
  return b.entry;
}

FailureOr<rt::ModuleManifest> mlir::nova::deriveManifest(ModuleOp module) {
  rt::ModuleManifest m;
  m.novaVersion = rt::novaVersion();
  if (auto model = module->getAttrOfType<StringAttr>("nova.model"))
    m.model = model.str();
  for (MeshOp mesh : module.getOps<MeshOp>())
    m.meshes.push_back({mesh.getSymName().str(), toRuntimeMesh(mesh)});
  std::map<std::string, rt::ManifestParam> params;
  module.walk([&](ParamOp op) {
    if (!params.count(op.getPath().str()))
      params.emplace(op.getPath().str(), describeParam(op));
  });
  for (auto &[path, p] : params)
    m.params.push_back(p);
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() || !func.isPublic())
      continue;
    FailureOr<rt::ManifestEntry> entry = describeEntry(func, params);
    if (failed(entry))
      return failure();
    m.entries.push_back(std::move(*entry));
  }
  return m;
}

//===----------------------------------------------------------------------===//
// The attribute
//===----------------------------------------------------------------------===//

void mlir::nova::attachManifest(ModuleOp module,
                                const rt::ModuleManifest &manifest) {
  module->setAttr(
      kManifestAttrName,
      StringAttr::get(module.getContext(), rt::writeManifestJson(manifest)));
}

FailureOr<rt::ModuleManifest> mlir::nova::readManifest(ModuleOp module) {
  auto attr = module->getAttrOfType<StringAttr>(kManifestAttrName);
  if (!attr)
    return module.emitError()
           << "the module has no '" << kManifestAttrName << "' attribute";
  rt::ModuleManifest manifest;
  std::string error;
  if (!rt::parseManifestJson(attr.getValue(), kManifestAttrName.str(), manifest,
                             error))
    return module.emitError() << "malformed manifest: " << error;
  return manifest;
}

FailureOr<rt::ModuleManifest> mlir::nova::getOrDeriveManifest(ModuleOp module) {
  if (module->hasAttr(kManifestAttrName))
    return readManifest(module);
  FailureOr<rt::ModuleManifest> manifest = deriveManifest(module);
  if (succeeded(manifest))
    attachManifest(module, *manifest);
  return manifest;
}
