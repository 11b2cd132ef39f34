//===- ToolSupport.h - What every Nova tool's command line shares -*- C++ -*-=//
//
// SPDX-License-Identifier: Apache-2.0
//
// --version (Nova's version and commit, then LLVM's) and a --help that
// shows the tool's own options (and, for nova-opt, MLIR's) with LLVM's
// back-end options behind --help-hidden.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_DRIVER_TOOLSUPPORT_H
#define NOVA_PASSES_DRIVER_TOOLSUPPORT_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/raw_ostream.h"

#include <string>
#include <vector>

namespace llvm::cl {
class OptionCategory;
} // namespace llvm::cl

namespace mlir::nova {

/// "Nova 0.4.0 (commit 8ef8f7c1a2b3)": the build's version and commit.
std::string novaVersionLine();

/// Prints what --version shows: `tool`, Nova's version and commit, the LLVM
/// (and MLIR) version it was built with, and the host CPU.
void printToolVersion(llvm::StringRef tool, llvm::raw_ostream &os);

/// Makes --version print printToolVersion(tool) instead of LLVM's text.
void installVersionPrinter(llvm::StringRef tool);

/// Hides (moves behind --help-hidden) every option registered so far that is
/// in none of `keep` and is not one of LLVM's generic options (--help,
/// --version, ...): the LLVM back-end options that linking LLVM drags into
/// every tool. Options registered later (nova-opt's MLIR options) stay.
void hideForeignOptions(const std::vector<llvm::cl::OptionCategory *> &keep);

/// Whether the command line set any option outside `own` and LLVM's generic
/// ones: such an option (an MLIR or LLVM flag) may change what a compile
/// produces without being part of a compile-cache key.
bool usedForeignOptions(const std::vector<llvm::cl::OptionCategory *> &own);

} // namespace mlir::nova

#endif // NOVA_PASSES_DRIVER_TOOLSUPPORT_H
