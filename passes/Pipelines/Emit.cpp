//===- Emit.cpp - Nova's artifacts: ABI, C header, LLVM IR, objects -------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Pipelines/Emit.h"
#include "passes/Pipelines/Pipelines.h"

#include "dialect/NovaOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <map>

using namespace mlir;
using namespace mlir::nova;

//===----------------------------------------------------------------------===//
// ABI
//===----------------------------------------------------------------------===//

static std::optional<std::string> dtypeOf(Type type,
                                          std::vector<int64_t> &shape) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return std::nullopt;
  shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  Type e = tensor.getElementType();
  if (e.isF32())
    return "f32";
  if (e.isBF16())
    return "bf16";
  if (e.isF16())
    return "f16";
  for (unsigned w : {1u, 8u, 32u, 64u})
    if (e.isInteger(w))
      return "i" + std::to_string(w);
  return std::nullopt;
}

FailureOr<std::vector<EntryAbi>> mlir::nova::describeAbi(ModuleOp module) {
  std::vector<EntryAbi> entries;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal() || !func.isPublic())
      continue;
    EntryAbi entry{func.getName().str(), {}};
    auto add = [&](AbiArg::Kind kind, Type type, std::string name) {
      AbiArg arg{kind, std::move(name), "", {}};
      std::optional<std::string> dtype = dtypeOf(type, arg.shape);
      if (!dtype)
        return false;
      arg.dtype = *dtype;
      entry.args.push_back(std::move(arg));
      return true;
    };
    // Inputs and results carry their spec names; unnamed ones get argN and
    // resultN.
    auto addValue = [&](AbiArg::Kind kind, Type valueType, StringAttr name,
                        StringRef what, unsigned i) -> LogicalResult {
      if (add(kind, valueType,
              name ? name.str()
                   : (what == "argument" ? "arg" : "result") +
                         std::to_string(i)))
        return success();
      return func.emitError() << what << " " << i << " has type " << valueType
                              << ", which the C ABI cannot carry";
    };
    FunctionType type = func.getFunctionType();
    for (unsigned i = 0; i < type.getNumInputs(); ++i)
      if (failed(addValue(AbiArg::Input, type.getInput(i),
                          func.getArgAttrOfType<StringAttr>(i, "nova.name"),
                          "argument", i)))
        return failure();
    std::map<std::string, ParamOp> params;
    func.walk([&](ParamOp op) { params.try_emplace(op.getPath().str(), op); });
    for (auto &[path, op] : params) {
      add(AbiArg::Param, op.getValue().getType(), path);
      if (op.isQuantized())
        add(AbiArg::Param, op.getScales().getType(), path + ".scales");
    }
    for (unsigned i = 0; i < type.getNumResults(); ++i)
      if (failed(addValue(AbiArg::Output, type.getResult(i),
                          func.getResultAttrOfType<StringAttr>(i, "nova.name"),
                          "result", i)))
        return failure();
    entries.push_back(std::move(entry));
  }
  return entries;
}

void mlir::nova::prefixEntryPoints(ModuleOp module, StringRef prefix) {
  if (prefix.empty())
    return;
  for (auto func : module.getOps<func::FuncOp>())
    if (func.isPublic() && !func.isExternal())
      func.setSymName((prefix + func.getName()).str());
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
static std::string cName(const AbiArg &arg) {
  const char *prefix = arg.kind == AbiArg::Param    ? "param_"
                       : arg.kind == AbiArg::Output ? "out_"
                                                    : "";
  return prefix + identifier(arg.name);
}

static const char *cType(StringRef dtype) {
  return llvm::StringSwitch<const char *>(dtype)
      .Case("f32", "float")
      .Case("bf16", "nova_bf16_t")
      .Case("f16", "nova_f16_t")
      .Case("i1", "uint8_t")
      .Case("i8", "int8_t")
      .Case("i32", "int32_t")
      .Case("i64", "int64_t")
      .Default("void");
}

void mlir::nova::emitHeader(ArrayRef<EntryAbi> entries, StringRef prefix,
                            StringRef source, raw_ostream &os) {
  std::string guard =
      "NOVA_GENERATED_" +
      StringRef(identifier(llvm::sys::path::stem(source))).upper() + "_" +
      StringRef(identifier(prefix.empty() ? "module" : prefix)).upper() + "H";
  os << "/* Generated by nova-opt --emit=header from " << source
     << ". Do not edit.\n"
     << " *\n"
     << " * Each entry point takes caller-owned, densely packed, row-major\n"
     << " * buffers: its inputs (read only), then its parameters sorted by\n"
     << " * path (read only; a quantized weight is followed by its scales),\n"
     << " * then its outputs (written). bf16 and f16 elements are passed as\n"
     << " * their 16-bit patterns; buffers must not overlap. The functions\n"
     << " * are thread-compatible, keep no state between calls and run large\n"
     << " * kernels on OpenMP threads (link -lomp); see docs/abi.md. */\n"
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
     << "#endif\n\n";
  for (const EntryAbi &entry : entries) {
    std::string fn = (prefix + entry.name).str();
    std::string upper = StringRef(identifier(fn)).upper();
    os << "/* " << fn << ":\n";
    for (const AbiArg &arg : entry.args) {
      const char *kind = arg.kind == AbiArg::Input   ? "input "
                         : arg.kind == AbiArg::Param ? "param "
                                                     : "output";
      os << " *   " << kind << "  " << arg.name << "  " << arg.dtype << "[";
      llvm::interleave(arg.shape, os, ", ");
      os << "]\n";
    }
    os << " */\n";
    os << "#define " << upper << "_NUM_ARGS " << entry.args.size() << "\n";
    os << "void " << fn << "(";
    bool first = true;
    for (const AbiArg &arg : entry.args) {
      os << (first ? "\n    " : ",\n    ");
      first = false;
      if (arg.kind != AbiArg::Output)
        os << "const ";
      os << cType(arg.dtype) << " *" << cName(arg);
    }
    os << ");\n";
    os << "/* The same call with args[i] = the i-th argument above. */\n";
    os << "void " << fn << "_args(void *const *args);\n";
    os << "static const struct nova_arg_info " << identifier(fn) << "_arg_info["
       << entry.args.size() << "] = {\n";
    for (const AbiArg &arg : entry.args) {
      int64_t n = 1;
      for (int64_t d : arg.shape)
        n *= d;
      int64_t bytes = n * (arg.dtype == "f32" || arg.dtype == "i32"    ? 4
                           : arg.dtype == "bf16" || arg.dtype == "f16" ? 2
                           : arg.dtype == "i64"                        ? 8
                                                                       : 1);
      os << "  {\"" << arg.name << "\", " << static_cast<int>(arg.kind)
         << ", \"" << arg.dtype << "\", " << arg.shape.size() << ", {";
      llvm::interleaveComma(arg.shape, os);
      os << "}, " << bytes << "},\n";
    }
    os << "};\n";
    // Shapes and element counts for programmatic use.
    for (const AbiArg &arg : entry.args) {
      std::string id = upper + "_" + StringRef(cName(arg)).upper();
      int64_t n = 1;
      for (int64_t d : arg.shape)
        n *= d;
      os << "#define " << id << "_ELEMENTS " << n << "\n";
    }
    os << "\n";
  }
  os << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << guard << " */\n";
}

//===----------------------------------------------------------------------===//
// LLVM IR and objects
//===----------------------------------------------------------------------===//

/// A target machine for the host triple and `cpu` (with the host's
/// features for "native").
static std::unique_ptr<llvm::TargetMachine>
makeTargetMachine(StringRef cpu, std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getProcessTriple());
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return nullptr;
  std::string cpuName = cpu.str(), features;
  if (cpu == "native") {
    cpuName = llvm::sys::getHostCPUName().str();
    std::vector<std::string> list;
    for (auto &f : llvm::sys::getHostCPUFeatures())
      list.push_back((f.second ? "+" : "-") + f.getKey().str());
    std::sort(list.begin(), list.end()); // deterministic
    features = llvm::join(list, ",");
  }
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpuName, features, llvm::TargetOptions(), llvm::Reloc::PIC_,
      std::nullopt, llvm::CodeGenOptLevel::Aggressive));
  if (!tm)
    error = "cannot create a target machine for CPU '" + cpuName + "'";
  return tm;
}

FailureOr<std::unique_ptr<llvm::Module>>
mlir::nova::lowerToLLVMIR(ModuleOp module, llvm::LLVMContext &context,
                          StringRef cpu, std::string &error) {
  PassManager pm(module.getContext());
  if (failed(buildNovaCpuPipeline(pm, CpuPipelineOptions())) ||
      failed(pm.run(module))) {
    error = "nova-cpu-pipeline failed";
    return failure();
  }
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
  return llvmModule;
}

void mlir::nova::addPackedEntryPoints(llvm::Module &module,
                                      ArrayRef<EntryAbi> entries,
                                      StringRef prefix) {
  llvm::LLVMContext &ctx = module.getContext();
  llvm::Type *ptr = llvm::PointerType::getUnqual(ctx);
  for (const EntryAbi &entry : entries) {
    llvm::Function *target = module.getFunction((prefix + entry.name).str());
    if (!target)
      continue;
    auto *type = llvm::FunctionType::get(llvm::Type::getVoidTy(ctx), {ptr},
                                         /*isVarArg=*/false);
    auto *wrapper =
        llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                               (prefix + entry.name + "_args").str(), module);
    llvm::IRBuilder<> b(llvm::BasicBlock::Create(ctx, "entry", wrapper));
    std::vector<llvm::Value *> args;
    for (unsigned i = 0; i < target->arg_size(); ++i) {
      llvm::Value *slot =
          b.CreateConstInBoundsGEP1_64(ptr, wrapper->getArg(0), i);
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
