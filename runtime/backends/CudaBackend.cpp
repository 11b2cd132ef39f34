//===- CudaBackend.cpp - Executing a module: CUDA kernels, JIT host code --===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Compiles a clone of the module through nova-cuda-pipeline into the host
// code nova-opt --target=cuda --emit=llvm writes (the cubin embedded), links
// it into this process with LLVM ORC against Nova's CUDA launch runtime
// (runtime/cuda/Launch.cpp), loads the kernels and calls the entries'
// `<symbol>_args` wrappers on managed buffers: inputs and outputs are copied
// in and out, parameters once per backend. Every CUDA failure is reported
// as the run's error (nova_cuda_error), never as wrong outputs.
//
//===----------------------------------------------------------------------===//

#include "runtime/backends/Backends.h"

#include "passes/Contract/Manifest.h"
#include "passes/Partition/Passes.h"
#include "passes/Pipelines/Emit.h"
#include "passes/Pipelines/Pipelines.h"

#include "nova/runtime/nova_cuda.h"

#include "llvm/ExecutionEngine/Orc/AbsoluteSymbols.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IRReader/IRReader.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/TargetSelect.h"

#include <chrono>
#include <cstring>
#include <map>

extern "C" {
void *mgpuModuleLoad(void *, size_t);
void *mgpuModuleLoadJIT(void *, int);
void mgpuModuleUnload(void *);
void *mgpuModuleGetFunction(void *, const char *);
void *mgpuStreamCreate();
void mgpuStreamDestroy(void *);
void mgpuStreamSynchronize(void *);
void mgpuLaunchKernel(void *, intptr_t, intptr_t, intptr_t, intptr_t, intptr_t,
                      intptr_t, int32_t, void *, void **, void **, size_t);
void *mgpuMemAlloc(uint64_t, void *, bool);
void mgpuMemFree(void *, void *);
}

using namespace mlir;
using namespace ::nova;
using namespace ::nova::backends;
using rt::HostTensor;

namespace {

/// A managed buffer, freed on destruction.
struct Managed {
  void *ptr = nullptr;
  Managed() = default;
  Managed(Managed &&o) noexcept : ptr(o.ptr) { o.ptr = nullptr; }
  Managed &operator=(Managed &&o) noexcept {
    std::swap(ptr, o.ptr);
    return *this;
  }
  ~Managed() { nova_cuda_free(ptr); }
};

/// The load and unload functions of the kernels' module: the host code's
/// global constructor and destructor, which the JIT does not run itself.
constexpr const char *kLoad = "nova_kernels_load";
constexpr const char *kUnload = "nova_kernels_unload";

/// The CUDA error of the process so far, as the backend's error.
bool cudaOk(const char *when, std::string &error) {
  const char *e = nova_cuda_error();
  if (!*e)
    return true;
  error = std::string("CUDA ") + when + ": " + e;
  return false;
}

class CudaBackend : public Backend {
public:
  explicit CudaBackend(const BackendOptions &options) : options(options) {}
  ~CudaBackend() override {
    params.clear();
    if (unload)
      unload();
  }
  const char *name() const override { return "cuda"; }
  const rt::ModuleManifest &manifest() const override { return contract; }

  bool compile(ModuleOp source, std::string &error) {
    OwningOpRef<ModuleOp> module(cast<ModuleOp>(source->clone()));
    if (failed(::mlir::nova::partitionForMesh(*module))) {
      error = "partitioning the module for its mesh failed (see the "
              "diagnostics above)";
      return false;
    }
    FailureOr<rt::ModuleManifest> manifest =
        ::mlir::nova::getOrDeriveManifest(*module);
    if (failed(manifest)) {
      error = "the module has no valid contract (see the diagnostics above)";
      return false;
    }
    contract = std::move(*manifest);
    auto start = std::chrono::steady_clock::now();
    FailureOr<std::string> ir = ::mlir::nova::compileCuda(
        *module, ::mlir::nova::CudaArtifact::HostLLVM, "native",
        ::mlir::nova::CudaPipelineOptions(), error,
        options.reportCompile ? &llvm::errs() : nullptr);
    if (failed(ir))
      return false;
    contract.target.kind = "cuda";
    contract.target.gpu = ::mlir::nova::CudaPipelineOptions().chip;
    if (!link(*ir, error))
      return false;
    if (options.reportCompile)
      llvm::errs() << "nova: compiled '" << contract.model << "' for CUDA ("
                   << contract.target.gpu << ") in "
                   << llvm::format("%.2f",
                                   std::chrono::duration<double>(
                                       std::chrono::steady_clock::now() - start)
                                       .count())
                   << " s\n";
    return cudaOk("could not load the kernels", error);
  }

  /// Links the host code into this process; the mgpu* calls resolve to
  /// Nova's launch runtime, the rest (libc, libm) to the process.
  bool link(const std::string &ir, std::string &error) {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    auto fail = [&](const std::string &what, llvm::Error e) {
      error = what + ": " + llvm::toString(std::move(e));
      return false;
    };
    auto context = std::make_unique<llvm::LLVMContext>();
    llvm::SMDiagnostic diagnostic;
    std::unique_ptr<llvm::Module> host = llvm::parseIR(
        llvm::MemoryBufferRef(ir, "host.ll"), diagnostic, *context);
    if (!host) {
      error =
          "cannot read the host code back: " + diagnostic.getMessage().str();
      return false;
    }
    // The kernels are loaded and unloaded here, not by static constructors.
    for (const char *name : {"llvm.global_ctors", "llvm.global_dtors"})
      if (llvm::GlobalVariable *list = host->getGlobalVariable(name))
        list->eraseFromParent();
    for (const char *name : {kLoad, kUnload})
      if (llvm::Function *f = host->getFunction(name))
        f->setLinkage(llvm::GlobalValue::ExternalLinkage);

    llvm::Expected<std::unique_ptr<llvm::orc::LLJIT>> created =
        llvm::orc::LLJITBuilder().create();
    if (!created)
      return fail("cannot create the JIT", created.takeError());
    jit = std::move(*created);
    llvm::orc::JITDylib &dylib = jit->getMainJITDylib();
    llvm::orc::MangleAndInterner mangle(jit->getExecutionSession(),
                                        jit->getDataLayout());
    llvm::orc::SymbolMap runtime;
    auto add = [&](const char *name, auto *fn) {
      runtime[mangle(name)] = {llvm::orc::ExecutorAddr::fromPtr(fn),
                               llvm::JITSymbolFlags::Exported};
    };
    add("mgpuModuleLoad", &mgpuModuleLoad);
    add("mgpuModuleLoadJIT", &mgpuModuleLoadJIT);
    add("mgpuModuleUnload", &mgpuModuleUnload);
    add("mgpuModuleGetFunction", &mgpuModuleGetFunction);
    add("mgpuStreamCreate", &mgpuStreamCreate);
    add("mgpuStreamDestroy", &mgpuStreamDestroy);
    add("mgpuStreamSynchronize", &mgpuStreamSynchronize);
    add("mgpuLaunchKernel", &mgpuLaunchKernel);
    add("mgpuMemAlloc", &mgpuMemAlloc);
    add("mgpuMemFree", &mgpuMemFree);
    if (llvm::Error e = dylib.define(llvm::orc::absoluteSymbols(runtime)))
      return fail("cannot define the CUDA runtime's symbols", std::move(e));
    if (llvm::Error e = jit->addIRModule(
            llvm::orc::ThreadSafeModule(std::move(host), std::move(context))))
      return fail("cannot link the compiled module", std::move(e));
    for (const rt::ManifestEntry &entry : contract.entries) {
      llvm::Expected<llvm::orc::ExecutorAddr> address =
          jit->lookup(entry.symbol + "_args");
      if (!address)
        return fail("cannot resolve entry point '" + entry.name + "'",
                    address.takeError());
      entryPoints[entry.symbol] = address->toPtr<void (*)(void *const *)>();
    }
    llvm::Expected<llvm::orc::ExecutorAddr> load = jit->lookup(kLoad);
    llvm::Expected<llvm::orc::ExecutorAddr> unloadAt = jit->lookup(kUnload);
    if (!load)
      return fail("the host code has no kernel loader", load.takeError());
    if (!unloadAt)
      return fail("the host code has no kernel unloader", unloadAt.takeError());
    load->toPtr<void (*)()>()();
    unload = unloadAt->toPtr<void (*)()>();
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
      if (t.dtype() != arg.dtype || t.shape() != arg.shape) {
        error = "checkpoint tensor '" + arg.name + "': expected " +
                std::string(rt::dtypeName(arg.dtype)) +
                rt::formatShape(arg.shape) + ", got " + t.describe();
        return false;
      }
      Managed buffer;
      if (!copyIn(t.bytes(), t.sizeInBytes(), buffer, error))
        return false;
      params[arg.name] = std::move(buffer);
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
    std::vector<Managed> owned;
    std::vector<void *> pointers;
    std::vector<size_t> outputBuffers;
    outputs.clear();
    size_t nextInput = 0;
    for (const rt::ManifestArg &arg : e->args) {
      if (arg.isInput()) {
        const HostTensor &in = inputs[nextInput++];
        owned.emplace_back();
        if (!copyIn(in.bytes(), in.sizeInBytes(), owned.back(), error))
          return false;
        pointers.push_back(owned.back().ptr);
      } else if (arg.isParameter()) {
        auto it = params.find(arg.name);
        if (it == params.end()) {
          error = "parameter '" + arg.name + "' is not bound (prepare)";
          return false;
        }
        pointers.push_back(it->second.ptr);
      } else {
        outputs.push_back(HostTensor::zeros(arg.dtype, arg.shape));
        owned.emplace_back();
        if (!copyIn(outputs.back().bytes(), outputs.back().sizeInBytes(),
                    owned.back(), error))
          return false;
        outputBuffers.push_back(owned.size() - 1);
        pointers.push_back(owned.back().ptr);
      }
    }
    entryPoints.at(e->symbol)(pointers.data());
    if (!cudaOk(("failed in '" + entry + "'").c_str(), error))
      return false;
    for (size_t i = 0; i < outputs.size(); ++i)
      std::memcpy(outputs[i].mutableBytes(), owned[outputBuffers[i]].ptr,
                  outputs[i].sizeInBytes());
    return true;
  }

private:
  /// A managed copy of `bytes`.
  static bool copyIn(const void *bytes, size_t size, Managed &out,
                     std::string &error) {
    out.ptr = nova_cuda_alloc(size);
    if (!out.ptr)
      return cudaOk("cannot allocate", error);
    if (size)
      std::memcpy(out.ptr, bytes, size);
    return true;
  }

  BackendOptions options;
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::map<std::string, void (*)(void *const *)> entryPoints;
  void (*unload)() = nullptr;
  rt::ModuleManifest contract;
  std::map<std::string, Managed> params;
};

} // namespace

namespace nova::backends {
std::unique_ptr<Backend> createCudaBackend(ModuleOp module, std::string &error,
                                           const BackendOptions &options) {
  auto backend = std::make_unique<CudaBackend>(options);
  if (!backend->compile(module, error))
    return nullptr;
  return backend;
}
} // namespace nova::backends
