//===- Emit.cpp - Nova's artifacts: ABI, C header, LLVM IR, objects -------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Pipelines/Emit.h"

#include "passes/Contract/Manifest.h"
#include "passes/Pipelines/ObjectCache.h"
#include "passes/Pipelines/Pipelines.h"

#include "dialect/NovaOps.h"
#include "nova/runtime/Text.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InlineAsm.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <chrono>
#include <map>

using namespace mlir;
using namespace mlir::nova;
namespace rt = ::nova::rt;

//===----------------------------------------------------------------------===//
// Symbols
//===----------------------------------------------------------------------===//

bool mlir::nova::isValidSymbolPrefix(StringRef prefix, std::string &error) {
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = prefix[i];
    if (llvm::isAlnum(c) || c == '_') {
      if (i == 0 && llvm::isDigit(c)) {
        error = "a C identifier cannot start with a digit";
        return false;
      }
      continue;
    }
    error = "character " + std::to_string(i + 1) + " ('" +
            rt::printable(prefix.substr(i, 1)) +
            "') is not a letter, digit or '_'";
    return false;
  }
  return true;
}

LogicalResult mlir::nova::prefixEntryPoints(ModuleOp module, StringRef prefix) {
  std::string why;
  if (!isValidSymbolPrefix(prefix, why))
    return module.emitError() << "symbol prefix '" << rt::printable(prefix)
                              << "' cannot start a C identifier: " << why;
  FailureOr<rt::ModuleManifest> manifest = getOrDeriveManifest(module);
  if (failed(manifest))
    return failure();
  for (rt::ManifestEntry &entry : manifest->entries)
    entry.symbol = (prefix + entry.name).str();
  attachManifest(module, *manifest);
  if (prefix.empty())
    return success();
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isExternal())
      func.setSymName((prefix + func.getName()).str());
  return success();
}

//===----------------------------------------------------------------------===//
// C header
//===----------------------------------------------------------------------===//

/// A C identifier for `name` ("transformer/decoder_layer_0/w.scales" ->
/// "transformer_decoder_layer_0_w_scales").
static std::string identifier(StringRef name) {
  std::string out;
  for (char c : name)
    out += llvm::isAlnum(c) ? c : '_';
  if (out.empty() || llvm::isDigit(out[0]))
    out = "_" + out;
  return out;
}

/// The C parameter name of `arg`: inputs keep their name, parameters get
/// "param_", outputs "out_" (an output may share an input's name, as a KV
/// cache does).
static std::string cName(const rt::ManifestArg &arg) {
  const char *prefix = arg.isParameter()                 ? "param_"
                       : arg.role == rt::ArgRole::Output ? "out_"
                                                         : "";
  return prefix + identifier(arg.name);
}

/// The header's argument kinds: enum nova_arg_kind.
static int cKind(const rt::ManifestArg &arg) {
  return arg.isInput() ? 0 : arg.isParameter() ? 1 : 2;
}

/// The C element type and the dtype spelling of the C ABI (i1 for booleans).
static std::pair<const char *, const char *> cType(rt::DType dtype) {
  switch (dtype) {
  case rt::DType::F32:
    return {"float", "f32"};
  case rt::DType::BF16:
    return {"nova_bf16_t", "bf16"};
  case rt::DType::F16:
    return {"nova_f16_t", "f16"};
  case rt::DType::Bool:
    return {"uint8_t", "i1"};
  case rt::DType::I8:
    return {"int8_t", "i8"};
  case rt::DType::I32:
    return {"int32_t", "i32"};
  case rt::DType::I64:
    return {"int64_t", "i64"};
  }
  return {"void", "?"};
}

/// The prototype, packed variant, argument table and element counts of one
/// entry.
static void emitEntryDeclarations(const rt::ManifestEntry &entry,
                                  raw_ostream &os) {
  const std::string &fn = entry.symbol;
  std::string upper = StringRef(identifier(fn)).upper();
  std::optional<size_t> comm = entry.communicatorIndex();
  os << "/* " << fn << ":\n";
  for (const rt::ManifestArg &arg : entry.args) {
    if (!arg.isBuffer()) {
      os << " *   comm    " << arg.name
         << "  MPICH MPI_Comm of the whole mesh, passed by value\n";
      continue;
    }
    const char *kind = arg.isInput()       ? "input "
                       : arg.isParameter() ? "param "
                                           : "output";
    os << " *   " << kind << "  " << arg.name << "  " << cType(arg.dtype).second
       << "[";
    llvm::interleave(arg.shape, os, ", ");
    os << "]\n";
  }
  if (comm)
    os << " * A per-rank SPMD program: every rank of the communicator calls "
          "it, rank r\n"
          " * with the parameters' shards of mesh device r (docs/abi.md).\n";
  os << " */\n";
  os << "#define " << upper << "_NUM_ARGS " << entry.numBuffers() << "\n";
  os << "void " << fn << "(";
  bool first = true;
  for (const rt::ManifestArg &arg : entry.args) {
    os << (first ? "\n    " : ",\n    ");
    first = false;
    if (!arg.isBuffer()) {
      os << "int32_t " << identifier(arg.name) << " /* MPICH MPI_Comm */";
      continue;
    }
    if (arg.isRead())
      os << "const ";
    os << cType(arg.dtype).first << " *" << cName(arg);
  }
  os << ");\n";
  if (comm) {
    os << "/* The same call with args[i] = the i-th buffer above (all "
          "but the\n * communicator, which is passed as is). */\n";
    os << "void " << fn << "_args(void *const *args, int32_t "
       << identifier(entry.args[*comm].name) << " /* MPICH MPI_Comm */);\n";
  } else {
    os << "/* The same call with args[i] = the i-th argument above. */\n";
    os << "void " << fn << "_args(void *const *args);\n";
  }
  os << "static const struct nova_arg_info " << identifier(fn) << "_arg_info["
     << entry.numBuffers() << "] = {\n";
  for (const rt::ManifestArg &arg : entry.args) {
    if (!arg.isBuffer())
      continue;
    os << "  {\"" << arg.name << "\", " << cKind(arg) << ", \""
       << cType(arg.dtype).second << "\", " << arg.shape.size() << ", {";
    llvm::interleaveComma(arg.shape, os);
    os << "}, " << arg.bytes() << "},\n";
  }
  os << "};\n";
  // Shapes and element counts for programmatic use.
  for (const rt::ManifestArg &arg : entry.args)
    if (arg.isBuffer())
      os << "#define " << upper << "_" << StringRef(cName(arg)).upper()
         << "_ELEMENTS " << arg.numElements() << "\n";
  os << "\n";
}

void mlir::nova::emitHeader(const rt::ModuleManifest &manifest,
                            StringRef prefix, StringRef source,
                            raw_ostream &os) {
  std::string body;
  llvm::raw_string_ostream bs(body);
  for (const rt::ManifestEntry &entry : manifest.entries)
    emitEntryDeclarations(entry, bs);
  // The full model name and prefix make the guard readable; the hash of the
  // declarations (FNV-1a over model, prefix and body) keeps two models that
  // share both, e.g. two specs called model.yaml, from sharing it.
  uint64_t hash = 0xcbf29ce484222325ull;
  for (StringRef part : {StringRef(manifest.model), prefix, StringRef(body)})
    for (char c : part.str() + '\0') {
      hash ^= static_cast<unsigned char>(c);
      hash *= 0x100000001b3ull;
    }
  std::string guard =
      "NOVA_GENERATED_" +
      StringRef(identifier(manifest.model.empty() ? "module" : manifest.model))
          .upper() +
      "_" +
      StringRef(identifier(prefix.empty() ? "noprefix" : prefix)).upper() +
      llvm::utohexstr(hash, /*LowerCase=*/false, /*Width=*/16) + "_H";
  os << "/* Generated by nova-opt --emit=header from " << rt::printable(source)
     << ". Do not edit.\n"
     << " *\n"
     << " * Each entry point takes caller-owned, densely packed, row-major\n"
     << " * buffers: its inputs (read only), then its parameters sorted by\n"
     << " * path (read only; a quantized weight is followed by its scales),\n"
     << " * then its outputs (written). bf16 and f16 elements are passed as\n"
     << " * their 16-bit patterns; buffers must not overlap. The functions\n"
     << " * are thread-compatible, keep no state between calls and run large\n"
     << " * kernels on OpenMP threads (link -lomp); see docs/abi.md.";
  if (manifest.isSpmd())
    os << " Each\n"
       << " * entry is one rank's program of an SPMD module: it also takes,\n"
       << " * right after its inputs, the int32_t MPI communicator of the\n"
       << " * whole mesh (MPICH ABI: link libmpich.so.12), and its parameter\n"
       << " * buffers are that rank's shards.";
  os << " */\n"
     << "#ifndef " << guard << "\n#define " << guard << "\n\n"
     << "#include <stdint.h>\n\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
     << "#ifndef NOVA_ELEMENT_TYPES_DEFINED\n"
     << "#define NOVA_ELEMENT_TYPES_DEFINED\n"
     << "typedef uint16_t nova_bf16_t;\ntypedef uint16_t nova_f16_t;\n\n"
     << "/* One argument of an entry point, in ABI order. */\n"
     << "enum nova_arg_kind { NOVA_ARG_INPUT = 0, NOVA_ARG_PARAM = 1, "
        "NOVA_ARG_OUTPUT = 2 };\n"
     << "struct nova_arg_info {\n"
     << "  const char *name;   /* input/output name, or parameter path */\n"
     << "  int kind;           /* enum nova_arg_kind */\n"
     << "  const char *dtype;  /* f32, bf16, f16, i1, i8, i32, i64 */\n"
     << "  int rank;\n"
     << "  int64_t shape[8];\n"
     << "  int64_t bytes;      /* size of the dense buffer */\n"
     << "};\n"
     << "#endif\n\n"
     << body << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard
     << " */\n";
}

//===----------------------------------------------------------------------===//
// LLVM IR and objects
//===----------------------------------------------------------------------===//

/// The LLVM target of the host's triple (and the triple).
static const llvm::Target *hostTarget(llvm::Triple &triple,
                                      std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  // The object's CPU check is inline assembly (cpuid, xgetbv).
  llvm::InitializeNativeTargetAsmParser();
  triple = llvm::Triple(llvm::sys::getProcessTriple());
  return llvm::TargetRegistry::lookupTarget(triple, error);
}

/// Checks that LLVM knows `cpu` for the host's architecture; the error lists
/// the names it knows and suggests the closest.
static bool checkCpuName(StringRef cpu, std::string &error) {
  llvm::Triple triple;
  const llvm::Target *target = hostTarget(triple, error);
  if (!target)
    return false;
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!info || info->isCPUStringValid(cpu))
    return true;
  std::vector<std::string> names;
  std::string closest;
  unsigned best = ~0u;
  for (const llvm::SubtargetSubTypeKV &kv :
       info->getAllProcessorDescriptions()) {
    names.push_back(kv.Key);
    unsigned d = cpu.edit_distance(kv.Key, /*AllowReplacements=*/true);
    if (d < best) {
      best = d;
      closest = kv.Key;
    }
  }
  error = "unknown --target-cpu '" + rt::printable(cpu) + "' for " +
          triple.getArchName().str();
  if (best <= 3)
    error += " (did you mean '" + closest + "'?)";
  error += "; use 'native' or one of: " + llvm::join(names, ", ");
  return false;
}

FailureOr<rt::ManifestTarget> mlir::nova::describeTarget(StringRef cpu,
                                                         std::string &error) {
  rt::ManifestTarget target{"cpu", cpu.str(), ""};
  if (cpu != "native" && !checkCpuName(cpu, error))
    return failure();
  if (cpu == "native") {
    target.cpu = llvm::sys::getHostCPUName().str();
    std::vector<std::string> list;
    for (auto &f : llvm::sys::getHostCPUFeatures())
      list.push_back((f.second ? "+" : "-") + f.getKey().str());
    std::sort(list.begin(), list.end()); // deterministic
    target.features = llvm::join(list, ",");
  }
  return target;
}

/// A target machine for the host triple and `cpu` (with the host's
/// features for "native").
static std::unique_ptr<llvm::TargetMachine>
makeTargetMachine(StringRef cpu, std::string &error) {
  llvm::Triple triple;
  const llvm::Target *target = hostTarget(triple, error);
  if (!target)
    return nullptr;
  FailureOr<rt::ManifestTarget> described = describeTarget(cpu, error);
  if (failed(described))
    return nullptr;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, described->cpu, described->features, llvm::TargetOptions(),
      llvm::Reloc::PIC_, std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!tm)
    error = "cannot create a target machine for CPU '" + described->cpu + "'";
  return tm;
}

/// The module's contract (derived if it has none) with the target `cpu`
/// resolves to.
static FailureOr<rt::ModuleManifest>
targetManifest(ModuleOp module, StringRef cpu, std::string &error) {
  FailureOr<rt::ModuleManifest> manifest = getOrDeriveManifest(module);
  FailureOr<rt::ManifestTarget> target = describeTarget(cpu, error);
  if (failed(manifest) || failed(target)) {
    if (error.empty())
      error = "cannot describe the module's contract";
    return failure();
  }
  manifest->target = *target;
  return manifest;
}

namespace {
/// The phase lines of a compile on `os` (none without one).
class PhaseReport {
public:
  PhaseReport(llvm::raw_ostream *os, ModuleOp module) : os(os) {
    if (auto model = module->getAttrOfType<StringAttr>("nova.model"))
      name = model.getValue().str();
  }
  void begin(StringRef phase) {
    current = phase.str();
    start = std::chrono::steady_clock::now();
    if (os)
      *os << "nova: " << name << ": " << current << "...\n";
  }
  void end() {
    if (!os)
      return;
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    *os << "nova: " << name << ": " << current << " took "
        << llvm::format("%.1f", seconds) << " s\n";
    os->flush();
  }

private:
  llvm::raw_ostream *os;
  std::string name = "module", current;
  std::chrono::steady_clock::time_point start;
};
} // namespace

FailureOr<std::unique_ptr<llvm::Module>>
mlir::nova::lowerToLLVMIR(ModuleOp module, llvm::LLVMContext &context,
                          StringRef cpu, const CpuPipelineOptions &options,
                          std::string &error, llvm::raw_ostream *progress,
                          PassManagerSetup setup) {
  PhaseReport report(progress, module);
  // The contract is fixed before lowering, with the target it is built for.
  FailureOr<rt::ModuleManifest> manifest = targetManifest(module, cpu, error);
  if (failed(manifest))
    return failure();
  attachManifest(module, *manifest);
  PassManager pm(module.getContext());
  if (setup && failed(setup(pm))) {
    error = "cannot set up the pass manager";
    return failure();
  }
  report.begin("nova-cpu-pipeline");
  if (failed(buildNovaCpuPipeline(pm, options)) || failed(pm.run(module))) {
    error = "nova-cpu-pipeline failed";
    return failure();
  }
  report.end();
  stripNovaAbiAttributes(module);
  registerBuiltinDialectTranslation(*module.getContext());
  registerLLVMDialectTranslation(*module.getContext());
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context, "nova");
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return failure();
  }
  std::unique_ptr<llvm::TargetMachine> tm = makeTargetMachine(cpu, error);
  if (!tm)
    return failure();
  llvmModule->setDataLayout(tm->createDataLayout());
  llvmModule->setTargetTriple(tm->getTargetTriple());
  if (failed(addSoftFloatHelpers(*llvmModule))) {
    error = "cannot add the bf16 conversion helpers";
    return failure();
  }
  tuneForTarget(*llvmModule, *tm);
  report.begin("LLVM -O3");
  // -O3 for the target.
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(tm.get());
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3)
      .run(*llvmModule, mam);
  report.end();
  return llvmModule;
}

void mlir::nova::addPackedEntryPoints(llvm::Module &module,
                                      const rt::ModuleManifest &manifest) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  llvm::Type *i32 = llvm::Type::getInt32Ty(ctx);
  for (const rt::ManifestEntry &entry : manifest.entries) {
    llvm::Function *target = module.getFunction(entry.symbol);
    if (!target)
      continue;
    std::optional<size_t> comm = entry.communicatorIndex();
    std::vector<llvm::Type *> params = {ptr};
    if (comm)
      params.push_back(i32);
    auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), params,
                                         /*isVarArg=*/false);
    auto *wrapper =
        llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                               entry.symbol + "_args", module);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", wrapper));
    std::vector<llvm::Value *> args;
    unsigned buffer = 0;
    for (unsigned i = 0; i < target->arg_size(); ++i) {
      if (comm == i) {
        args.push_back(wrapper->getArg(1));
        continue;
      }
      llvm::Value *slot =
          b.CreateConstInBoundsGEP1_64(ptr, wrapper->getArg(0), buffer++);
      args.push_back(b.CreateLoad(ptr, slot));
    }
    b.CreateCall(target, args);
    b.CreateRetVoid();
  }
}

LogicalResult mlir::nova::emitObject(llvm::Module &module, StringRef cpu,
                                     llvm::raw_pwrite_stream &os,
                                     std::string &error) {
  std::unique_ptr<llvm::TargetMachine> tm = makeTargetMachine(cpu, error);
  if (!tm)
    return failure();
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, os, nullptr,
                              llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return failure();
  }
  pm.run(module);
  return success();
}

//===----------------------------------------------------------------------===//
// The CPU check of an object
//===----------------------------------------------------------------------===//

namespace {
/// Where CPUID reports an LLVM target feature: leaf, subleaf, register
/// (0 eax .. 3 edx) and bit; `xcr0` is the XGETBV mask of the register state
/// the OS must enable for it (AVX: ymm; AVX-512: zmm and k; AMX: tiles).
struct CpuidFeature {
  const char *name;
  uint32_t leaf, subleaf;
  unsigned reg, bit;
  uint64_t xcr0;
};
constexpr uint64_t kYmm = 0x6, kZmm = 0xe6, kTiles = 0x60000;
constexpr CpuidFeature kCpuidFeatures[] = {
    {"sse", 1, 0, 3, 25, 0},
    {"sse2", 1, 0, 3, 26, 0},
    {"sse3", 1, 0, 2, 0, 0},
    {"ssse3", 1, 0, 2, 9, 0},
    {"fma", 1, 0, 2, 12, kYmm},
    {"sse4.1", 1, 0, 2, 19, 0},
    {"sse4.2", 1, 0, 2, 20, 0},
    {"movbe", 1, 0, 2, 22, 0},
    {"popcnt", 1, 0, 2, 23, 0},
    {"avx", 1, 0, 2, 28, kYmm},
    {"f16c", 1, 0, 2, 29, kYmm},
    {"bmi", 7, 0, 1, 3, 0},
    {"avx2", 7, 0, 1, 5, kYmm},
    {"bmi2", 7, 0, 1, 8, 0},
    {"avx512f", 7, 0, 1, 16, kZmm},
    {"avx512dq", 7, 0, 1, 17, kZmm},
    {"avx512ifma", 7, 0, 1, 21, kZmm},
    {"avx512cd", 7, 0, 1, 28, kZmm},
    {"avx512bw", 7, 0, 1, 30, kZmm},
    {"avx512vl", 7, 0, 1, 31, kZmm},
    {"avx512vbmi", 7, 0, 2, 1, kZmm},
    {"avx512vbmi2", 7, 0, 2, 6, kZmm},
    {"gfni", 7, 0, 2, 8, 0},
    {"vaes", 7, 0, 2, 9, kYmm},
    {"vpclmulqdq", 7, 0, 2, 10, kYmm},
    {"avx512vnni", 7, 0, 2, 11, kZmm},
    {"avx512bitalg", 7, 0, 2, 12, kZmm},
    {"avx512vpopcntdq", 7, 0, 2, 14, kZmm},
    {"amx-bf16", 7, 0, 3, 22, kTiles},
    {"avx512fp16", 7, 0, 3, 23, kZmm},
    {"amx-tile", 7, 0, 3, 24, kTiles},
    {"amx-int8", 7, 0, 3, 25, kTiles},
    {"avxvnni", 7, 1, 0, 4, kYmm},
    {"avx512bf16", 7, 1, 0, 5, kZmm},
    {"lzcnt", 0x80000001u, 0, 2, 5, 0},
};
} // namespace

/// Makes every entry of `module` check, on its first call, that the CPU it
/// runs on has the instruction-set features `cpu` enables (those of
/// kCpuidFeatures, with the OS support for their registers): without them
/// it writes "nova: <model> was compiled for <cpu>; this CPU lacks: ..." to
/// stderr and aborts, where the code would otherwise die of SIGILL somewhere
/// inside. Nothing is added when every feature is baseline x86-64.
static LogicalResult addCpuCheck(llvm::Module &module,
                                 const rt::ModuleManifest &manifest,
                                 StringRef cpu, std::string &error) {
  std::unique_ptr<llvm::TargetMachine> tm = makeTargetMachine(cpu, error);
  if (!tm)
    return failure();
  std::vector<const CpuidFeature *> needed;
  for (const CpuidFeature &f : kCpuidFeatures)
    if (tm->getMCSubtargetInfo()->checkFeatures(std::string("+") + f.name) &&
        StringRef(f.name) != "sse" && StringRef(f.name) != "sse2")
      needed.push_back(&f);
  if (needed.empty())
    return success();
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *i32 = llvm::Type::getInt32Ty(ctx),
             *i64 = llvm::Type::getInt64Ty(ctx);
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  llvm::Type *voidTy = llvm::Type::getVoidTy(ctx);
  auto *checked = new llvm::GlobalVariable(
      module, i32, false, llvm::GlobalValue::InternalLinkage,
      llvm::ConstantInt::get(i32, 0), "nova.cpu_checked");
  auto *check = llvm::Function::Create(llvm::FunctionType::get(voidTy, false),
                                       llvm::GlobalValue::InternalLinkage,
                                       "nova.check_cpu", module);
  check->addFnAttr(llvm::Attribute::NoInline);
  check->addFnAttr(llvm::Attribute::Cold);
  llvm::FunctionCallee writeFn = module.getOrInsertFunction(
      "write", llvm::FunctionType::get(i64, {i32, ptr, i64}, false));
  llvm::FunctionCallee abortFn = module.getOrInsertFunction(
      "abort", llvm::FunctionType::get(voidTy, false));

  auto *entry = llvm::BasicBlock::Create(ctx, "entry", check);
  auto *run = llvm::BasicBlock::Create(ctx, "run", check);
  auto *done = llvm::BasicBlock::Create(ctx, "done", check);
  llvm::IRBuilder<> b(entry);
  b.CreateCondBr(b.CreateICmpNE(b.CreateLoad(i32, checked), b.getInt32(0)),
                 done, run);
  b.SetInsertPoint(done);
  b.CreateRetVoid();

  b.SetInsertPoint(run);
  auto *regs = llvm::StructType::get(ctx, {i32, i32, i32, i32});
  auto *cpuidAsm = llvm::InlineAsm::get(
      llvm::FunctionType::get(regs, {i32, i32}, false), "cpuid",
      "={ax},={bx},={cx},={dx},{ax},{cx}", /*hasSideEffects=*/false);
  std::map<std::pair<uint32_t, uint32_t>, llvm::Value *> leaves;
  auto cpuid = [&](uint32_t leaf, uint32_t sub) {
    llvm::Value *&r = leaves[{leaf, sub}];
    if (!r)
      r = b.CreateCall(cpuidAsm, {b.getInt32(leaf), b.getInt32(sub)});
    return r;
  };
  // The highest basic and extended leaves: a missing leaf reads as zeros.
  llvm::Value *maxBasic = b.CreateExtractValue(cpuid(0, 0), 0);
  llvm::Value *maxExt = b.CreateExtractValue(cpuid(0x80000000u, 0), 0);
  // XCR0, when the OS enabled XSAVE (leaf 1, ecx bit 27), else 0.
  llvm::Value *osxsave = b.CreateAnd(
      b.CreateLShr(b.CreateExtractValue(cpuid(1, 0), 2), 27), b.getInt32(1));
  auto *xgetbvBlock = llvm::BasicBlock::Create(ctx, "xgetbv", check);
  auto *features = llvm::BasicBlock::Create(ctx, "features", check);
  llvm::BasicBlock *before = b.GetInsertBlock();
  b.CreateCondBr(b.CreateICmpNE(osxsave, b.getInt32(0)), xgetbvBlock, features);
  b.SetInsertPoint(xgetbvBlock);
  auto *xgetbvAsm = llvm::InlineAsm::get(
      llvm::FunctionType::get(llvm::StructType::get(ctx, {i32, i32}), {i32},
                              false),
      "xgetbv", "={ax},={dx},{cx}", false);
  llvm::Value *xr = b.CreateCall(xgetbvAsm, {b.getInt32(0)});
  llvm::Value *xcr0 = b.CreateOr(
      b.CreateZExt(b.CreateExtractValue(xr, 0), i64),
      b.CreateShl(b.CreateZExt(b.CreateExtractValue(xr, 1), i64), 32));
  b.CreateBr(features);
  b.SetInsertPoint(features);
  llvm::PHINode *xcr = b.CreatePHI(i64, 2);
  xcr->addIncoming(b.getInt64(0), before);
  xcr->addIncoming(xcr0, xgetbvBlock);

  // missing = OR over features of (not present) << index.
  llvm::Value *missingAny = b.getFalse();
  std::vector<llvm::Value *> missing;
  for (const CpuidFeature *f : needed) {
    llvm::Value *maxLeaf = f->leaf >= 0x80000000u ? maxExt : maxBasic;
    llvm::Value *hasLeaf = b.CreateICmpUGE(maxLeaf, b.getInt32(f->leaf));
    llvm::Value *reg = b.CreateExtractValue(cpuid(f->leaf, f->subleaf), f->reg);
    llvm::Value *bit = b.CreateICmpNE(
        b.CreateAnd(reg, b.getInt32(1u << f->bit)), b.getInt32(0));
    llvm::Value *os = b.getTrue();
    if (f->xcr0)
      os = b.CreateICmpEQ(b.CreateAnd(xcr, b.getInt64(f->xcr0)),
                          b.getInt64(f->xcr0));
    llvm::Value *lacks =
        b.CreateNot(b.CreateAnd(hasLeaf, b.CreateAnd(bit, os)));
    missing.push_back(lacks);
    missingAny = b.CreateOr(missingAny, lacks);
  }
  auto *ok = llvm::BasicBlock::Create(ctx, "ok", check);
  auto *fail = llvm::BasicBlock::Create(ctx, "fail", check);
  b.CreateCondBr(missingAny, fail, ok);
  b.SetInsertPoint(ok);
  b.CreateStore(b.getInt32(1), checked);
  b.CreateRetVoid();

  b.SetInsertPoint(fail);
  auto say = [&](const std::string &text) {
    llvm::Value *str = b.CreateGlobalString(text, "nova.cpu_message");
    b.CreateCall(writeFn, {b.getInt32(2), str, b.getInt64(text.size())});
  };
  say("nova: '" + rt::printable(manifest.model) +
      "' was compiled for --target-cpu=" + cpu.str() + "; this CPU lacks:");
  for (size_t i = 0; i < needed.size(); ++i) {
    auto *yes = llvm::BasicBlock::Create(ctx, "lacks", check);
    auto *next = llvm::BasicBlock::Create(ctx, "next", check);
    b.CreateCondBr(missing[i], yes, next);
    b.SetInsertPoint(yes);
    say(std::string(" ") + needed[i]->name);
    b.CreateBr(next);
    b.SetInsertPoint(next);
  }
  say("\n(recompile with a --target-cpu this machine has, e.g. x86-64-v3)\n");
  b.CreateCall(abortFn);
  b.CreateUnreachable();

  // Every entry calls it first (after its allocas, which stay static).
  for (const rt::ManifestEntry &e : manifest.entries) {
    llvm::Function *fn = module.getFunction(e.symbol);
    if (!fn || fn->empty())
      continue;
    llvm::BasicBlock &first = fn->getEntryBlock();
    auto it = first.begin();
    while (it != first.end() && llvm::isa<llvm::AllocaInst>(*it))
      ++it;
    llvm::IRBuilder<>(&first, it).CreateCall(check);
  }
  return success();
}

FailureOr<std::string> mlir::nova::compileObject(
    ModuleOp module, StringRef cpu, const CpuPipelineOptions &options,
    const std::optional<std::string> &cacheDirectory, std::string &error,
    bool *hit, llvm::raw_ostream *progress, PassManagerSetup setup,
    bool checkCpu) {
  PhaseReport report(progress, module);
  if (hit)
    *hit = false;
  FailureOr<rt::ModuleManifest> manifest = targetManifest(module, cpu, error);
  if (failed(manifest))
    return failure();
  const rt::ManifestTarget &target = manifest->target;
  std::optional<std::string> key;
  if (cacheDirectory) {
    std::string optionText;
    llvm::raw_string_ostream optionStream(optionText);
    options.print(optionStream);
    key = objectCacheKey(module,
                         target.cpu + ";" + target.features +
                             (checkCpu ? ";cpu-check" : ""),
                         optionText);
    if (key)
      if (std::optional<std::string> cached =
              readCachedObject(*cacheDirectory, *key)) {
        if (hit)
          *hit = true;
        return std::move(*cached);
      }
  }
  llvm::LLVMContext llvmContext;
  FailureOr<std::unique_ptr<llvm::Module>> llvmModule =
      lowerToLLVMIR(module, llvmContext, cpu, options, error, progress, setup);
  if (failed(llvmModule))
    return failure();
  addPackedEntryPoints(**llvmModule, *manifest);
  if (checkCpu && failed(addCpuCheck(**llvmModule, *manifest, cpu, error)))
    return failure();
  llvm::SmallVector<char, 0> object;
  llvm::raw_svector_ostream objectStream(object);
  report.begin("code generation");
  if (failed(emitObject(**llvmModule, cpu, objectStream, error)))
    return failure();
  report.end();
  std::string bytes(object.begin(), object.end());
  if (key) {
    std::string warning = writeCachedObject(*cacheDirectory, *key, bytes);
    if (!warning.empty())
      llvm::errs() << "nova: warning: " << warning << "\n";
  }
  return bytes;
}
