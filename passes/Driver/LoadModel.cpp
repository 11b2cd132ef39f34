//===- LoadModel.cpp - A model spec or module, with its rules -------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Driver/LoadModel.h"

#include "dialect/NovaOps.h"
#include "passes/Contract/Manifest.h"
#include "passes/Import/SpecImport.h"
#include "passes/Partition/Passes.h"
#include "passes/Pipelines/Pipelines.h"

#include "nova/runtime/InputFile.h"

#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::nova;

static DialectRegistry compilerDialects() {
  DialectRegistry registry;
  registerNovaCompilerDialects(registry);
  return registry;
}

ToolContext::ToolContext()
    : context(compilerDialects()), handler(sourceMgr, &context) {
  context.printOpOnDiagnostic(false);
}

static std::string irNestingMessage() {
  return "the IR nests deeper than " + std::to_string(kMaxIrNesting) +
         " levels of brackets";
}

static OwningOpRef<ModuleOp> readModule(MLIRContext &context,
                                        llvm::SourceMgr &sourceMgr,
                                        StringRef path,
                                        const LoadModelOptions &options) {
  if (path.ends_with(".yaml") || path.ends_with(".yml")) {
    FailureOr<std::string> text =
        readSpecFile(path, options.maxSpecBytes, &context);
    if (failed(text))
      return nullptr;
    return importModelSpec(*text, path, &context, {options.maxSpecOps});
  }
  std::unique_ptr<llvm::MemoryBuffer> file;
  if (path == "-") {
    llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> in =
        llvm::MemoryBuffer::getSTDIN();
    if (!in) {
      llvm::errs() << options.tool
                   << ": error: cannot read stdin: " << in.getError().message()
                   << "\n";
      return nullptr;
    }
    file = std::move(*in);
  } else {
    std::string text, error;
    if (!::nova::rt::readRegularFile(path.str(), UINT64_MAX, text, error)) {
      llvm::errs() << options.tool << ": error: " << error << "\n";
      return nullptr;
    }
    file = llvm::MemoryBuffer::getMemBufferCopy(text, path);
  }
  sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  return parseUntrustedIr(context, sourceMgr);
}

OwningOpRef<ModuleOp> mlir::nova::parseUntrustedIr(MLIRContext &context,
                                                   llvm::SourceMgr &sourceMgr) {
  const llvm::MemoryBuffer *buffer =
      sourceMgr.getMemoryBuffer(sourceMgr.getMainFileID());
  if (std::optional<size_t> at = findIrNestingOverflow(buffer->getBuffer())) {
    auto [line, column] = sourceMgr.getLineAndColumn(
        llvm::SMLoc::getFromPointer(buffer->getBufferStart() + *at));
    emitError(FileLineColLoc::get(&context, buffer->getBufferIdentifier(), line,
                                  column),
              irNestingMessage());
    return nullptr;
  }
  ParserConfig config(&context, /*verifyAfterParse=*/false);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(sourceMgr, config);
  if (!module || failed(verifyUntrustedIr(*module)))
    return nullptr;
  return module;
}

/// An op's `reassociation` (tensor/memref expand_shape and collapse_shape)
/// with an empty group: their verifiers index the group's first expression.
static LogicalResult checkReassociation(Operation *op) {
  auto groups = op->getAttrOfType<ArrayAttr>("reassociation");
  if (!groups)
    return success();
  for (auto [index, group] : llvm::enumerate(groups)) {
    auto indices = dyn_cast<ArrayAttr>(group);
    if (!indices || indices.empty() ||
        !llvm::all_of(indices, llvm::IsaPred<IntegerAttr>))
      return op->emitOpError("reassociation group #")
             << index << " must be a non-empty list of integers";
  }
  return success();
}

LogicalResult mlir::nova::checkVerifierPreconditions(Operation *root) {
  WalkResult walk = root->walk([](Operation *op) {
    return failed(checkReassociation(op)) ? WalkResult::interrupt()
                                          : WalkResult::advance();
  });
  return failure(walk.wasInterrupted());
}

LogicalResult mlir::nova::verifyUntrustedIr(Operation *root) {
  if (failed(checkVerifierPreconditions(root)))
    return failure();
  return verify(root);
}

namespace {
struct VerifyUntrustedIrPass
    : PassWrapper<VerifyUntrustedIrPass, OperationPass<>> {
  MLIR_DEFINE_EXPLICIT_INTERNAL_INLINE_TYPE_ID(VerifyUntrustedIrPass)
  StringRef getArgument() const final { return "nova-verify-untrusted-ir"; }
  StringRef getDescription() const final {
    return "Verify IR parsed without verification, checking first what "
           "upstream verifiers assume";
  }
  void runOnOperation() override {
    if (failed(verifyUntrustedIr(getOperation())))
      signalPassFailure();
  }
};
} // namespace

std::unique_ptr<Pass> mlir::nova::createVerifyUntrustedIrPass() {
  return std::make_unique<VerifyUntrustedIrPass>();
}

std::optional<size_t> mlir::nova::findIrNestingOverflow(StringRef text) {
  unsigned depth = 0;
  for (size_t i = 0, e = text.size(); i < e; ++i) {
    char c = text[i];
    if (c == '"') { // a string literal, with backslash escapes
      for (++i; i < e && text[i] != '"' && text[i] != '\n'; ++i)
        if (text[i] == '\\')
          ++i;
      continue;
    }
    if (c == '/' && i + 1 < e && text[i + 1] == '/') { // a comment
      while (i < e && text[i] != '\n')
        ++i;
      continue;
    }
    if (c == '(' || c == '[' || c == '{' || c == '<') {
      if (++depth > kMaxIrNesting)
        return i;
    } else if ((c == ')' || c == ']' || c == '}' ||
                (c == '>' && (i == 0 || text[i - 1] != '-'))) &&
               depth > 0) {
      --depth;
    }
  }
  return std::nullopt;
}

LogicalResult mlir::nova::checkIrNesting(llvm::SourceMgr &sourceMgr,
                                         unsigned bufferId) {
  StringRef text = sourceMgr.getMemoryBuffer(bufferId)->getBuffer();
  std::optional<size_t> at = findIrNestingOverflow(text);
  if (!at)
    return success();
  sourceMgr.PrintMessage(llvm::errs(),
                         llvm::SMLoc::getFromPointer(text.data() + *at),
                         llvm::SourceMgr::DK_Error, irNestingMessage());
  return failure();
}

llvm::cl::ValuesClass mlir::nova::numericsValues() {
  return llvm::cl::values(
      clEnumValN(Numerics::Exact, "exact",
                 "every nova.qmatmul exact (dequantized weights, f32 sums)"),
      clEnumValN(Numerics::Fast, "fast",
                 "every nova.qmatmul with int8 activations (per-row scale, "
                 "exact integer sums; error bound in docs/tolerance.md)"));
}

OwningOpRef<ModuleOp> mlir::nova::loadModel(MLIRContext &context,
                                            llvm::SourceMgr &sourceMgr,
                                            StringRef path,
                                            const LoadModelOptions &options) {
  OwningOpRef<ModuleOp> module = readModule(context, sourceMgr, path, options);
  if (!module)
    return nullptr;
  bool rules = !options.rulesFile.empty();
  if (rules) {
    FailureOr<std::string> text =
        readSpecFile(options.rulesFile, options.maxSpecBytes, &context);
    if (failed(text) ||
        failed(importPartitionRules(*text, options.rulesFile, *module,
                                    {options.maxSpecOps})))
      return nullptr;
  }
  if (options.numerics != Numerics::AsWritten)
    module->walk([&](QMatmulOp op) {
      op.setInt8Activations(options.numerics == Numerics::Fast);
    });
  if (failed(verify(*module)))
    return nullptr;
  if (rules) {
    PassManager pm(&context);
    pm.addPass(createApplyPartitionRulesPass(
        ApplyPartitionRulesPassOptions{options.allowUnmatched}));
    if (failed(pm.run(*module)))
      return nullptr;
  }
  return module;
}

OwningOpRef<ModuleOp>
mlir::nova::loadModel(MLIRContext &context, llvm::SourceMgr &sourceMgr,
                      StringRef path, const LoadModelOptions &options,
                      ::nova::rt::ModuleManifest &manifest) {
  OwningOpRef<ModuleOp> module = loadModel(context, sourceMgr, path, options);
  if (!module)
    return nullptr;
  FailureOr<::nova::rt::ModuleManifest> derived = getOrDeriveManifest(*module);
  if (failed(derived))
    return nullptr;
  manifest = std::move(*derived);
  return module;
}
