//===- CpuBackend.cpp - Executing a module: JIT-compiled for the CPU ------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Compiles a clone of the module for the host CPU into the object nova-opt
// --emit=obj writes (compileObject: kept in the compile cache between runs),
// links it into the process with LLVM ORC, and calls entry points through
// their `<symbol>_args` wrappers, in the manifest's order: inputs,
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
#include "passes/Pipelines/Emit.h"
#include "passes/Pipelines/ObjectCache.h"

#include "dialect/NovaOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/TargetSelect.h"

#include <chrono>
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
    // `<symbol>_args(void *const *buffers[, int32_t comm])`.
    const rt::ManifestEntry *e = contract.entry(entry);
    void *address = entryPoints.at(e->symbol);
    if (e->communicatorIndex())
      reinterpret_cast<void (*)(void *const *, int32_t)>(address)(
          buffers.data(), options.communicator.value_or(0));
    else
      reinterpret_cast<void (*)(void *const *)>(address)(buffers.data());
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
    contract.target.cpu = options.targetCpu;
    if (failed(::mlir::nova::checkHostRuns(options.targetCpu, error)))
      return false;
    if (contract.isSpmd() && !options.communicator) {
      error = "the module is an SPMD program (its entries take an MPI "
              "communicator): pass BackendOptions::communicator";
      return false;
    }

    // The object is what nova-opt --emit=obj writes for the host, from the
    // compile cache when it holds it; then it is linked into this process.
    bool hit = false;
    auto start = std::chrono::steady_clock::now();
    std::optional<std::string> cache =
        options.useCompileCache ? ::mlir::nova::objectCacheDirectory()
                                : std::nullopt;
    FailureOr<std::string> object = ::mlir::nova::compileObject(
        *module, options.targetCpu, ::mlir::nova::CpuPipelineOptions(), cache,
        error, &hit,
        options.reportCompile || llvm::sys::Process::StandardErrIsDisplayed()
            ? &llvm::errs()
            : nullptr);
    if (failed(object)) {
      if (error.empty())
        error = "nova-cpu-pipeline failed (see the diagnostics above)";
      return false;
    }
    if (!link(*object, error))
      return false;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    if (options.reportCompile ||
        (seconds > 1 && llvm::sys::Process::StandardErrIsDisplayed()))
      llvm::errs() << "nova: compiled '" << contract.model << "' for "
                   << (options.targetCpu == "native" ? "the host CPU"
                                                     : options.targetCpu)
                   << " in " << llvm::format("%.2f", seconds)
                   << " s (compile cache: "
                   << (!cache ? "off"
                       : hit  ? "hit"
                              : "miss")
                   << ")\n";
    return true;
  }

  /// Links `object` into this process with ORC and resolves every entry's
  /// `<symbol>_args`. External symbols (libm, OpenMP, MPI) resolve against
  /// the process and the OpenMP runtime the parallel loops call into.
  bool link(const std::string &object, std::string &error) {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    auto fail = [&](const std::string &what, llvm::Error e) {
      error = what + ": " + llvm::toString(std::move(e));
      return false;
    };
    llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>> created =
        llvm::orc::LLJITBuilder().create();
    if (!created)
      return fail("cannot create the JIT", created.takeError());
    jit = std::move(*created);
    llvm::orc::JITDylib &dylib = jit->getMainJITDylib();
    char prefix = jit->getDataLayout().getGlobalPrefix();
    auto process =
        llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix);
    if (!process)
      return fail("cannot search the process's symbols", process.takeError());
    dylib.addGenerator(std::move(*process));
    auto openmp = llvm::orc::DynamicLibrarySearchGenerator::Load(
        NOVA_LIBOMP_PATH, prefix);
    if (!openmp)
      return fail("cannot load the OpenMP runtime '" +
                      std::string(NOVA_LIBOMP_PATH) + "'",
                  openmp.takeError());
    dylib.addGenerator(std::move(*openmp));
    if (llvm::Error e = jit->addObjectFile(llvm::MemoryBuffer::getMemBufferCopy(
            object, contract.model + ".o")))
      return fail("cannot link the compiled module", std::move(e));
    for (const rt::ManifestEntry &entry : contract.entries) {
      llvm::Expected<llvm::orc::ExecutorAddr> address =
          jit->lookup(entry.symbol + "_args");
      if (!address)
        return fail("cannot resolve entry point '" + entry.name + "'",
                    address.takeError());
      entryPoints[entry.symbol] = address->toPtr<void *>();
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
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::map<std::string, void *> entryPoints;
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
