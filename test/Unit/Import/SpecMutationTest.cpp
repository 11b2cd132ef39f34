//===- SpecMutationTest.cpp - Import never crashes on mangled specs -------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Feeds thousands of deterministic mutations of the bundled specs (deleted,
// duplicated and swapped lines, truncations, replaced tokens, random bytes)
// through the importers and the partition pass in-process. Each one must
// either import into a verified module or fail with at least one error
// diagnostic; a crash fails the whole test binary.
//
//===----------------------------------------------------------------------===//

#include "passes/Import/SpecImport.h"
#include "passes/Partition/Passes.h"

#include "dialect/NovaDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"

#include <gtest/gtest.h>

#include <random>

using namespace mlir;

namespace {

std::string readFile(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  EXPECT_TRUE(bool(buffer)) << path;
  return buffer ? (*buffer)->getBuffer().str() : std::string();
}

/// One deterministic mutation of `text`.
std::string mutate(const std::string &text, std::mt19937 &rng) {
  llvm::SmallVector<llvm::StringRef> lines;
  llvm::StringRef(text).split(lines, '\n');
  auto pick = [&](size_t n) { return n ? rng() % n : 0; };
  std::vector<std::string> out(lines.begin(), lines.end());
  static const char *tokens[] = {
      "",           "-1",       "0",    "99999999999999999999",
      "[",          "]",        "{",    "}",
      ":",          "&a",       "*a",   "~",
      "null",       "'x'",      "bf16", "i8",
      "per_column", "{i}",      "D/0",  "a//b",
      "\t",         "!!binary", "- ",   "#"};
  switch (rng() % 7) {
  case 0: // delete a line
    if (!out.empty())
      out.erase(out.begin() + pick(out.size()));
    break;
  case 1: // duplicate a line
    if (!out.empty()) {
      size_t i = pick(out.size());
      out.insert(out.begin() + i, out[i]);
    }
    break;
  case 2: // swap two lines
    if (out.size() > 1)
      std::swap(out[pick(out.size())], out[pick(out.size())]);
    break;
  case 3: { // truncate the document
    std::string t = text.substr(0, pick(text.size()));
    return t;
  }
  case 4: { // replace a word with a hostile token
    size_t i = pick(out.size());
    std::string &line = out[i];
    size_t start = pick(line.size() + 1);
    size_t len = pick(8);
    line.replace(std::min(start, line.size()), len,
                 tokens[pick(std::size(tokens))]);
    break;
  }
  case 5: { // flip random bytes
    std::string t = text;
    for (int k = 0; k < 4 && !t.empty(); ++k)
      t[pick(t.size())] = static_cast<char>(rng() & 0xff);
    return t;
  }
  default: { // change a number
    size_t i = pick(out.size());
    for (char &c : out[i])
      if (llvm::isDigit(c)) {
        c = static_cast<char>('0' + pick(10));
        break;
      }
    break;
  }
  }
  return llvm::join(out, "\n");
}

struct Outcome {
  bool ok = false;
  unsigned errors = 0;
};

/// Imports `model`, then `rules` into it, and applies the rules. A model with
/// `shard` ops names the rules' mesh, so it verifies only with the rules:
/// `verifyModelAlone` is false for those.
Outcome importBoth(const std::string &model, const std::string &rules,
                   bool verifyModelAlone = true) {
  DialectRegistry registry;
  registry.insert<nova::NovaDialect, func::FuncDialect, arith::ArithDialect,
                  tensor::TensorDialect>();
  MLIRContext context(registry, MLIRContext::Threading::DISABLED);
  Outcome outcome;
  ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error)
      ++outcome.errors;
    return success();
  });
  OwningOpRef<ModuleOp> module =
      nova::importModelSpec(model, "model.yaml", &context);
  if (!module)
    return outcome;
  if (verifyModelAlone && failed(verify(*module)))
    return outcome;
  if (failed(nova::importPartitionRules(rules, "rules.yaml", *module)) ||
      failed(verify(*module)))
    return outcome;
  PassManager pm(&context);
  pm.addPass(nova::createApplyPartitionRulesPass());
  if (failed(pm.run(*module)))
    return outcome;
  outcome.ok = succeeded(verify(*module));
  return outcome;
}

/// Runs `kMutations` mutations of `model` and `rules` (alternately) through
/// importBoth(): each imports or explains its failure, and most fail.
void checkMutations(const std::string &model, const std::string &rules,
                    bool verifyModelAlone) {
  std::mt19937 rng(20261127);
  unsigned failures = 0;
  const unsigned kMutations = 400;
  for (unsigned i = 0; i < kMutations; ++i) {
    bool mutateModel = i % 2 == 0;
    std::string m = mutateModel ? mutate(model, rng) : model;
    std::string r = mutateModel ? rules : mutate(rules, rng);
    Outcome outcome = importBoth(m, r, verifyModelAlone);
    if (!outcome.ok) {
      ++failures;
      EXPECT_GT(outcome.errors, 0u)
          << "mutation " << i << " failed without an error:\n"
          << (mutateModel ? m : r);
    }
  }
  // Most mutations must be caught; a mutator that never breaks anything
  // would make this test vacuous.
  EXPECT_GT(failures, kMutations / 4);
}

class SpecMutationTest : public ::testing::TestWithParam<const char *> {};

TEST_P(SpecMutationTest, NeverCrashesAndAlwaysExplainsFailure) {
  std::string dir = std::string(NOVA_SOURCE_DIR) + "/examples/" + GetParam();
  std::string model = readFile(dir + "/model.yaml");
  // Examples without their own rules use Grok-1's.
  std::string rulesPath = dir + "/rules.yaml";
  if (!llvm::sys::fs::exists(rulesPath))
    rulesPath = std::string(NOVA_SOURCE_DIR) + "/examples/grok1/rules.yaml";
  std::string rules = readFile(rulesPath);
  ASSERT_FALSE(model.empty());

  // The unmutated pair imports cleanly.
  Outcome clean = importBoth(model, rules);
  EXPECT_TRUE(clean.ok);
  EXPECT_EQ(clean.errors, 0u);

  checkMutations(model, rules, /*verifyModelAlone=*/true);
}

INSTANTIATE_TEST_SUITE_P(Examples, SpecMutationTest,
                         ::testing::Values("grok1-small", "slot-adapter"));

// Activation shards (in a repeat block, on a named mesh, with every spec
// form) against the rules that declare their mesh.
TEST(SpecMutationShardTest, NeverCrashesAndAlwaysExplainsFailure) {
  const std::string model = R"(version: 1
kind: model
dims: {B: 8, D: 16, L: 2}
inputs: {x: {dtype: bf16, shape: [B, D]}}
params:
  - repeat: {index: i, count: L}
    body:
      - {path: "m/layer_{i}/norm/scale", dtype: f32, shape: [D]}
graph:
  - repeat: {index: i, count: L}
    body:
      - {op: rms_norm, input: x, scale: "m/layer_{i}/norm/scale", out: x}
      - {op: shard, input: x, mesh: grid, spec: [null, model], out: x}
  - {op: shard, input: x, mesh: grid, spec: [[data, model]], out: y}
  - {op: shard, input: y, mesh: grid, spec: [None], out: y}
outputs: [y]
)";
  const std::string rules = R"(version: 1
kind: partition-rules
mesh: {name: grid, axes: {data: 2, model: 4}}
rules:
  - {match: [norm, scale], spec: [model]}
)";
  Outcome clean = importBoth(model, rules, /*verifyModelAlone=*/false);
  EXPECT_TRUE(clean.ok);
  EXPECT_EQ(clean.errors, 0u);
  // Without the rules the mesh is missing: an error, not a crash.
  Outcome alone = importBoth(model, rules, /*verifyModelAlone=*/true);
  EXPECT_FALSE(alone.ok);
  EXPECT_GT(alone.errors, 0u);
  checkMutations(model, rules, /*verifyModelAlone=*/false);
}

} // namespace
