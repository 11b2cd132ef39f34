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
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/InlineAsm.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/Linker/Linker.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Transforms/Utils/Cloning.h"

#include <chrono>
#include <map>

using namespace mlir;
using namespace mlir::nova;
namespace rt = ::nova::rt;

//===----------------------------------------------------------------------===//
// Symbols
//===----------------------------------------------------------------------===//

/// The module attribute prefixEntryPoints records its prefix in.
static constexpr llvm::StringLiteral kSymbolPrefixAttr = "nova.symbol_prefix";
/// `const char *<prefix>cpu_tier(void)`: the tier an object runs.
static constexpr llvm::StringLiteral kTierQuery = "cpu_tier";

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
  for (rt::ManifestEntry &entry : manifest->entries) {
    if (entry.name == kTierQuery) {
      Operation *at = module.lookupSymbol(entry.name);
      return (at ? at : module.getOperation())->emitError()
             << "an entry point cannot be called '" << kTierQuery
             << "': the object's tier query has that name";
    }
    entry.symbol = (prefix + entry.name).str();
  }
  attachManifest(module, *manifest);
  // The object's other public symbols (its tier query) take it too.
  module->setAttr(kSymbolPrefixAttr,
                  StringAttr::get(module.getContext(), prefix));
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
  bs << "/* The instruction-set tier the entry points run on this machine: "
        "the\n"
        " * object's --target-cpu or, in an object compiled for several "
        "tiers,\n"
        " * the one chosen at the first call (NOVA_CPU_TIER overrides it; "
        "docs/abi.md). */\n"
     << "const char *" << prefix << kTierQuery << "(void);\n\n";
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
// Targets and their tiers
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
/// The features beyond baseline x86-64 (SSE2) that an object's CPU check
/// and tier choice look at.
constexpr CpuidFeature kCpuidFeatures[] = {
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
using FeatureList = std::vector<const CpuidFeature *>;
} // namespace

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

/// The features of kCpuidFeatures that `tier` enables.
static FeatureList tierFeatures(const rt::ManifestTier &tier) {
  llvm::Triple triple;
  std::string error;
  FeatureList list;
  const llvm::Target *target = hostTarget(triple, error);
  if (!target)
    return list;
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      target->createMCSubtargetInfo(triple, tier.cpu, tier.features));
  for (const CpuidFeature &f : kCpuidFeatures)
    if (info && info->checkFeatures(std::string("+") + f.name))
      list.push_back(&f);
  return list;
}

/// One CPU name: "native" resolves to the host CPU and its features.
static FailureOr<rt::ManifestTier> describeTier(StringRef cpu,
                                                std::string &error) {
  if (cpu != "native") {
    if (!checkCpuName(cpu, error))
      return failure();
    return rt::ManifestTier{cpu.str(), ""};
  }
  std::vector<std::string> list;
  for (auto &f : llvm::sys::getHostCPUFeatures())
    list.push_back((f.second ? "+" : "-") + f.getKey().str());
  std::sort(list.begin(), list.end()); // deterministic
  return rt::ManifestTier{llvm::sys::getHostCPUName().str(),
                          llvm::join(list, ",")};
}

FailureOr<rt::ManifestTarget> mlir::nova::describeTarget(StringRef cpus,
                                                         std::string &error) {
  llvm::SmallVector<StringRef> names;
  cpus.split(names, ',', /*MaxSplit=*/-1, /*KeepEmpty=*/true);
  std::vector<rt::ManifestTier> tiers;
  for (StringRef name : names) {
    if (name.empty()) {
      error = "--target-cpu '" + rt::printable(cpus) +
              "' has an empty CPU name (expected CPU[,CPU...])";
      return failure();
    }
    if (name == "native" && names.size() > 1) {
      error = "--target-cpu 'native' is the building machine's CPU and "
              "cannot be one of several tiers";
      return failure();
    }
    if (llvm::count(names, name) > 1) {
      error = "--target-cpu names '" + rt::printable(name) + "' twice";
      return failure();
    }
    FailureOr<rt::ManifestTier> tier = describeTier(name, error);
    if (failed(tier))
      return failure();
    tiers.push_back(*tier);
  }
  // Every tier runs only where the baseline does: it must have all of the
  // baseline's features.
  FeatureList base = tierFeatures(tiers.front());
  for (size_t i = 1; i < tiers.size(); ++i) {
    FeatureList has = tierFeatures(tiers[i]);
    std::vector<std::string> lacks;
    for (const CpuidFeature *f : base)
      if (!llvm::is_contained(has, f))
        lacks.push_back(f->name);
    if (!lacks.empty()) {
      error = "--target-cpu tier '" + tiers[i].cpu +
              "' lacks features of the baseline '" + tiers.front().cpu + "' (" +
              llvm::join(lacks, " ") +
              "); list the baseline first, then higher tiers";
      return failure();
    }
  }
  rt::ManifestTarget target{
      "cpu", tiers.front().cpu, tiers.front().features, {}};
  target.tiers.assign(tiers.begin() + 1, tiers.end());
  return target;
}

/// The baseline, then the higher tiers.
static std::vector<rt::ManifestTier>
allTiers(const rt::ManifestTarget &target) {
  std::vector<rt::ManifestTier> tiers = {{target.cpu, target.features}};
  tiers.insert(tiers.end(), target.tiers.begin(), target.tiers.end());
  return tiers;
}

FailureOr<std::vector<std::string>>
mlir::nova::featuresHostLacks(StringRef cpu, std::string &error) {
  FailureOr<rt::ManifestTarget> target = describeTarget(cpu, error);
  if (failed(target))
    return failure();
  llvm::StringMap<bool> host = llvm::sys::getHostCPUFeatures();
  std::vector<std::string> lacks;
  for (const rt::ManifestTier &tier : allTiers(*target))
    for (const CpuidFeature *f : tierFeatures(tier))
      if (!host.lookup(f->name) && !llvm::is_contained(lacks, f->name))
        lacks.push_back(f->name);
  return lacks;
}

LogicalResult mlir::nova::checkHostRuns(StringRef cpu, std::string &error) {
  FailureOr<std::vector<std::string>> lacks = featuresHostLacks(cpu, error);
  if (failed(lacks))
    return failure();
  if (lacks->empty())
    return success();
  error = "the host CPU cannot run code for '" + cpu.str() + "': it lacks " +
          llvm::join(*lacks, " ");
  return failure();
}

FailureOr<std::vector<std::string>>
mlir::nova::cpuFeatures(StringRef cpu, std::string &error) {
  FailureOr<rt::ManifestTarget> target = describeTarget(cpu, error);
  if (failed(target))
    return failure();
  std::vector<std::string> names;
  for (const CpuidFeature *f : tierFeatures(allTiers(*target).back()))
    names.push_back(f->name);
  return names;
}

/// A target machine for the host triple and `tier`.
static std::unique_ptr<llvm::TargetMachine>
makeTargetMachine(const rt::ManifestTier &tier, std::string &error) {
  llvm::Triple triple;
  const llvm::Target *target = hostTarget(triple, error);
  if (!target)
    return nullptr;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, tier.cpu, tier.features, llvm::TargetOptions(), llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!tm)
    error = "cannot create a target machine for CPU '" + tier.cpu + "'";
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

//===----------------------------------------------------------------------===//
// Choosing a tier at run time
//===----------------------------------------------------------------------===//

namespace {
/// Builds, in one function, the code that reads the CPU's features (CPUID,
/// and XGETBV for the register state the OS enabled) and writes messages to
/// stderr.
class CpuProbe {
public:
  CpuProbe(llvm::Function *fn, llvm::IRBuilder<> &b) : fn(fn), b(b) {
    llvm::LLVMContext &ctx = fn->getContext();
    i32 = b.getInt32Ty();
    i64 = b.getInt64Ty();
    auto *regs = llvm::StructType::get(ctx, {i32, i32, i32, i32});
    cpuidAsm = llvm::InlineAsm::get(
        llvm::FunctionType::get(regs, {i32, i32}, false), "cpuid",
        "={ax},={bx},={cx},={dx},{ax},{cx}", /*hasSideEffects=*/false);
    // The highest basic and extended leaves: a missing leaf reads as 0s.
    maxBasic = b.CreateExtractValue(cpuid(0, 0), 0);
    maxExt = b.CreateExtractValue(cpuid(0x80000000u, 0), 0);
    // XCR0, when the OS enabled XSAVE (leaf 1, ecx bit 27), else 0.
    llvm::Value *osxsave =
        b.CreateAnd(b.CreateLShr(b.CreateExtractValue(cpuid(1, 0), 2), 27), 1);
    auto *read = llvm::BasicBlock::Create(ctx, "xgetbv", fn);
    auto *join = llvm::BasicBlock::Create(ctx, "features", fn);
    llvm::BasicBlock *before = b.GetInsertBlock();
    b.CreateCondBr(b.CreateICmpNE(osxsave, b.getInt32(0)), read, join);
    b.SetInsertPoint(read);
    auto *xgetbvAsm = llvm::InlineAsm::get(
        llvm::FunctionType::get(llvm::StructType::get(ctx, {i32, i32}), {i32},
                                false),
        "xgetbv", "={ax},={dx},{cx}", false);
    llvm::Value *xr = b.CreateCall(xgetbvAsm, {b.getInt32(0)});
    llvm::Value *value = b.CreateOr(
        b.CreateZExt(b.CreateExtractValue(xr, 0), i64),
        b.CreateShl(b.CreateZExt(b.CreateExtractValue(xr, 1), i64), 32));
    b.CreateBr(join);
    b.SetInsertPoint(join);
    llvm::PHINode *phi = b.CreatePHI(i64, 2);
    phi->addIncoming(b.getInt64(0), before);
    phi->addIncoming(value, read);
    xcr0 = phi;
  }

  /// i1: the CPU (or its OS) lacks `f`.
  llvm::Value *lacks(const CpuidFeature *f) {
    llvm::Value *&known = missing[f];
    if (known)
      return known;
    llvm::Value *maxLeaf = f->leaf >= 0x80000000u ? maxExt : maxBasic;
    llvm::Value *hasLeaf = b.CreateICmpUGE(maxLeaf, b.getInt32(f->leaf));
    llvm::Value *reg = b.CreateExtractValue(cpuid(f->leaf, f->subleaf), f->reg);
    llvm::Value *bit =
        b.CreateICmpNE(b.CreateAnd(reg, 1u << f->bit), b.getInt32(0));
    llvm::Value *os = b.getTrue();
    if (f->xcr0)
      os = b.CreateICmpEQ(b.CreateAnd(xcr0, f->xcr0), b.getInt64(f->xcr0));
    return known = b.CreateNot(b.CreateAnd(hasLeaf, b.CreateAnd(bit, os)));
  }

  /// i1: the CPU has every feature of `list`.
  llvm::Value *hasAll(const FeatureList &list) {
    llvm::Value *all = b.getTrue();
    for (const CpuidFeature *f : list)
      all = b.CreateAnd(all, b.CreateNot(lacks(f)));
    return all;
  }

  /// Writes `text` to stderr.
  void say(const std::string &text) {
    llvm::Value *str = b.CreateGlobalString(text, "nova.cpu_message");
    b.CreateCall(writeFn(), {b.getInt32(2), str, b.getInt64(text.size())});
  }
  /// Writes the C string `str` to stderr.
  void sayString(llvm::Value *str) {
    llvm::Module &m = *fn->getParent();
    llvm::FunctionCallee strlenFn = m.getOrInsertFunction(
        "strlen", llvm::FunctionType::get(i64, {b.getPtrTy()}, false));
    b.CreateCall(writeFn(), {b.getInt32(2), str, b.CreateCall(strlenFn, str)});
  }
  /// Writes " <name>" for each feature of `list` the CPU lacks.
  void sayMissing(const FeatureList &list) {
    for (const CpuidFeature *f : list) {
      auto *yes = llvm::BasicBlock::Create(fn->getContext(), "lacks", fn);
      auto *next = llvm::BasicBlock::Create(fn->getContext(), "next", fn);
      b.CreateCondBr(lacks(f), yes, next);
      b.SetInsertPoint(yes);
      say(std::string(" ") + f->name);
      b.CreateBr(next);
      b.SetInsertPoint(next);
    }
  }
  /// Ends the current block with abort().
  void abort() {
    llvm::FunctionCallee abortFn = fn->getParent()->getOrInsertFunction(
        "abort", llvm::FunctionType::get(b.getVoidTy(), false));
    b.CreateCall(abortFn);
    b.CreateUnreachable();
  }

private:
  llvm::Value *cpuid(uint32_t leaf, uint32_t sub) {
    llvm::Value *&r = leaves[{leaf, sub}];
    if (!r)
      r = b.CreateCall(cpuidAsm, {b.getInt32(leaf), b.getInt32(sub)});
    return r;
  }
  llvm::FunctionCallee writeFn() {
    return fn->getParent()->getOrInsertFunction(
        "write", llvm::FunctionType::get(i64, {i32, b.getPtrTy(), i64}, false));
  }

  llvm::Function *fn;
  llvm::IRBuilder<> &b;
  llvm::Type *i32, *i64;
  llvm::InlineAsm *cpuidAsm;
  llvm::Value *maxBasic, *maxExt, *xcr0;
  std::map<std::pair<uint32_t, uint32_t>, llvm::Value *> leaves;
  std::map<const CpuidFeature *, llvm::Value *> missing;
};
} // namespace

static constexpr const char *kTierEnv = "NOVA_CPU_TIER";

/// The process's tier index: -1 until chosen.
static llvm::GlobalVariable *tierIndex(llvm::Module &module) {
  if (llvm::GlobalVariable *g = module.getNamedGlobal("nova.tier"))
    return g;
  llvm::Type *i32 = llvm::Type::getInt32Ty(module.getContext());
  return new llvm::GlobalVariable(
      module, i32, false, llvm::GlobalValue::InternalLinkage,
      llvm::ConstantInt::getSigned(i32, -1), "nova.tier");
}

/// Adds `i32 nova.select_tier()`: the index in `tiers` (the baseline first)
/// of the tier this process runs, chosen on the first call and kept. With
/// several tiers it is the one NOVA_CPU_TIER names, if set, else the last one
/// whose features the CPU has (with the OS support for their registers);
/// when the CPU lacks the chosen tier's features, or the baseline's, it
/// writes which to stderr and aborts, where the code would otherwise die of
/// SIGILL somewhere inside.
static llvm::Function *addTierSelection(llvm::Module &module,
                                        const rt::ModuleManifest &manifest,
                                        ArrayRef<rt::ManifestTier> tiers) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::GlobalVariable *chosen = tierIndex(module);
  auto *fn = llvm::Function::Create(
      llvm::FunctionType::get(llvm::Type::getInt32Ty(ctx), false),
      llvm::GlobalValue::InternalLinkage, "nova.select_tier", module);
  fn->addFnAttr(llvm::Attribute::NoInline);
  fn->addFnAttr(llvm::Attribute::Cold);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  llvm::LoadInst *known =
      b.CreateAlignedLoad(b.getInt32Ty(), chosen, llvm::Align(4));
  known->setAtomic(llvm::AtomicOrdering::Monotonic);
  auto *ready = llvm::BasicBlock::Create(ctx, "ready", fn);
  auto *probeBlock = llvm::BasicBlock::Create(ctx, "probe", fn);
  b.CreateCondBr(b.CreateICmpSGE(known, b.getInt32(0)), ready, probeBlock);
  b.SetInsertPoint(ready);
  b.CreateRet(known);

  b.SetInsertPoint(probeBlock);
  CpuProbe probe(fn, b);
  std::vector<FeatureList> needs;
  std::vector<llvm::Value *> runs;
  for (const rt::ManifestTier &tier : tiers) {
    needs.push_back(tierFeatures(tier));
    runs.push_back(probe.hasAll(needs.back()));
  }
  std::string model = rt::printable(manifest.model);
  // pick[i]: tier i is the one; refuse[i]: it was asked for (or is the
  // baseline) and the CPU cannot run it.
  std::vector<llvm::BasicBlock *> pick, refuse;
  for (size_t i = 0; i < tiers.size(); ++i) {
    pick.push_back(llvm::BasicBlock::Create(ctx, "pick", fn));
    refuse.push_back(llvm::BasicBlock::Create(ctx, "refuse", fn));
  }
  auto *automatic = llvm::BasicBlock::Create(ctx, "auto", fn);
  if (tiers.size() > 1) {
    llvm::Module &m = module;
    llvm::FunctionCallee getenvFn = m.getOrInsertFunction(
        "getenv", llvm::FunctionType::get(b.getPtrTy(), {b.getPtrTy()}, false));
    llvm::FunctionCallee strcmpFn = m.getOrInsertFunction(
        "strcmp", llvm::FunctionType::get(b.getInt32Ty(),
                                          {b.getPtrTy(), b.getPtrTy()}, false));
    llvm::Value *asked =
        b.CreateCall(getenvFn, b.CreateGlobalString(kTierEnv, "nova.env"));
    auto *named = llvm::BasicBlock::Create(ctx, "named", fn);
    b.CreateCondBr(b.CreateIsNull(asked), automatic, named);
    b.SetInsertPoint(named);
    std::vector<std::string> names;
    for (size_t i = 0; i < tiers.size(); ++i) {
      names.push_back(tiers[i].cpu);
      auto *asksThis = llvm::BasicBlock::Create(ctx, "asks", fn);
      auto *next = llvm::BasicBlock::Create(ctx, "next", fn);
      llvm::Value *same = b.CreateICmpEQ(
          b.CreateCall(strcmpFn, {asked, b.CreateGlobalString(
                                             tiers[i].cpu, "nova.tier_name")}),
          b.getInt32(0));
      b.CreateCondBr(same, asksThis, next);
      b.SetInsertPoint(asksThis);
      b.CreateCondBr(runs[i], pick[i], refuse[i]);
      b.SetInsertPoint(next);
    }
    probe.say(std::string("nova: ") + kTierEnv + "=");
    probe.sayString(asked);
    probe.say(" is not a tier of '" + model +
              "' (its tiers: " + llvm::join(names, ", ") + ")\n");
    probe.abort();
  } else {
    b.CreateBr(automatic);
  }
  // Without a name: the last tier the CPU runs.
  b.SetInsertPoint(automatic);
  for (size_t i = tiers.size(); i-- > 1;) {
    auto *next = llvm::BasicBlock::Create(ctx, "lower", fn);
    b.CreateCondBr(runs[i], pick[i], next);
    b.SetInsertPoint(next);
  }
  b.CreateCondBr(runs[0], pick[0], refuse[0]);

  for (size_t i = 0; i < tiers.size(); ++i) {
    b.SetInsertPoint(pick[i]);
    llvm::StoreInst *store = b.CreateAlignedStore(
        b.getInt32(static_cast<uint32_t>(i)), chosen, llvm::Align(4));
    store->setAtomic(llvm::AtomicOrdering::Monotonic);
    b.CreateRet(b.getInt32(static_cast<uint32_t>(i)));

    b.SetInsertPoint(refuse[i]);
    if (i == 0)
      probe.say("nova: '" + model + "' was compiled for --target-cpu=" +
                tiers[0].cpu + "; this CPU lacks:");
    else
      probe.say(std::string("nova: ") + kTierEnv + "=" + tiers[i].cpu +
                " asks '" + model + "' for a tier this CPU lacks:");
    probe.sayMissing(needs[i]);
    probe.say(i == 0 ? "\n(recompile with a --target-cpu this machine has)\n"
                     : "\n");
    probe.abort();
  }
  return fn;
}

/// The tier index, choosing it on the first call: a relaxed load of
/// nova.tier, and `select` only while it is -1.
static llvm::Value *currentTier(llvm::IRBuilder<> &b, llvm::Function *select) {
  llvm::Module &module = *select->getParent();
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Function *fn = b.GetInsertBlock()->getParent();
  llvm::LoadInst *known = b.CreateAlignedLoad(b.getInt32Ty(), tierIndex(module),
                                              llvm::Align(4), "tier");
  known->setAtomic(llvm::AtomicOrdering::Monotonic);
  llvm::BasicBlock *before = b.GetInsertBlock();
  auto *choose = llvm::BasicBlock::Create(ctx, "choose", fn);
  auto *go = llvm::BasicBlock::Create(ctx, "go", fn);
  b.CreateCondBr(b.CreateICmpSLT(known, b.getInt32(0)), choose, go);
  b.SetInsertPoint(choose);
  llvm::Value *chosen = b.CreateCall(select);
  b.CreateBr(go);
  b.SetInsertPoint(go);
  llvm::PHINode *tier = b.CreatePHI(b.getInt32Ty(), 2);
  tier->addIncoming(known, before);
  tier->addIncoming(chosen, choose);
  return tier;
}

/// The name of tier `cpu`'s copy of `symbol` in a multi-tier object.
static std::string tierSymbol(StringRef symbol, StringRef cpu) {
  return (symbol + "." + cpu).str();
}

/// Defines every entry of a multi-tier module as a dispatcher: it calls the
/// copy of the tier the process runs (tierSymbol).
static LogicalResult addDispatchers(llvm::Module &module,
                                    const rt::ModuleManifest &manifest,
                                    ArrayRef<rt::ManifestTier> tiers,
                                    llvm::Function *select,
                                    std::string &error) {
  llvm::LLVMContext &ctx = module.getContext();
  for (const rt::ManifestEntry &entry : manifest.entries) {
    std::vector<llvm::Function *> copies;
    for (const rt::ManifestTier &tier : tiers)
      copies.push_back(module.getFunction(tierSymbol(entry.symbol, tier.cpu)));
    if (llvm::is_contained(copies, nullptr)) {
      error = "entry '" + entry.symbol + "' lost a tier's copy";
      return failure();
    }
    auto *fn = llvm::Function::Create(copies[0]->getFunctionType(),
                                      llvm::GlobalValue::ExternalLinkage,
                                      entry.symbol, module);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
    llvm::Value *tier = currentTier(b, select);
    std::vector<llvm::Value *> args;
    for (llvm::Argument &arg : fn->args())
      args.push_back(&arg);
    auto *first = llvm::BasicBlock::Create(ctx, "tier", fn);
    llvm::SwitchInst *which = b.CreateSwitch(tier, first, tiers.size() - 1);
    for (size_t i = 0; i < copies.size(); ++i) {
      llvm::BasicBlock *block = first;
      if (i > 0) {
        block = llvm::BasicBlock::Create(ctx, "tier", fn);
        which->addCase(b.getInt32(static_cast<uint32_t>(i)), block);
      }
      b.SetInsertPoint(block);
      llvm::CallInst *call = b.CreateCall(copies[i], args);
      call->setTailCall();
      if (fn->getReturnType()->isVoidTy())
        b.CreateRetVoid();
      else
        b.CreateRet(call);
    }
  }
  return success();
}

/// Adds `const char *<prefix>cpu_tier(void)`: the tier's CPU name (with
/// several tiers, the one chosen: `select` is non-null).
static void addTierQuery(llvm::Module &module, StringRef prefix,
                         ArrayRef<rt::ManifestTier> tiers,
                         llvm::Function *select) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  auto *fn = llvm::Function::Create(llvm::FunctionType::get(ptr, false),
                                    llvm::GlobalValue::ExternalLinkage,
                                    (prefix + kTierQuery).str(), module);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", fn));
  std::vector<llvm::Constant *> names;
  for (const rt::ManifestTier &tier : tiers)
    names.push_back(b.CreateGlobalString(tier.cpu, "nova.tier_name"));
  if (!select) {
    b.CreateRet(names[0]);
    return;
  }
  auto *type = llvm::ArrayType::get(ptr, names.size());
  auto *table = new llvm::GlobalVariable(
      module, type, /*isConstant=*/true, llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantArray::get(type, names), "nova.tier_names");
  llvm::Value *tier = currentTier(b, select);
  llvm::Value *slot = b.CreateInBoundsGEP(
      type, table, {b.getInt64(0), b.CreateZExt(tier, b.getInt64Ty())});
  b.CreateRet(b.CreateLoad(ptr, slot));
}

/// Makes every entry of a single-tier `module` choose its (only) tier first,
/// which checks, once per process, that the CPU has the features the tier
/// enables. Nothing is added when every feature is baseline x86-64.
static void addCpuCheck(llvm::Module &module,
                        const rt::ModuleManifest &manifest,
                        const rt::ManifestTier &tier) {
  if (tierFeatures(tier).empty())
    return;
  llvm::Function *select = addTierSelection(module, manifest, {tier});
  // Every entry calls it first (after its allocas, which stay static).
  for (const rt::ManifestEntry &e : manifest.entries) {
    llvm::Function *fn = module.getFunction(e.symbol);
    if (!fn || fn->empty())
      continue;
    llvm::BasicBlock &first = fn->getEntryBlock();
    auto it = first.begin();
    while (it != first.end() && llvm::isa<llvm::AllocaInst>(*it))
      ++it;
    llvm::IRBuilder<>(&first, it).CreateCall(select);
  }
}

//===----------------------------------------------------------------------===//
// LLVM IR and objects
//===----------------------------------------------------------------------===//

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

/// Readies a translated module for `tm` (data layout, triple, the bf16
/// helpers, vector tuning) and optimizes it at -O3.
static LogicalResult optimizeFor(llvm::Module &module, llvm::TargetMachine &tm,
                                 PhaseReport &report, StringRef phase,
                                 std::string &error) {
  module.setDataLayout(tm.createDataLayout());
  module.setTargetTriple(tm.getTargetTriple());
  if (failed(addSoftFloatHelpers(module))) {
    error = "cannot add the bf16 conversion helpers";
    return failure();
  }
  defineCpuTierFunctions(module, tm);
  tuneForTarget(module, tm);
  report.begin(phase);
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3)
      .run(module, mam);
  report.end();
  return success();
}

/// One module holding a copy of `base` optimized for each tier: every
/// function of a copy carries its tier's CPU and features, its entries are
/// renamed (tierSymbol) and all of it is private to the object but the
/// bf16 helpers, whose baseline copy serves every tier.
static FailureOr<std::unique_ptr<llvm::Module>> optimizeTiers(
    std::unique_ptr<llvm::Module> base, const rt::ModuleManifest &manifest,
    ArrayRef<rt::ManifestTier> tiers, PhaseReport &report, std::string &error) {
  std::unique_ptr<llvm::Module> linked;
  std::vector<std::string> privatize;
  for (size_t i = 0; i < tiers.size(); ++i) {
    std::unique_ptr<llvm::Module> copy =
        i + 1 < tiers.size() ? llvm::CloneModule(*base) : std::move(base);
    std::unique_ptr<llvm::TargetMachine> tm =
        makeTargetMachine(tiers[i], error);
    if (!tm)
      return failure();
    for (llvm::Function &f : *copy) {
      if (f.isDeclaration())
        continue;
      f.addFnAttr("target-cpu", tm->getTargetCPU());
      if (!tm->getTargetFeatureString().empty())
        f.addFnAttr("target-features", tm->getTargetFeatureString());
    }
    if (failed(optimizeFor(*copy, *tm, report, "LLVM -O3 for " + tiers[i].cpu,
                           error)))
      return failure();
    // Linked under names of their own (the linker would drop private
    // definitions nothing refers to yet), then made private.
    for (llvm::GlobalValue &g : copy->global_values()) {
      if (g.isDeclaration() || g.hasLocalLinkage() || g.hasAppendingLinkage())
        continue;
      if (g.isWeakForLinker()) {
        if (i > 0)
          if (auto *f = llvm::dyn_cast<llvm::Function>(&g))
            f->deleteBody();
        continue;
      }
      std::string name = tierSymbol(g.getName(), tiers[i].cpu);
      g.setName(name);
      privatize.push_back(name);
    }
    if (!linked)
      linked = std::move(copy);
    else if (llvm::Linker::linkModules(*linked, std::move(copy))) {
      error = "cannot link the tiers' code into one module";
      return failure();
    }
  }
  for (const std::string &name : privatize)
    if (llvm::GlobalValue *g = linked->getNamedValue(name))
      g->setLinkage(llvm::GlobalValue::InternalLinkage);
  return linked;
}

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
  std::string prefix;
  if (auto attr = module->getAttrOfType<StringAttr>(kSymbolPrefixAttr))
    prefix = attr.getValue().str();
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
  std::vector<rt::ManifestTier> tiers = allTiers(manifest->target);
  if (tiers.size() == 1) {
    std::unique_ptr<llvm::TargetMachine> tm =
        makeTargetMachine(tiers[0], error);
    if (!tm || failed(optimizeFor(*llvmModule, *tm, report, "LLVM -O3", error)))
      return failure();
    addTierQuery(*llvmModule, prefix, tiers, nullptr);
    return llvmModule;
  }
  FailureOr<std::unique_ptr<llvm::Module>> linked =
      optimizeTiers(std::move(llvmModule), *manifest, tiers, report, error);
  if (failed(linked))
    return failure();
  llvm::Function *select = addTierSelection(**linked, *manifest, tiers);
  if (failed(addDispatchers(**linked, *manifest, tiers, select, error)))
    return failure();
  addTierQuery(**linked, prefix, tiers, select);
  return linked;
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
  FailureOr<rt::ManifestTarget> target = describeTarget(cpu, error);
  if (failed(target))
    return failure();
  // The baseline's machine; the other tiers' functions carry their own.
  std::unique_ptr<llvm::TargetMachine> tm =
      makeTargetMachine(allTiers(*target).front(), error);
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
  std::vector<rt::ManifestTier> tiers = allTiers(manifest->target);
  std::optional<std::string> key;
  if (cacheDirectory) {
    std::string optionText, targetText;
    llvm::raw_string_ostream optionStream(optionText);
    options.print(optionStream);
    for (const rt::ManifestTier &tier : tiers)
      targetText += tier.cpu + ";" + tier.features + ";";
    key = objectCacheKey(module, targetText + (checkCpu ? "cpu-check" : ""),
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
  // A multi-tier object always checks (choosing its tier).
  if (checkCpu && tiers.size() == 1)
    addCpuCheck(**llvmModule, *manifest, tiers[0]);
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

//===----------------------------------------------------------------------===//
// CUDA
//===----------------------------------------------------------------------===//

/// The device binary nova-cuda-pipeline left in `module`.
static FailureOr<std::string> deviceBinary(ModuleOp module,
                                           std::string &error) {
  for (auto binary : module.getOps<gpu::BinaryOp>()) {
    ArrayRef<Attribute> objects = binary.getObjects().getValue();
    auto object = objects.size() == 1
                      ? dyn_cast<gpu::ObjectAttr>(objects.front())
                      : gpu::ObjectAttr();
    if (!object) {
      error = "the kernels' gpu.binary does not hold one object";
      return failure();
    }
    return object.getObject().getValue().str();
  }
  error = "the module has no GPU kernels (no parallel loop to run on the "
          "device)";
  return failure();
}

FailureOr<std::string>
mlir::nova::compileCuda(ModuleOp module, CudaArtifact artifact,
                        StringRef hostCpu, const CudaPipelineOptions &options,
                        std::string &error, llvm::raw_ostream *progress,
                        PassManagerSetup setup) {
  PhaseReport report(progress, module);
  FailureOr<rt::ModuleManifest> manifest =
      targetManifest(module, hostCpu, error);
  if (failed(manifest))
    return failure();
  if (manifest->isSpmd()) {
    error = "the CUDA target runs one device's module; an SPMD module (a mesh "
            "of several devices) is compiled for the CPU (docs/cuda.md)";
    return failure();
  }
  if (allTiers(manifest->target).size() > 1) {
    error = "the host code of a CUDA module is built for one CPU tier, not a "
            "list";
    return failure();
  }
  manifest->target.kind = "cuda";
  manifest->target.gpu = options.chip;
  attachManifest(module, *manifest);
  CudaPipelineOptions binaryOptions;
  binaryOptions.copyOptionValuesFrom(options);
  if (artifact == CudaArtifact::Ptx)
    binaryOptions.format = "isa";
  else if (artifact == CudaArtifact::Cubin)
    binaryOptions.format = "bin";
  else if (artifact == CudaArtifact::Fatbin)
    binaryOptions.format = "fatbin";
  PassManager pm(module.getContext());
  if (setup && failed(setup(pm))) {
    error = "cannot set up the pass manager";
    return failure();
  }
  report.begin("nova-cuda-pipeline");
  if (failed(checkCudaPipelineOptions(binaryOptions, error)))
    return failure();
  if (failed(buildNovaCudaPipeline(pm, binaryOptions))) {
    error = "cannot build nova-cuda-pipeline";
    return failure();
  }
  if (failed(pm.run(module))) {
    error = "nova-cuda-pipeline failed";
    return failure();
  }
  report.end();
  if (artifact == CudaArtifact::Ptx || artifact == CudaArtifact::Cubin ||
      artifact == CudaArtifact::Fatbin)
    return deviceBinary(module, error);
  stripNovaAbiAttributes(module);
  registerBuiltinDialectTranslation(*module.getContext());
  registerLLVMDialectTranslation(*module.getContext());
  registerGPUDialectTranslation(*module.getContext());
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, context, "nova");
  if (!llvmModule) {
    error = "translation to LLVM IR failed";
    return failure();
  }
  std::unique_ptr<llvm::TargetMachine> tm =
      makeTargetMachine(allTiers(manifest->target).front(), error);
  if (!tm ||
      failed(optimizeFor(*llvmModule, *tm, report, "LLVM -O3 (host)", error)))
    return failure();
  addPackedEntryPoints(*llvmModule, *manifest);
  // The header declares the tier query for every object; an object (for
  // other machines) checks its host tier's features as a CPU object does.
  std::string prefix;
  if (auto attr = module->getAttrOfType<StringAttr>(kSymbolPrefixAttr))
    prefix = attr.getValue().str();
  addTierQuery(*llvmModule, prefix, allTiers(manifest->target), nullptr);
  if (artifact == CudaArtifact::HostObject)
    addCpuCheck(*llvmModule, *manifest, allTiers(manifest->target).front());
  std::string out;
  if (artifact == CudaArtifact::HostLLVM) {
    llvm::raw_string_ostream os(out);
    llvmModule->print(os, nullptr);
    return out;
  }
  llvm::SmallVector<char, 0> object;
  llvm::raw_svector_ostream objectStream(object);
  report.begin("code generation");
  if (failed(emitObject(*llvmModule, hostCpu, objectStream, error)))
    return failure();
  report.end();
  return std::string(object.begin(), object.end());
}
