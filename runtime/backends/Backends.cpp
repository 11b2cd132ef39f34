//===- Backends.cpp - Executing a module: the interpreter -----------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "runtime/backends/Backends.h"

#include "passes/Contract/Manifest.h"

using namespace nova;
using namespace nova::backends;

namespace {

/// The reference interpreter.
class InterpreterBackend : public Backend {
public:
  InterpreterBackend(mlir::ModuleOp module, rt::ModuleManifest manifest)
      : interpreter(module), contract(std::move(manifest)) {}
  const char *name() const override { return "interp"; }
  const rt::ModuleManifest &manifest() const override { return contract; }
  bool prepare(const std::string &entry, const interp::ParamLookup &params,
               std::string &error) override {
    return interpreter.bindParams(contract, entry, params, error);
  }
  bool run(const std::string &entry, const std::vector<rt::HostTensor> &inputs,
           std::vector<rt::HostTensor> &outputs, std::string &error) override {
    return interpreter.run(entry, inputs, outputs, error);
  }

private:
  interp::Interpreter interpreter;
  rt::ModuleManifest contract;
};

} // namespace

std::unique_ptr<Backend>
nova::backends::createBackend(const std::string &name, mlir::ModuleOp module,
                              std::string &error,
                              const BackendOptions &options) {
  if (name == "interp") {
    if (!interp::Interpreter::supports(module, error))
      return nullptr;
    mlir::FailureOr<rt::ModuleManifest> manifest =
        mlir::nova::getOrDeriveManifest(module);
    if (mlir::failed(manifest)) {
      error = "the module has no valid contract (see the diagnostics above)";
      return nullptr;
    }
    return std::make_unique<InterpreterBackend>(module, std::move(*manifest));
  }
  if (name == "cpu")
    return createCpuBackend(module, error, options);
#ifdef NOVA_HAVE_CUDA
  if (name == "cuda")
    return createCudaBackend(module, error, options);
#else
  if (name == "cuda")
    error = "backend 'cuda' is not available in this build (no CUDA toolkit "
            "was found when Nova was built; available: interp, cpu)";
  else
#endif
  error = "unknown backend '" + name + "' (expected interp, cpu or cuda)";
  return nullptr;
}

bool nova::backends::checkInputs(const rt::ManifestEntry &entry,
                                 const std::vector<rt::HostTensor> &inputs,
                                 std::string &error) {
  size_t next = 0;
  for (const rt::ManifestArg &arg : entry.args) {
    if (!arg.isInput())
      continue;
    if (next >= inputs.size())
      break;
    const rt::HostTensor &in = inputs[next++];
    if (in.dtype() != arg.dtype || in.shape() != arg.shape) {
      error = "input " + std::to_string(next - 1) + ": expected " +
              std::string(rt::dtypeName(arg.dtype)) +
              rt::formatShape(arg.shape) + ", got " + in.describe();
      return false;
    }
  }
  if (entry.numInputs() != inputs.size()) {
    error = "entry '" + entry.name + "' takes " +
            std::to_string(entry.numInputs()) + " inputs, got " +
            std::to_string(inputs.size());
    return false;
  }
  return true;
}
