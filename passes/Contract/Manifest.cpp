//===- Manifest.cpp - A module's contract, derived from the IR ------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Contract/Manifest.h"

#include "dialect/NovaOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/raw_ostream.h"

#include <map>

using namespace mlir;
using namespace mlir::nova;
namespace rt = ::nova::rt;

std::optional<rt::DType>
mlir::nova::runtimeTypeOf(Type type, std::vector<int64_t> &shape) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return std::nullopt;
  Type e = tensor.getElementType();
  std::optional<rt::DType> dtype;
  if (e.isF32())
    dtype = rt::DType::F32;
  else if (e.isBF16())
    dtype = rt::DType::BF16;
  else if (e.isF16())
    dtype = rt::DType::F16;
  else if (e.isInteger(8))
    dtype = rt::DType::I8;
  else if (e.isInteger(32))
    dtype = rt::DType::I32;
  else if (e.isInteger(64))
    dtype = rt::DType::I64;
  else if (e.isInteger(1))
    dtype = rt::DType::Bool;
  if (dtype)
    shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  return dtype;
}

Type mlir::nova::elementTypeOf(MLIRContext *context, rt::DType dtype) {
  Builder b(context);
  switch (dtype) {
  case rt::DType::F32:
    return b.getF32Type();
  case rt::DType::BF16:
    return b.getBF16Type();
  case rt::DType::F16:
    return b.getF16Type();
  case rt::DType::I8:
    return b.getI8Type();
  case rt::DType::I32:
    return b.getI32Type();
  case rt::DType::I64:
    return b.getI64Type();
  case rt::DType::Bool:
    return b.getI1Type();
  }
  return Type();
}

//===----------------------------------------------------------------------===//
// Derivation
//===----------------------------------------------------------------------===//

static std::string locationString(Location loc) {
  auto format = [](FileLineColLoc file) {
    return file.getFilename().str() + ":" + std::to_string(file.getLine()) +
           ":" + std::to_string(file.getColumn());
  };
  if (auto file = dyn_cast<FileLineColLoc>(loc))
    return format(file);
  if (auto fused = dyn_cast<FusedLoc>(loc))
    for (Location l : fused.getLocations())
      if (auto file = dyn_cast<FileLineColLoc>(l))
        return format(file);
  return "";
}

static rt::ManifestParam describeParam(ParamOp op) {
  rt::ManifestParam p;
  p.path = op.getPath().str();
  p.location = locationString(op.getLoc());
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
    p.spec.emplace();
    for (unsigned d = 0, e = sharding->getDims().size(); d < e; ++d) {
      p.spec->emplace_back();
      for (StringRef axis : sharding->getAxes(d))
        p.spec->back().push_back(axis.str());
    }
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
  for (MeshOp mesh : module.getOps<MeshOp>()) {
    rt::ManifestMesh out{mesh.getSymName().str(), {}};
    for (auto [name, size] : llvm::zip(mesh.getAxisNames(), mesh.getShape()))
      out.axes.push_back({cast<StringAttr>(name).getValue().str(), size});
    m.meshes.push_back(std::move(out));
  }
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
