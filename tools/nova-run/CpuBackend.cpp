//===- CpuBackend.cpp - JIT-compiled CPU execution for nova-run -----------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Compiles a clone of the module with nova-cpu-pipeline, JITs it with the
// MLIR ExecutionEngine (LLVM ORC, host CPU and features detected), and calls
// entry points through the bare-pointer ABI: inputs, parameters (sorted by
// path), then caller-allocated outputs.
//
//===----------------------------------------------------------------------===//

#include "tools/nova-run/Backends.h"

#include "passes/Passes.h"

#include "dialect/NovaOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/Support/TargetSelect.h"

#include <cstring>
#include <map>

using namespace mlir;
using namespace ::nova;
using namespace ::nova::run;
using rt::HostTensor;

namespace {

/// One argument of a compiled entry point.
struct AbiArg {
  enum Kind { Input, Param, Output } kind;
  std::string name;
  rt::DType dtype;
  std::vector<int64_t> shape;
};

class CpuBackend : public Backend, public CompiledCpuModule {
public:
  const char *name() const override { return "cpu"; }

  int numBuffers(const std::string &entry) const override {
    auto it = abis.find(entry);
    return it == abis.end() ? -1 : static_cast<int>(it->second.size());
  }

  bool call(const std::string &entry, llvm::ArrayRef<void *> buffers,
            std::string &error) override {
    int expected = numBuffers(entry);
    if (expected < 0) {
      error = "no entry point '" + entry + "'";
      return false;
    }
    if (static_cast<size_t>(expected) != buffers.size()) {
      error = "entry '" + entry + "' takes " + std::to_string(expected) +
              " buffers, got " + std::to_string(buffers.size());
      return false;
    }
    // invokePacked wants a pointer to each argument (here: to each pointer).
    SmallVector<void *> pointers(buffers.begin(), buffers.end());
    SmallVector<void *> args;
    for (void *&p : pointers)
      args.push_back(&p);
    if (llvm::Error err = engine->invokePacked(entry, args)) {
      error = "calling '" + entry + "': " + llvm::toString(std::move(err));
      return false;
    }
    return true;
  }

  bool compile(ModuleOp source, std::string &error) {
    module = OwningOpRef<ModuleOp>(cast<ModuleOp>(source->clone()));
    // The ABI (names, dtypes, shapes) is read off the tensor-level
    // signatures before lowering erases the types.
    for (auto func : module->getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      auto &abi = abis[func.getName().str()];
      FunctionType type = func.getFunctionType();
      for (unsigned i = 0; i < type.getNumInputs(); ++i) {
        AbiArg arg{AbiArg::Input, "", {}, {}};
        if (!interp::toRuntimeType(type.getInput(i), arg.dtype, arg.shape)) {
          error = "entry '" + func.getName().str() +
                  "' has an argument type the CPU backend cannot pass";
          return false;
        }
        abi.push_back(arg);
      }
      std::map<std::string, std::pair<Type, Type>> params;
      func.walk([&](::mlir::nova::ParamOp op) {
        params[op.getPath().str()] = {
            op.getValue().getType(),
            op.isQuantized() ? op.getScales().getType() : Type()};
      });
      for (auto &[path, types] : params) {
        for (auto [t, suffix] :
             {std::pair(types.first, ""), std::pair(types.second, ".scales")}) {
          if (!t)
            continue;
          AbiArg arg{AbiArg::Param, path + suffix, {}, {}};
          interp::toRuntimeType(t, arg.dtype, arg.shape);
          abi.push_back(arg);
        }
      }
      for (unsigned i = 0; i < type.getNumResults(); ++i) {
        AbiArg arg{AbiArg::Output, "", {}, {}};
        if (!interp::toRuntimeType(type.getResult(i), arg.dtype, arg.shape)) {
          error = "entry '" + func.getName().str() +
                  "' has a result type the CPU backend cannot pass";
          return false;
        }
        abi.push_back(arg);
      }
    }

    PassManager pm(module->getContext());
    if (failed(::mlir::nova::buildNovaCpuPipeline(
            pm, ::mlir::nova::CpuPipelineOptions())) ||
        failed(pm.run(*module))) {
      error = "nova-cpu-pipeline failed (see the diagnostics above)";
      return false;
    }

    ::mlir::nova::stripNovaAbiAttributes(*module);
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    registerBuiltinDialectTranslation(*module->getContext());
    registerLLVMDialectTranslation(*module->getContext());
    auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
    if (!builder) {
      error =
          "cannot target the host CPU: " + llvm::toString(builder.takeError());
      return false;
    }
    auto tm = builder->createTargetMachine();
    if (!tm) {
      error = "cannot create a target machine for the host: " +
              llvm::toString(tm.takeError());
      return false;
    }
    llvm::TargetMachine *target = tm->get();
    auto optimize = makeOptimizingTransformer(3, 0, target);
    auto transformer = [&](llvm::Module *m) -> llvm::Error {
      if (failed(::mlir::nova::addSoftFloatHelpers(*m)))
        return llvm::make_error<llvm::StringError>(
            "cannot add the bf16 conversion helpers",
            llvm::inconvertibleErrorCode());
      ::mlir::nova::tuneForTarget(*m, *target);
      return optimize(m);
    };
    // The OpenMP runtime the parallel loops call into.
    static const StringRef sharedLibs[] = {NOVA_LIBOMP_PATH};
    ExecutionEngineOptions options;
    options.transformer = transformer;
    options.sharedLibPaths = sharedLibs;
    options.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
    auto engineOrError =
        ExecutionEngine::create(*module, options, std::move(*tm));
    if (!engineOrError) {
      error = "JIT compilation failed: " +
              llvm::toString(engineOrError.takeError());
      return false;
    }
    engine = std::move(*engineOrError);
    // The JIT generates code on first lookup: do it now, so that compile
    // time is not charged to the first call.
    for (auto &[entry, abi] : abis)
      if (auto fn = engine->lookupPacked(entry); !fn) {
        error = "JIT compilation of '" + entry +
                "' failed: " + llvm::toString(fn.takeError());
        return false;
      }
    return true;
  }

  bool prepare(const std::string &entry, const interp::ParamLookup &lookup,
               std::string &error) override {
    auto it = abis.find(entry);
    if (it == abis.end()) {
      error = "no entry point '" + entry + "'";
      return false;
    }
    for (const AbiArg &arg : it->second) {
      if (arg.kind != AbiArg::Param || params.count(arg.name))
        continue;
      HostTensor t;
      if (!lookup(arg.name, t, error))
        return false;
      if (t.dtype() != arg.dtype || t.shape() != arg.shape) {
        error = "checkpoint tensor '" + arg.name + "': expected " +
                std::string(rt::dtypeName(arg.dtype)) +
                rt::formatShape(arg.shape) + ", got " + t.describe();
        return false;
      }
      params[arg.name] = std::move(t);
    }
    return true;
  }

  bool run(const std::string &entry, const std::vector<HostTensor> &inputs,
           std::vector<HostTensor> &outputs, std::string &error) override {
    auto it = abis.find(entry);
    if (it == abis.end()) {
      error = "no entry point '" + entry + "'";
      return false;
    }
    // Inputs are copied: the compiled code may update them in place (the KV
    // cache), and the caller's tensors may be read-only views.
    std::vector<HostTensor> owned;
    std::vector<void *> pointers;
    outputs.clear();
    size_t nextInput = 0;
    for (const AbiArg &arg : it->second) {
      switch (arg.kind) {
      case AbiArg::Input: {
        const HostTensor &in = inputs.at(nextInput++);
        if (in.dtype() != arg.dtype || in.shape() != arg.shape) {
          error = "input " + std::to_string(nextInput - 1) + ": expected " +
                  std::string(rt::dtypeName(arg.dtype)) +
                  rt::formatShape(arg.shape) + ", got " + in.describe();
          return false;
        }
        HostTensor copy = HostTensor::zeros(arg.dtype, arg.shape);
        std::memcpy(copy.mutableBytes(), in.bytes(), in.sizeInBytes());
        pointers.push_back(copy.mutableBytes());
        owned.push_back(std::move(copy));
        break;
      }
      case AbiArg::Param:
        // Read-only: the pipeline marks parameters non-writable.
        pointers.push_back(const_cast<uint8_t *>(params.at(arg.name).bytes()));
        break;
      case AbiArg::Output:
        outputs.push_back(HostTensor::zeros(arg.dtype, arg.shape));
        pointers.push_back(outputs.back().mutableBytes());
        break;
      }
    }
    if (nextInput != inputs.size()) {
      error = "entry '" + entry + "' takes " + std::to_string(nextInput) +
              " inputs, got " + std::to_string(inputs.size());
      return false;
    }
    return call(entry, pointers, error);
  }

private:
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<ExecutionEngine> engine;
  std::map<std::string, std::vector<AbiArg>> abis;
  std::map<std::string, HostTensor> params;
};

} // namespace

namespace nova::run {
std::unique_ptr<Backend> createCpuBackend(ModuleOp module, std::string &error) {
  auto backend = std::make_unique<CpuBackend>();
  if (!backend->compile(module, error))
    return nullptr;
  return backend;
}

std::unique_ptr<CompiledCpuModule> compileForCpu(ModuleOp module,
                                                 std::string &error) {
  auto backend = std::make_unique<CpuBackend>();
  if (!backend->compile(module, error))
    return nullptr;
  return backend;
}
} // namespace nova::run
