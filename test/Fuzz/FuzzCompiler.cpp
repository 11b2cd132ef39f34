//===- FuzzCompiler.cpp - libFuzzer targets for the compiler's readers ----===//
//
// SPDX-License-Identifier: Apache-2.0
//
// One source, one target per reader, selected by NOVA_FUZZ_<NAME>
// (test/Fuzz/CMakeLists.txt): the model spec, the rules spec with its
// regexes (applied to grok1-small), dimension expressions, and MLIR text
// through the parser and verifier the tools use (parseUntrustedIr). A refusal
// must come with an error diagnostic; a crash, a sanitizer report or a leak is
// a finding.
//
//===----------------------------------------------------------------------===//

#include "passes/Driver/LoadModel.h"
#include "passes/Import/SpecImport.h"
#include "passes/Import/SpecReader.h"
#include "passes/Import/Yaml.h"
#include "passes/Pipelines/Pipelines.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

using namespace mlir;

namespace {

/// A context with everything nova-opt registers, diagnostics counted and
/// dropped (printing them would dominate the run time).
struct FuzzContext {
  FuzzContext() : context(makeRegistry()) {
    context.loadAllAvailableDialects();
    context.printOpOnDiagnostic(false);
    context.getDiagEngine().registerHandler([this](Diagnostic &diag) {
      if (diag.getSeverity() == DiagnosticSeverity::Error)
        ++errors;
      return success();
    });
  }
  static DialectRegistry makeRegistry() {
    DialectRegistry registry;
    mlir::nova::registerNovaCompilerDialects(registry);
    return registry;
  }
  /// A refusal without an error diagnostic breaks the readers' contract.
  void requireError(bool ok, unsigned before) const {
    if (!ok && errors == before) {
      std::fprintf(stderr, "input refused without an error diagnostic\n");
      std::abort();
    }
  }
  MLIRContext context;
  unsigned errors = 0;
};

FuzzContext &fuzzContext() {
  static FuzzContext *fc = new FuzzContext();
  return *fc;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FuzzContext &fc = fuzzContext();
  // The tools hand every parser a NUL-terminated buffer (MemoryBuffer,
  // std::string), and MLIR's lexer relies on it; libFuzzer's data is not.
  std::string copy(reinterpret_cast<const char *>(data), size);
  llvm::StringRef text(copy);
  unsigned before = fc.errors;
#if defined(NOVA_FUZZ_SPEC)
  OwningOpRef<ModuleOp> module =
      mlir::nova::importModelSpec(text, "fuzz.yaml", &fc.context);
  fc.requireError(module && succeeded(verify(*module)), before);
#elif defined(NOVA_FUZZ_RULES)
  static OwningOpRef<ModuleOp> model = [&] {
    std::ifstream in(NOVA_SOURCE_DIR "/examples/grok1-small/model.yaml");
    std::stringstream buffer;
    buffer << in.rdbuf();
    OwningOpRef<ModuleOp> m =
        mlir::nova::importModelSpec(buffer.str(), "model.yaml", &fc.context);
    if (!m)
      std::abort();
    return m;
  }();
  OwningOpRef<ModuleOp> module = model->clone();
  fc.requireError(
      succeeded(mlir::nova::importPartitionRules(text, "fuzz.yaml", *module)),
      before);
#elif defined(NOVA_FUZZ_DIMS)
  // The expression as one YAML scalar over a few named dimensions.
  mlir::nova::spec::SpecFile file(&fc.context, "fuzz.yaml");
  mlir::nova::yaml::Node node;
  node.kind = mlir::nova::yaml::Node::Kind::Scalar;
  node.scalar = text.str();
  node.line = node.column = 1;
  mlir::nova::spec::Scope scope;
  scope.set("B", 1);
  scope.set("D", 64);
  scope.set("H", 4);
  scope.set("BIG", INT64_MAX);
  scope.set("MIN", INT64_MIN);
  mlir::nova::spec::Scope inner(&scope);
  inner.set("i", 3);
  fc.requireError(succeeded(mlir::nova::spec::evalExpr(file, node, inner)),
                  before);
#elif defined(NOVA_FUZZ_MLIR)
  llvm::SourceMgr sourceMgr;
  sourceMgr.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBuffer(text, "fuzz"),
                               llvm::SMLoc());
  OwningOpRef<ModuleOp> module =
      mlir::nova::parseUntrustedIr(fc.context, sourceMgr);
  fc.requireError(static_cast<bool>(module), before);
#else
#error "define one NOVA_FUZZ_<READER>"
#endif
  return 0;
}
