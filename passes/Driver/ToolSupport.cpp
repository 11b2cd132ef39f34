//===- ToolSupport.cpp - What every Nova tool's command line shares -------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Driver/ToolSupport.h"

#include "nova/BuildInfo.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/TargetParser/Host.h"

#include <algorithm>

using namespace llvm;

std::string mlir::nova::novaVersionLine() {
  return std::string("Nova ") + NOVA_BUILD_VERSION + " (commit " +
         NOVA_BUILD_COMMIT + ")";
}

void mlir::nova::printToolVersion(StringRef tool, raw_ostream &os) {
  os << tool << ": " << novaVersionLine() << "\n"
     << "  built with LLVM and MLIR " << LLVM_VERSION_STRING << "\n"
     << "  default target: " << sys::getDefaultTargetTriple() << "\n"
     << "  host CPU: " << sys::getHostCPUName() << "\n";
}

void mlir::nova::installVersionPrinter(StringRef tool) {
  cl::SetVersionPrinter(
      [name = tool.str()](raw_ostream &os) { printToolVersion(name, os); });
}

/// Whether `option` is in one of `categories` or is one of LLVM's generic
/// options (--help, --version, --print-options and friends).
static bool inCategories(const cl::Option &option,
                         const std::vector<cl::OptionCategory *> &categories) {
  for (cl::OptionCategory *c : option.Categories)
    if (std::find(categories.begin(), categories.end(), c) !=
            categories.end() ||
        StringRef(c->getName()) == "Generic Options")
      return true;
  return false;
}

void mlir::nova::hideForeignOptions(
    const std::vector<cl::OptionCategory *> &keep) {
  for (auto &entry : cl::getRegisteredOptions()) {
    cl::Option *option = entry.second;
    if (!inCategories(*option, keep) &&
        option->getOptionHiddenFlag() == cl::NotHidden)
      option->setHiddenFlag(cl::Hidden);
  }
}

bool mlir::nova::usedForeignOptions(
    const std::vector<cl::OptionCategory *> &own) {
  for (auto &entry : cl::getRegisteredOptions()) {
    const cl::Option *option = entry.second;
    if (option->getNumOccurrences() == 0 || inCategories(*option, own))
      continue;
    // The input and -o name files, not how they are compiled.
    if (option->isPositional() || entry.first == "o")
      continue;
    return true;
  }
  return false;
}
