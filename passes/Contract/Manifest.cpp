//===- Manifest.cpp - A module's contract, derived from the IR ------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Contract/Manifest.h"

#include "dialect/NovaDialect.h"
#include "dialect/NovaRuntimeTypes.h"
#include "dialect/NovaSharding.h"
#include "nova/runtime/Shape.h"

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

/// The unit attribute marking an SPMD entry's communicator argument.
static constexpr llvm::StringLiteral kCommunicatorAttrName =
    "nova.communicator";

/// The whole (global) shapes of `op`'s value and scales in an SPMD module,
/// where its types are one rank's shard: each extent times its dimension's
/// shard count (a local extent of 1 on a dimension split n ways is a global
/// extent of n: a partitioned module never splits a dimension of size 1), and
/// for the scales the shape its (global) scale layout requires of that
/// weight. Both must shard back into the op's types.
static LogicalResult globalShapes(ParamOp op, const rt::PartitionSpec &spec,
                                  const std::vector<rt::MeshAxis> &mesh,
                                  rt::ManifestParam &p) {
  auto fail = [&](const Twine &what) -> LogicalResult {
    op.emitError() << "parameter '" << p.path
                   << "' in an SPMD module: " << what;
    return failure();
  };
  for (size_t d = 0; d < p.localShape.size(); ++d) {
    std::optional<int64_t> count = rt::shardCount(spec, mesh, d);
    if (!count || (*count > 1 && p.localShape[d] > INT64_MAX / *count))
      return fail("the global extent of dimension " + Twine(d) +
                  " overflows int64_t");
    p.shape[d] = p.localShape[d] * *count;
  }
  auto sharded = [&](const std::vector<int64_t> &global,
                     const std::vector<int64_t> &local,
                     StringRef what) -> LogicalResult {
    if (rt::checkSharding(global, spec, mesh))
      return fail(Twine("the spec does not fit its global ") + what + " " +
                  rt::formatShape(global));
    std::vector<int64_t> shard = rt::localShape(global, spec, mesh);
    if (shard != local)
      return fail(Twine("its ") + what + " " + rt::formatShape(local) +
                  " is not " + rt::formatShape(shard) + ", the shard of the " +
                  "global " + what + " " + rt::formatShape(global));
    return success();
  };
  if (failed(sharded(p.shape, p.localShape, "value")))
    return failure();
  if (!p.quantized)
    return success();
  ScaleLayoutAttr layout = *op.getScaleLayout();
  size_t rank = p.shape.size();
  p.scalesShape.assign(p.shape.begin(), p.shape.end() - 2);
  p.scalesShape.push_back(layout.getNumRowBlocks(p.shape[rank - 2]));
  p.scalesShape.push_back(layout.getNumScaleColumns(p.shape[rank - 1]));
  std::string error;
  if (!layout.verifyShapes(p.shape, p.scalesShape, error))
    return fail(error);
  return sharded(p.scalesShape, p.scalesLocalShape, "scales");
}

static FailureOr<rt::ManifestParam> describeParam(ParamOp op, bool spmd) {
  rt::ManifestParam p;
  p.path = op.getPath().str();
  p.location = formatFileLocation(op.getLoc());
  // The verifier guarantees static, runtime-representable parameter types.
  p.dtype = *runtimeTypeOf(op.getValue().getType(), p.localShape);
  if (op.isQuantized()) {
    p.quantized = true;
    p.scalesDType =
        *runtimeTypeOf(op.getScales().getType(), p.scalesLocalShape);
    llvm::raw_string_ostream os(p.scaleLayout);
    os << *op.getScaleLayout();
  }
  p.shape = p.localShape;
  p.scalesShape = p.scalesLocalShape;
  std::optional<ShardingAttr> sharding = op.getSharding();
  if (!sharding)
    return p;
  p.mesh = sharding->getMesh().getValue().str();
  p.spec = toRuntimeSpec(*sharding);
  if (!spmd)
    return p;
  auto mesh = SymbolTable::lookupNearestSymbolFrom<MeshOp>(
      op, sharding->getMesh().getAttr());
  if (!mesh)
    return op.emitError() << "parameter '" << p.path << "' names no mesh '"
                          << sharding->getMesh() << "'";
  if (failed(globalShapes(op, *p.spec, toRuntimeMesh(mesh), p)))
    return failure();
  return p;
}

/// Whether `func` is an SPMD entry: one of its arguments is the mesh's
/// communicator.
static bool takesCommunicator(func::FuncOp func) {
  for (unsigned i = 0, e = func.getNumArguments(); i < e; ++i)
    if (func.getArgAttr(i, kCommunicatorAttrName))
      return true;
  return false;
}

/// An argument every rank holds whole (or, for parameters, its local
/// shape).
static rt::ManifestArg plainArg(rt::ArgRole role, std::string name,
                                rt::DType dtype, std::vector<int64_t> shape) {
  rt::ManifestArg arg;
  arg.role = role;
  arg.name = std::move(name);
  arg.dtype = dtype;
  arg.shape = std::move(shape);
  return arg;
}

namespace {
/// Builds one entry's argument list.
struct EntryBuilder {
  func::FuncOp func;
  rt::ManifestEntry entry;

  LogicalResult add(rt::ArgRole role, Type type, std::string name,
                    StringRef what, unsigned index,
                    ShardingAttr split = nullptr) {
    rt::ManifestArg arg;
    arg.role = role;
    arg.name = std::move(name);
    std::optional<rt::DType> dtype = runtimeTypeOf(type, arg.shape);
    if (!dtype)
      return func.emitError() << what << " " << index << " has type " << type
                              << ", which the C ABI cannot carry";
    arg.dtype = *dtype;
    if (split) {
      // A state value an SPMD entry keeps split (nova-spmd-partition).
      arg.mesh = split.getMesh().getValue().str();
      arg.spec = toRuntimeSpec(split);
    }
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
    if (func.getArgAttr(i, kCommunicatorAttrName)) {
      // The ABI places it right after the inputs; params-to-args appends the
      // parameters after it (docs/abi.md).
      if (i + 1 != type.getNumInputs() || !type.getInput(i).isInteger(32))
        return func.emitError()
               << "the communicator (argument " << i << ", type "
               << type.getInput(i) << ") must be the last argument, of type "
               << "i32 (an MPICH MPI_Comm)";
      StringAttr name = func.getArgAttrOfType<StringAttr>(i, "nova.name");
      b.entry.args.push_back(plainArg(rt::ArgRole::Communicator,
                                      name ? name.str() : "comm",
                                      rt::DType::I32, {}));
      continue;
    }
    std::string name =
        nameOf(func.getArgAttrOfType<StringAttr>(i, "nova.name"), "arg", i);
    // An input returned under its own name is state the caller carries.
    bool state = llvm::is_contained(outputNames, name);
    if (failed(b.add(state ? rt::ArgRole::State : rt::ArgRole::Input,
                     type.getInput(i), name, "argument", i,
                     func.getArgAttrOfType<ShardingAttr>(i, "nova.sharding"))))
      return failure();
  }
  std::map<std::string, ParamOp> used;
  func.walk([&](ParamOp op) { used.try_emplace(op.getPath().str(), op); });
  for (auto &[path, op] : used) {
    const rt::ManifestParam &p = params.at(path);
    b.entry.args.push_back(
        plainArg(rt::ArgRole::Parameter, path, p.dtype, p.localShape));
    if (p.quantized)
      b.entry.args.push_back(plainArg(rt::ArgRole::Scales, path + ".scales",
                                      p.scalesDType, p.scalesLocalShape));
  }
  for (unsigned i = 0; i < type.getNumResults(); ++i)
    if (failed(b.add(
            rt::ArgRole::Output, type.getResult(i), outputNames[i], "result", i,
            func.getResultAttrOfType<ShardingAttr>(i, "nova.sharding"))))
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
  // An SPMD module (the output of nova-spmd-partition) is one rank's
  // program: every entry takes the communicator, every parameter is typed as
  // its shard.
  func::FuncOp spmdEntry, plainEntry;
  for (auto func : module.getOps<func::FuncOp>())
    if (!func.isExternal() && func.isPublic())
      (takesCommunicator(func) ? spmdEntry : plainEntry) = func;
  if (spmdEntry && plainEntry)
    return plainEntry.emitError()
           << "entry '" << plainEntry.getName()
           << "' takes no communicator (nova.communicator) but entry '"
           << spmdEntry.getName()
           << "' does: the entries of an SPMD module all take one";
  bool spmd = static_cast<bool>(spmdEntry);
  std::map<std::string, rt::ManifestParam> params;
  WalkResult walk = module.walk([&](ParamOp op) {
    if (params.count(op.getPath().str()))
      return WalkResult::advance();
    FailureOr<rt::ManifestParam> p = describeParam(op, spmd);
    if (failed(p))
      return WalkResult::interrupt();
    params.emplace(op.getPath().str(), std::move(*p));
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
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
