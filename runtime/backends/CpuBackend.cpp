//===- CpuBackend.cpp - Executing a module: JIT-compiled for the CPU ------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Compiles a clone of the module with nova-cpu-pipeline, JITs it with the
// MLIR ExecutionEngine (LLVM ORC, host CPU and features detected), and calls
// entry points through the bare-pointer ABI in the manifest's order: inputs,
// the communicator (SPMD modules), parameters (sorted by path), then
// caller-allocated outputs. MPI_* calls of an SPMD module resolve against the
// process, like every other external symbol of the JIT: libmpich must be
// loaded RTLD_GLOBAL (and MPI initialized) by the caller.
//
//===----------------------------------------------------------------------===//

#include "runtime/backends/Backends.h"

#include "passes/Partition/Passes.h"

#include "passes/Contract/Manifest.h"

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
using namespace ::nova::backends;
using rt::HostTensor;

namespace {

class CpuBackend : public Backend, public CompiledCpuModule {
public:
  explicit CpuBackend(const BackendOptions &options) : options(options) {}
  const char *name() const override { return "cpu"; }
  const rt::ModuleManifest &manifest() const override { return contract; }

  int numBuffers(const std::string &entry) const override {
    const rt::ManifestEntry *e = contract.entry(entry);
    return e ? static_cast<int>(e->numBuffers()) : -1;
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
    // invokePacked wants a pointer to each argument: to each buffer pointer,
    // and to the communicator where the ABI has it.
    const rt::ManifestEntry *e = contract.entry(entry);
    SmallVector<void *> pointers(buffers.begin(), buffers.end());
    int32_t comm = options.communicator.value_or(0);
    SmallVector<void *> args;
    for (void *&p : pointers) {
      if (e->communicatorIndex() == args.size())
        args.push_back(&comm);
      args.push_back(&p);
    }
    if (e->communicatorIndex() == args.size())
      args.push_back(&comm);
    if (llvm::Error err = engine->invokePacked(e->symbol, args)) {
      error = "calling '" + entry + "': " + llvm::toString(std::move(err));
      return false;
    }
    return true;
  }

  bool compile(ModuleOp source, std::string &error) {
    module = OwningOpRef<ModuleOp>(cast<ModuleOp>(source->clone()));
    // A module over a mesh of several devices compiles to one rank's
    // program; its contract (communicator, local shards) is that program's.
    if (failed(::mlir::nova::partitionForMesh(*module))) {
      error = "partitioning the module for its mesh failed (see the "
              "diagnostics above)";
      return false;
    }
    // The contract is fixed before lowering erases the tensor types; the
    // pipeline carries it unchanged.
    FailureOr<rt::ModuleManifest> manifest =
        ::mlir::nova::getOrDeriveManifest(*module);
    if (failed(manifest)) {
      error = "the module has no valid contract (see the diagnostics above)";
      return false;
    }
    contract = std::move(*manifest);
    contract.target.kind = "cpu";
    contract.target.cpu = "native";
    if (contract.isSpmd() && !options.communicator) {
      error = "the module is an SPMD program (its entries take an MPI "
              "communicator): pass BackendOptions::communicator";
      return false;
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
    for (const rt::ManifestEntry &entry : contract.entries)
      if (auto fn = engine->lookupPacked(entry.symbol); !fn) {
        error = "JIT compilation of '" + entry.name +
                "' failed: " + llvm::toString(fn.takeError());
        return false;
      }
    return true;
  }

  bool prepare(const std::string &entry, const interp::ParamLookup &lookup,
               std::string &error) override {
    const rt::ManifestEntry *e = contract.entry(entry);
    if (!e) {
      error = "no entry point '" + entry + "'";
      return false;
    }
    for (const rt::ManifestArg &arg : e->args) {
      if (!arg.isParameter() || params.count(arg.name))
        continue;
      HostTensor t;
      if (!lookup(arg.name, t, error))
        return false;
      // The entry's argument is the local block: this rank's shard in an
      // SPMD module.
      if (t.dtype() != arg.dtype || t.shape() != arg.shape) {
        const rt::ManifestParam *p = contract.param(arg.paramPath());
        bool shard = contract.isSpmd() && p && p->spec;
        error = "checkpoint tensor '" + arg.name + "': expected " +
                std::string(rt::dtypeName(arg.dtype)) +
                rt::formatShape(arg.shape) +
                (shard ? " (this rank's shard of " +
                             rt::formatShape(arg.role == rt::ArgRole::Scales
                                                 ? p->scalesShape
                                                 : p->shape) +
                             ")"
                       : std::string()) +
                ", got " + t.describe();
        return false;
      }
      params[arg.name] = std::move(t);
    }
    return true;
  }

  bool run(const std::string &entry, const std::vector<HostTensor> &inputs,
           std::vector<HostTensor> &outputs, std::string &error) override {
    const rt::ManifestEntry *e = contract.entry(entry);
    if (!e) {
      error = "no entry point '" + entry + "'";
      return false;
    }
    if (!checkInputs(*e, inputs, error))
      return false;
    // Inputs are copied: the compiled code may update them in place (the KV
    // cache), and the caller's tensors may be read-only views.
    std::vector<HostTensor> owned;
    std::vector<void *> pointers;
    outputs.clear();
    size_t nextInput = 0;
    for (const rt::ManifestArg &arg : e->args) {
      if (arg.isInput()) {
        const HostTensor &in = inputs[nextInput++];
        HostTensor copy = HostTensor::zeros(arg.dtype, arg.shape);
        std::memcpy(copy.mutableBytes(), in.bytes(), in.sizeInBytes());
        pointers.push_back(copy.mutableBytes());
        owned.push_back(std::move(copy));
      } else if (arg.isParameter()) {
        // Read-only: the pipeline marks parameters non-writable.
        pointers.push_back(const_cast<uint8_t *>(params.at(arg.name).bytes()));
      } else if (arg.role == rt::ArgRole::Communicator) {
        continue; // call() passes options.communicator
      } else {
        outputs.push_back(HostTensor::zeros(arg.dtype, arg.shape));
        pointers.push_back(outputs.back().mutableBytes());
      }
    }
    return call(entry, pointers, error);
  }

private:
  BackendOptions options;
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<ExecutionEngine> engine;
  rt::ModuleManifest contract;
  std::map<std::string, HostTensor> params;
};

} // namespace

namespace nova::backends {
std::unique_ptr<Backend> createCpuBackend(ModuleOp module, std::string &error,
                                          const BackendOptions &options) {
  auto backend = std::make_unique<CpuBackend>(options);
  if (!backend->compile(module, error))
    return nullptr;
  return backend;
}

std::unique_ptr<CompiledCpuModule>
compileForCpu(ModuleOp module, std::string &error,
              const BackendOptions &options) {
  auto backend = std::make_unique<CpuBackend>(options);
  if (!backend->compile(module, error))
    return nullptr;
  return backend;
}
} // namespace nova::backends
