//===- Backends.cpp - The backends nova-run can run a module on -----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "tools/nova-run/Backends.h"

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
