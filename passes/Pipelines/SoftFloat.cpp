//===- SoftFloat.cpp - bf16 helpers and target tuning for LLVM IR ---------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// LLVM's x86 backend lowers a bf16 truncation it cannot do natively (no
// AVX512-BF16) to calls to the compiler-rt builtins __truncsfbf2 and
// __truncdfbf2, which GCC 12's libgcc does not provide. Generated modules
// therefore carry weak definitions of them (round to nearest even, quiet
// NaNs), so JIT-compiled code and objects linked into users' programs are
// self-contained; a toolchain's own definitions take precedence.
//
//===----------------------------------------------------------------------===//

#include "passes/Pipelines/Pipelines.h"

#include "passes/Conversion/CpuTierFunctions.h"

#include "llvm/AsmParser/Parser.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/IntrinsicsX86.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Linker/Linker.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;

/// f32 -> bf16 with round-to-nearest-even; f64 -> bf16 through f32 with
/// round-to-odd (truncate, then set the last bit if inexact), which makes
/// the second rounding exact.
static constexpr const char *kHelpers = R"(
define weak bfloat @__truncsfbf2(float %x) {
  %b = bitcast float %x to i32
  %isnan = fcmp uno float %x, 0.0
  %top = lshr i32 %b, 16
  %lsb = and i32 %top, 1
  %bias = add i32 %lsb, 32767
  %sum = add i32 %b, %bias
  %rounded = lshr i32 %sum, 16
  %quiet = or i32 %top, 64
  %sel = select i1 %isnan, i32 %quiet, i32 %rounded
  %t = trunc i32 %sel to i16
  %r = bitcast i16 %t to bfloat
  ret bfloat %r
}

define weak bfloat @__truncdfbf2(double %x) {
  %f = fptrunc double %x to float
  %back = fpext float %f to double
  %inexact = fcmp une double %back, %x
  %absBack = call double @llvm.fabs.f64(double %back)
  %absX = call double @llvm.fabs.f64(double %x)
  %over = fcmp ogt double %absBack, %absX
  %bits = bitcast float %f to i32
  %down = sub i32 %bits, 1
  %toward = select i1 %over, i32 %down, i32 %bits
  %odd = or i32 %toward, 1
  %final = select i1 %inexact, i32 %odd, i32 %toward
  %g = bitcast i32 %final to float
  %r = call bfloat @__truncsfbf2(float %g)
  ret bfloat %r
}

declare double @llvm.fabs.f64(double)
)";

LogicalResult mlir::nova::addSoftFloatHelpers(llvm::Module &module) {
  for (const char *name : {"__truncsfbf2", "__truncdfbf2"})
    if (llvm::Function *f = module.getFunction(name); f && !f->isDeclaration())
      return success(); // already linked in
  llvm::SMDiagnostic diag;
  std::unique_ptr<llvm::Module> helpers =
      llvm::parseAssemblyString(kHelpers, diag, module.getContext());
  if (!helpers)
    return failure();
  helpers->setDataLayout(module.getDataLayout());
  helpers->setTargetTriple(module.getTargetTriple());
  return failure(llvm::Linker::linkModules(module, std::move(helpers)));
}

/// `name`'s declaration in `module` given a body for `tm`'s tier: internal,
/// always inlined, with the tier's CPU and features. Null when the module
/// does not declare it.
static llvm::Function *tierFunction(llvm::Module &module, StringRef name,
                                    const llvm::TargetMachine &tm) {
  llvm::Function *f = module.getFunction(name);
  if (!f || !f->isDeclaration())
    return nullptr;
  f->setLinkage(llvm::GlobalValue::InternalLinkage);
  f->addFnAttr(llvm::Attribute::AlwaysInline);
  f->addFnAttr("target-cpu", tm.getTargetCPU());
  if (!tm.getTargetFeatureString().empty())
    f->addFnAttr("target-features", tm.getTargetFeatureString());
  llvm::BasicBlock::Create(module.getContext(), "entry", f);
  return f;
}

void mlir::nova::defineCpuTierFunctions(llvm::Module &module,
                                        const llvm::TargetMachine &tm) {
  bool bf16Dot = tm.getMCSubtargetInfo()->checkFeatures("+avx512f,+avx512bf16");
  if (llvm::Function *f = tierFunction(module, nova::kCpuHasBf16Dot, tm)) {
    llvm::IRBuilder<> b(&f->getEntryBlock());
    b.CreateRet(b.getInt1(bf16Dot));
  }
  if (llvm::Function *f = tierFunction(module, nova::kCpuDotBf16Pairs, tm)) {
    llvm::IRBuilder<> b(&f->getEntryBlock());
    llvm::Value *acc = f->getArg(0), *x = f->getArg(1), *w = f->getArg(2);
    if (bf16Dot) {
      llvm::Function *dot = llvm::Intrinsic::getOrInsertDeclaration(
          &module, llvm::Intrinsic::x86_avx512bf16_dpbf16ps_512);
      llvm::FunctionType *type = dot->getFunctionType();
      b.CreateRet(
          b.CreateCall(dot, {acc, b.CreateBitCast(x, type->getParamType(1)),
                             b.CreateBitCast(w, type->getParamType(2))}));
      return;
    }
    // The same steps, high halves first, as two fused multiply-adds.
    llvm::Type *floats = acc->getType();
    auto half = [&](llvm::Value *v, bool high) {
      llvm::Type *words = v->getType();
      llvm::Value *bits =
          high ? b.CreateAnd(v, llvm::ConstantInt::get(words, 0xffff0000u))
               : b.CreateShl(v, llvm::ConstantInt::get(words, 16));
      return b.CreateBitCast(bits, floats);
    };
    llvm::Value *sum = acc;
    for (bool high : {true, false})
      sum = b.CreateIntrinsic(llvm::Intrinsic::fma, {floats},
                              {half(x, high), half(w, high), sum});
    b.CreateRet(sum);
  }
}

void mlir::nova::tuneForTarget(llvm::Module &module,
                               const llvm::TargetMachine &tm) {
  // The subtarget, not the feature string: a named CPU (znver4) has AVX-512
  // with an empty one.
  if (!tm.getMCSubtargetInfo()->checkFeatures("+avx512f"))
    return;
  for (llvm::Function &f : module)
    if (!f.isDeclaration())
      f.addFnAttr("prefer-vector-width", "512");
}
