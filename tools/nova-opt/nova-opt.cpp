//===- nova-opt.cpp - Nova's compile driver -------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// mlir-opt with the Nova dialect and passes registered next to every upstream
// dialect, pass, extension and LLVM-IR translation (gpu-module-to-binary
// needs the latter); every standard mlir-opt flag works. Unlike mlir-opt, the
// result is produced in memory and written atomically (temporary file +
// rename) only when everything succeeded, so a failed run never leaves a
// partial or truncated output file behind.
//
//===----------------------------------------------------------------------===//

#include "dialect/NovaDialect.h"


#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  registry.insert<nova::NovaDialect>();
  registerAllPasses();


  auto [inputFilename, outputFilename] = registerAndParseCLIOptions(
      argc, argv, "Nova compile driver (MLIR 22)\n", registry);
  MlirOptMainConfig config = MlirOptMainConfig::createFromCLOptions();

  if (inputFilename == "-" &&
      llvm::sys::Process::FileDescriptorIsDisplayed(fileno(stdin)))
    llvm::errs() << "(processing input from stdin now, hit ctrl-c/ctrl-d to "
                    "interrupt)\n";

  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> input =
      openInputFile(inputFilename, &error);
  if (!input) {
    llvm::errs() << "nova-opt: " << error << "\n";
    return EXIT_FAILURE;
  }

  std::string result;
  llvm::raw_string_ostream resultStream(result);
  if (failed(MlirOptMain(resultStream, std::move(input), registry, config)))
    return EXIT_FAILURE;

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
