//===- Backends.cpp - The backends nova-run can run a module on -----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "tools/nova-run/Backends.h"

#include "dialect/NovaOps.h"
#include "passes/Import/SpecImport.h"

#include "mlir/Parser/Parser.h"
#include "llvm/Support/MemoryBuffer.h"

#include "llvm/Support/raw_ostream.h"

#include <map>

using namespace nova;
using namespace nova::run;

namespace {

/// The reference interpreter.
class InterpreterBackend : public Backend {
public:
  explicit InterpreterBackend(mlir::ModuleOp module) : interpreter(module) {}
  const char *name() const override { return "interp"; }
  bool prepare(const std::string &entry, const interp::ParamLookup &params,
               std::string &error) override {
    return interpreter.bindParams(entry, params, error);
  }
  bool run(const std::string &entry, const std::vector<rt::HostTensor> &inputs,
           std::vector<rt::HostTensor> &outputs, std::string &error) override {
    return interpreter.run(entry, inputs, outputs, error);
  }

private:
  interp::Interpreter interpreter;
};

} // namespace

std::unique_ptr<Backend> nova::run::createBackend(const std::string &name,
                                                  mlir::ModuleOp module,
                                                  std::string &error) {
  if (name == "interp")
    return std::make_unique<InterpreterBackend>(module);
  if (name == "cpu")
    return createCpuBackend(module, error);
  if (name == "cuda")
    error = "backend 'cuda' is not available in this build (available: "
            "interp, cpu)";
  else
    error = "unknown backend '" + name + "' (expected interp, cpu or cuda)";
  return nullptr;
}

std::vector<DeclaredParameter>
nova::run::declaredParameters(mlir::ModuleOp module) {
  std::map<std::string, DeclaredParameter> byPath;
  module.walk([&](::mlir::nova::ParamOp op) {
    std::string path = op.getPath().str();
    if (byPath.count(path))
      return;
    DeclaredParameter p;
    p.value.name = path;
    if (auto loc = llvm::dyn_cast<mlir::FileLineColLoc>(op.getLoc()))
      p.value.location =
          (loc.getFilename().str() + ":" + std::to_string(loc.getLine()) + ":" +
           std::to_string(loc.getColumn()));
    p.scales.location = p.value.location;
    interp::toRuntimeType(op.getValue().getType(), p.value.dtype,
                          p.value.shape);
    if (op.isQuantized()) {
      p.quantized = true;
      p.scales.name = path + ".scales";
      interp::toRuntimeType(op.getScales().getType(), p.scales.dtype,
                            p.scales.shape);
      llvm::raw_string_ostream os(p.scales.scaleLayout);
      os << *op.getScaleLayout();
    }
    if (std::optional<::mlir::nova::ShardingAttr> sharding = op.getSharding()) {
      auto mesh =
          mlir::SymbolTable::lookupNearestSymbolFrom<::mlir::nova::MeshOp>(
              op, sharding->getMesh().getAttr());
      if (mesh) {
        p.spec.emplace();
        for (unsigned d = 0; d < p.value.shape.size(); ++d) {
          p.spec->emplace_back();
          for (llvm::StringRef axis : sharding->getAxes(d))
            p.spec->back().push_back(axis.str());
        }
        p.meshName = mesh.getSymName().str();
        for (auto [name, size] :
             llvm::zip(mesh.getAxisNames(), mesh.getShape()))
          p.mesh.push_back(
              {llvm::cast<mlir::StringAttr>(name).getValue().str(), size});
      }
    }
    byPath.emplace(path, std::move(p));
  });
  std::vector<DeclaredParameter> params;
  for (auto &[path, p] : byPath)
    params.push_back(std::move(p));
  return params;
}

std::vector<rt::DeclaredTensor>
nova::run::declaredTensors(const std::vector<DeclaredParameter> &params) {
  std::vector<rt::DeclaredTensor> tensors;
  for (const DeclaredParameter &p : params) {
    tensors.push_back(p.value);
    if (p.quantized)
      tensors.push_back(p.scales);
  }
  return tensors;
}

mlir::OwningOpRef<mlir::ModuleOp>
nova::run::loadModuleFile(mlir::MLIRContext &context,
                          llvm::SourceMgr &sourceMgr, const std::string &path,
                          uint64_t maxSpecBytes, const char *tool) {
  llvm::StringRef name(path);
  if (name.ends_with(".yaml") || name.ends_with(".yml")) {
    mlir::FailureOr<std::string> text =
        ::mlir::nova::readSpecFile(path, maxSpecBytes, &context);
    if (mlir::failed(text))
      return nullptr;
    return ::mlir::nova::importModelSpec(*text, path, &context);
  }
  auto file = llvm::MemoryBuffer::getFileOrSTDIN(path);
  if (!file) {
    llvm::errs() << tool << ": error: cannot read '" << path
                 << "': " << file.getError().message() << "\n";
    return nullptr;
  }
  sourceMgr.AddNewSourceBuffer(std::move(*file), llvm::SMLoc());
  return mlir::parseSourceFile<mlir::ModuleOp>(sourceMgr, &context);
}
