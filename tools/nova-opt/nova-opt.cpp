//===- nova-opt.cpp - Nova's compile driver -------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// mlir-opt with the Nova dialect and passes registered next to every upstream
// dialect, pass, extension and LLVM-IR translation (gpu-module-to-binary
// needs the latter); every standard mlir-opt flag works. On top of that:
//
//   nova-opt MODEL.yaml [--rules RULES.yaml [--explain-sharding]] [-o OUT]
//
// imports a YAML model spec (and partition rules, resolved by
// nova-apply-partition-rules) before the usual pipeline runs. The result is
// produced in memory and written atomically (temporary file + rename) only
// when everything succeeded, so a failed run never leaves a partial or
// truncated output file behind.
//
//===----------------------------------------------------------------------===//

#include "dialect/NovaDialect.h"
#include "passes/Import/SpecImport.h"
#include "passes/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

static llvm::cl::OptionCategory novaCategory("Nova options");

static llvm::cl::opt<std::string>
    rulesFilename("rules",
                  llvm::cl::desc("Partition-rule spec (YAML) to resolve "
                                 "against the model's parameters"),
                  llvm::cl::value_desc("filename"), llvm::cl::init(""),
                  llvm::cl::cat(novaCategory));

static llvm::cl::opt<bool> explainSharding(
    "explain-sharding",
    llvm::cl::desc("Print one line per parameter: path, winning rule, spec "
                   "and bytes per device (to stdout; the IR is written only "
                   "with -o)"),
    llvm::cl::init(false), llvm::cl::cat(novaCategory));

static llvm::cl::opt<bool> allowUnmatched(
    "allow-unmatched",
    llvm::cl::desc("Replicate parameters that no partition rule matches, "
                   "with a warning, instead of failing"),
    llvm::cl::init(false), llvm::cl::cat(novaCategory));

static llvm::cl::opt<uint64_t> maxSpecBytes(
    "max-spec-bytes",
    llvm::cl::desc("Refuse YAML specs larger than this many bytes"),
    llvm::cl::init(nova::kDefaultMaxSpecBytes), llvm::cl::cat(novaCategory));

static bool isYaml(StringRef filename) {
  return filename.ends_with(".yaml") || filename.ends_with(".yml");
}

/// Imports or parses the input, attaches partition rules and explains them.
/// Returns the module re-printed with its (YAML) locations, for MlirOptMain
/// to run the requested pipeline on.
static FailureOr<std::unique_ptr<llvm::MemoryBuffer>>
preprocess(StringRef inputFilename, DialectRegistry &registry) {
  MLIRContext context(registry);
  // Diagnostics point at YAML lines; dumping the op as well only adds noise.
  context.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);

  OwningOpRef<ModuleOp> module;
  if (isYaml(inputFilename)) {
    FailureOr<std::string> text =
        nova::readSpecFile(inputFilename, maxSpecBytes, &context);
    if (failed(text))
      return failure();
    module = nova::importModelSpec(*text, inputFilename, &context);
  } else {
    std::string error;
    auto file = openInputFile(inputFilename, &error);
    if (!file) {
      llvm::errs() << "nova-opt: " << error << "\n";
      return failure();
    }
    sourceMgr.AddNewSourceBuffer(std::move(file), llvm::SMLoc());
    module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  }
  if (!module)
    return failure();

  if (!rulesFilename.empty()) {
    FailureOr<std::string> rules =
        nova::readSpecFile(rulesFilename, maxSpecBytes, &context);
    if (failed(rules) ||
        failed(nova::importPartitionRules(*rules, rulesFilename, *module)))
      return failure();
  }
  if (failed(verify(*module)))
    return failure();
  if (!rulesFilename.empty()) {
    PassManager pm(&context);
    pm.addPass(nova::createApplyPartitionRulesPass(
        nova::ApplyPartitionRulesPassOptions{allowUnmatched}));
    if (failed(pm.run(*module)))
      return failure();
  }
  if (explainSharding)
    nova::explainSharding(*module, llvm::outs());

  std::string text;
  llvm::raw_string_ostream os(text);
  module->print(os, OpPrintingFlags().enableDebugInfo());
  return llvm::MemoryBuffer::getMemBufferCopy(text, inputFilename);
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);

  DialectRegistry registry;
  nova::registerNovaCompilerDialects(registry);
  registerAllPasses();
  nova::registerNovaPasses();

  auto [inputFilename, outputFilename] = registerAndParseCLIOptions(
      argc, argv, "Nova compile driver (MLIR 22)\n", registry);
  MlirOptMainConfig config = MlirOptMainConfig::createFromCLOptions();

  if (explainSharding && rulesFilename.empty()) {
    llvm::errs() << "nova-opt: --explain-sharding needs --rules RULES.yaml\n";
    return EXIT_FAILURE;
  }
  if (inputFilename == "-" &&
      llvm::sys::Process::FileDescriptorIsDisplayed(fileno(stdin)))
    llvm::errs() << "(processing input from stdin now, hit ctrl-c/ctrl-d to "
                    "interrupt)\n";

  std::unique_ptr<llvm::MemoryBuffer> input;
  if (isYaml(inputFilename) || !rulesFilename.empty()) {
    if (!config.inputSplitMarker().empty()) {
      llvm::errs() << "nova-opt: --split-input-file does not combine with a "
                      "YAML spec or --rules\n";
      return EXIT_FAILURE;
    }
    FailureOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
        preprocess(inputFilename, registry);
    if (failed(buffer))
      return EXIT_FAILURE;
    input = std::move(*buffer);
  } else {
    std::string error;
    input = openInputFile(inputFilename, &error);
    if (!input) {
      llvm::errs() << "nova-opt: " << error << "\n";
      return EXIT_FAILURE;
    }
  }

  std::string result;
  llvm::raw_string_ostream resultStream(result);
  if (failed(MlirOptMain(resultStream, std::move(input), registry, config)))
    return EXIT_FAILURE;

  // With --explain-sharding the report is the standard output; the IR goes
  // only to an explicit -o file.
  if (explainSharding && outputFilename == "-")
    return EXIT_SUCCESS;
  if (llvm::Error err = llvm::writeToOutput(
          outputFilename, [&](llvm::raw_ostream &os) -> llvm::Error {
            os << result;
            return llvm::Error::success();
          })) {
    llvm::errs() << "nova-opt: cannot write '" << outputFilename
                 << "': " << llvm::toString(std::move(err)) << "\n";
    return EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}
