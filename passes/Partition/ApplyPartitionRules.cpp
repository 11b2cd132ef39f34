//===- ApplyPartitionRules.cpp - Partition rules to shardings -------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Partition/Passes.h"

#include "dialect/NovaOps.h"
#include "dialect/NovaSharding.h"
#include "dialect/TokenRegex.h"

#include "nova/runtime/Text.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::nova {
#define GEN_PASS_DEF_APPLYPARTITIONRULESPASS
#include "passes/Partition/Passes.h.inc"
} // namespace mlir::nova

using namespace mlir;
using namespace mlir::nova;
using ::nova::rt::printable;

namespace {

/// The most tokens a parameter path may have for rule matching (docs/spec.md,
/// "Matching"); each token is at most TokenRegex::kMaxTokenBytes.
constexpr size_t kMaxPathTokens = 256;

/// One rule with its compiled regexes and a per-regex cache of token
/// results (Grok-1's 770 paths reuse few distinct tokens).
struct CompiledRule {
  PartitionRuleOp op;
  std::vector<std::unique_ptr<TokenRegex>> regexes;
  std::vector<llvm::StringMap<bool>> cache;
  /// Paths this rule matches, and how many of them it wins.
  SmallVector<StringRef> matched;
  unsigned won = 0;
};

/// All nova.param ops of one path.
struct ParamGroup {
  SmallVector<ParamOp> ops;
};

/// Renders "rule 19 (rules.yaml:45:5)".
std::string describeRule(unsigned index, PartitionRuleOp op) {
  std::string s = "rule " + std::to_string(index);
  std::string where = formatFileLocation(op.getLoc());
  if (!where.empty())
    s += " (" + where + ")";
  return s;
}

struct ApplyPartitionRulesPass
    : mlir::nova::impl::ApplyPartitionRulesPassBase<ApplyPartitionRulesPass> {
  using Base::Base;

  void runOnOperation() override;

private:
  /// Whether `rule` matches some window of `tokens`; failure when a regex
  /// could not be evaluated (reported at the rule).
  FailureOr<bool> matches(CompiledRule &rule, ArrayRef<StringRef> tokens);
  LogicalResult checkFits(ParamGroup &group, ShardingAttr spec, MeshOp mesh,
                          unsigned ruleIndex, PartitionRuleOp rule);
};

FailureOr<bool> ApplyPartitionRulesPass::matches(CompiledRule &rule,
                                                 ArrayRef<StringRef> tokens) {
  size_t m = rule.regexes.size();
  // An empty rule never matches: no window yields a non-empty match list.
  if (m == 0 || m > tokens.size())
    return false;
  for (size_t start = 0; start + m <= tokens.size(); ++start) {
    bool all = true;
    for (size_t j = 0; j < m && all; ++j) {
      StringRef token = tokens[start + j];
      auto cached = rule.cache[j].find(token);
      if (cached == rule.cache[j].end()) {
        std::string error;
        std::optional<bool> result = rule.regexes[j]->matches(token, error);
        if (!result)
          return rule.op.emitError()
                 << "regex '" << printable(rule.regexes[j]->pattern())
                 << "' failed on token '" << printable(token) << "': " << error;
        cached = rule.cache[j].try_emplace(token, *result).first;
      }
      all = cached->second;
    }
    if (all)
      return true;
  }
  return false;
}

/// Fails, at `param`, for a path too long to match rules against: more
/// than kMaxPathTokens tokens or a token over TokenRegex::kMaxTokenBytes.
static LogicalResult checkMatchable(ParamOp param, StringRef path,
                                    ArrayRef<StringRef> tokens) {
  if (tokens.size() > kMaxPathTokens)
    return param.emitError()
           << "parameter path '" << printable(path) << "' has " << tokens.size()
           << " tokens; partition rules match paths of at most "
           << kMaxPathTokens << " tokens";
  for (auto [i, token] : llvm::enumerate(tokens))
    if (token.size() > TokenRegex::kMaxTokenBytes)
      return param.emitError()
             << "token " << i << " of parameter path '" << printable(path)
             << "' is " << token.size()
             << " bytes long; partition rules match tokens of at most "
             << TokenRegex::kMaxTokenBytes << " bytes";
  return success();
}

/// Why `spec` does not fit the `noun` of `type` ("dimension 1 of the
/// weight (shape [..], size 6) is not divisible by 4 (mesh axes 'model')"),
/// following "..., but ".
static std::string describeMisfit(const ::nova::rt::ShardingMismatch &m,
                                  StringRef noun, RankedTensorType type,
                                  ShardingAttr spec) {
  using Kind = ::nova::rt::ShardingMismatch::Kind;
  std::string problem;
  llvm::raw_string_ostream os(problem);
  switch (m.kind) {
  case Kind::TooManyEntries:
    os << "the " << noun << " has only " << type.getRank() << " dimensions "
       << formatShape(type.getShape());
    break;
  case Kind::UnknownAxis:
    os << "mesh axis '" << m.axis << "' is not on @"
       << spec.getMesh().getValue();
    break;
  case Kind::RepeatedAxis:
    os << "mesh axis '" << m.axis << "' shards two dimensions";
    break;
  case Kind::ShardCountOverflow:
    os << "the mesh axes " << spec.getDimString(m.dim) << " of dimension "
       << m.dim << " hold more than 2^63 - 1 devices";
    break;
  case Kind::NotDivisible:
    os << "dimension " << m.dim << " of the " << noun << " (shape "
       << formatShape(type.getShape()) << ", size " << m.size
       << ") is not divisible by " << m.shards << " (mesh axes "
       << spec.getDimString(m.dim) << ")";
    break;
  }
  return problem;
}

LogicalResult ApplyPartitionRulesPass::checkFits(ParamGroup &group,
                                                 ShardingAttr spec, MeshOp mesh,
                                                 unsigned ruleIndex,
                                                 PartitionRuleOp rule) {
  ParamOp param = group.ops.front();
  SmallVector<std::pair<StringRef, RankedTensorType>> tensors = {
      {"weight", cast<RankedTensorType>(param.getValue().getType())}};
  if (param.isQuantized())
    tensors.push_back(
        {"scales", cast<RankedTensorType>(param.getScales().getType())});
  std::vector<::nova::rt::MeshAxis> axes = toRuntimeMesh(mesh);
  ::nova::rt::PartitionSpec partition = toRuntimeSpec(spec);
  for (auto [what, type] : tensors) {
    StringRef noun = param.isQuantized() ? what : StringRef("parameter");
    std::optional<::nova::rt::ShardingMismatch> m =
        ::nova::rt::checkSharding(type.getShape().vec(), partition, axes);
    if (!m)
      continue;
    InFlightDiagnostic diag = param.emitError();
    diag << describeRule(ruleIndex, rule) << " gives '" << param.getPath()
         << "' the spec " << spec.toPartitionSpecString() << ", but "
         << describeMisfit(*m, noun, type, spec);
    diag.attachNote(rule.getLoc()) << "the rule is here";
    return failure();
  }
  return success();
}

void ApplyPartitionRulesPass::runOnOperation() {
  ModuleOp module = getOperation();
  auto containers = llvm::to_vector(module.getOps<PartitionRulesOp>());
  if (containers.size() != 1) {
    module.emitError() << "expected one 'nova.partition_rules' op in the "
                          "module (pass partition rules with --rules), got "
                       << containers.size();
    return signalPassFailure();
  }

  SmallVector<CompiledRule> rules;
  for (PartitionRuleOp op : containers.front().getOps<PartitionRuleOp>()) {
    CompiledRule rule;
    rule.op = op;
    for (Attribute attr : op.getPattern()) {
      std::string error;
      auto regex =
          TokenRegex::compile(cast<StringAttr>(attr).getValue(), error);
      if (!regex) {
        op.emitError() << "invalid regex '"
                       << printable(cast<StringAttr>(attr).getValue())
                       << "': " << error;
        return signalPassFailure();
      }
      rule.regexes.push_back(std::move(regex));
    }
    rule.cache.resize(rule.regexes.size());
    rules.push_back(std::move(rule));
  }

  llvm::MapVector<StringRef, ParamGroup> groups;
  module.walk([&](ParamOp op) { groups[op.getPath()].ops.push_back(op); });

  SymbolTableCollection symbolTable;
  Builder b(module.getContext());
  bool failedAny = false;
  for (auto &[path, group] : groups) {
    SmallVector<StringRef> tokens = splitPath(path);
    if (failed(checkMatchable(group.ops.front(), path, tokens))) {
      failedAny = true;
      continue;
    }
    std::optional<unsigned> winner;
    for (auto [index, rule] : llvm::enumerate(rules)) {
      FailureOr<bool> hit = matches(rule, tokens);
      if (failed(hit))
        return signalPassFailure();
      if (!*hit)
        continue;
      rule.matched.push_back(path);
      if (!winner) {
        winner = index;
        ++rule.won;
      }
    }
    ParamOp first = group.ops.front();
    if (!winner) {
      if (!allowUnmatched) {
        first.emitError() << "parameter '" << path
                          << "' matches no partition rule (add a rule, or "
                             "pass --allow-unmatched to replicate it)";
        failedAny = true;
        continue;
      }
      auto meshes = module.getOps<MeshOp>();
      if (meshes.empty()) {
        first.emitError() << "parameter '" << path
                          << "' matches no partition rule, and there is no "
                             "nova.mesh to replicate it over";
        failedAny = true;
        continue;
      }
      first.emitWarning() << "parameter '" << path
                          << "' matches no partition rule; it is replicated";
      auto mesh = FlatSymbolRefAttr::get((*meshes.begin()).getSymNameAttr());
      for (ParamOp op : group.ops)
        op.setShardingAttr(
            ShardingAttr::get(module.getContext(), mesh, b.getArrayAttr({})));
      continue;
    }

    CompiledRule &rule = rules[*winner];
    ShardingAttr spec = rule.op.getSpec();
    // Scanned layer stacks get a leading replicated dimension (§2.3).
    if (llvm::is_contained(tokens, "layer_stack")) {
      SmallVector<Attribute> dims = {b.getArrayAttr({})};
      llvm::append_range(dims, spec.getDims());
      spec = ShardingAttr::get(module.getContext(), spec.getMesh(),
                               b.getArrayAttr(dims));
    }
    auto mesh = symbolTable.lookupNearestSymbolFrom<MeshOp>(
        rule.op, spec.getMesh().getAttr());
    if (!mesh) {
      rule.op.emitError() << "expected '" << spec.getMesh()
                          << "' to name a nova.mesh, got no such symbol";
      return signalPassFailure();
    }
    if (failed(checkFits(group, spec, mesh, *winner, rule.op))) {
      failedAny = true;
      continue;
    }
    for (ParamOp op : group.ops) {
      op.setShardingAttr(spec);
      op->setAttr("nova.partition_rule", b.getI64IntegerAttr(*winner));
    }
  }

  for (auto [index, rule] : llvm::enumerate(rules)) {
    if (rule.regexes.empty()) {
      rule.op.emitWarning() << "partition rule " << index
                            << " has no token regexes: it never matches (as "
                               "in Grok-1)";
      continue;
    }
    if (rule.matched.empty()) {
      rule.op.emitWarning()
          << "partition rule " << index << " matches no parameter";
      continue;
    }
    if (rule.won == 0) {
      StringRef example = rule.matched.front();
      auto winner = groups[example].ops.front()->getAttrOfType<IntegerAttr>(
          "nova.partition_rule");
      InFlightDiagnostic diag = rule.op.emitWarning();
      diag << "partition rule " << index << " is shadowed: each of the "
           << rule.matched.size()
           << " parameters it matches is taken by an earlier rule";
      if (winner)
        diag << " (e.g. '" << example << "' by rule " << winner.getInt() << ")";
    }
  }
  if (failedAny)
    signalPassFailure();
}

} // namespace
