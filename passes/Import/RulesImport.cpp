//===- RulesImport.cpp - YAML partition rules to Nova IR ------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// A partition-rule spec (docs/spec.md) names a mesh and lists rules, each a
// window of per-token regexes and a partition spec (§2 of the Grok-1
// semantics). They become a nova.mesh and a nova.partition_rules op whose
// rules keep their YAML location, which every later diagnostic points at.
//
//===----------------------------------------------------------------------===//

#include "passes/Import/SpecImport.h"
#include "passes/Import/SpecReader.h"

#include "dialect/NovaOps.h"
#include "dialect/TokenRegex.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringSet.h"

using namespace mlir;
using namespace mlir::nova;
using namespace mlir::nova::spec;
using yaml::Node;

namespace {

class RulesImporter {
public:
  RulesImporter(SpecFile &file, ModuleOp module)
      : file(file), module(module), builder(module.getContext()) {}

  LogicalResult import(const Node &root) {
    if (failed(file.expectMap(root, "a partition-rule spec")) ||
        failed(file.checkKeys(root, {"version", "kind", "mesh", "rules"},
                              "a partition-rule spec")))
      return failure();
    const Node *version = file.require(root, "version", "a rule spec");
    const Node *kind = file.require(root, "kind", "a rule spec");
    const Node *mesh = file.require(root, "mesh", "a rule spec");
    const Node *rules = file.require(root, "rules", "a rule spec");
    if (!version || !kind || !mesh || !rules)
      return failure();
    FailureOr<int64_t> v = file.getInt(*version, "the spec version");
    if (failed(v))
      return failure();
    if (*v != 1)
      return file.error(*version) << "expected spec version 1, got " << *v;
    if (!kind->isScalar() || kind->scalar != "partition-rules")
      return file.error(*kind)
             << "expected kind 'partition-rules', got " << kind->describe();
    if (failed(importMesh(*mesh)) ||
        failed(file.expectSequence(*rules, "'rules'")))
      return failure();

    builder.setInsertionPointToEnd(module.getBody());
    auto container = PartitionRulesOp::create(builder, file.loc(*rules));
    builder.setInsertionPointToEnd(&container.getBody().front());
    for (const Node &rule : rules->items)
      if (failed(importRule(rule)))
        return failure();
    return success();
  }

private:
  LogicalResult importMesh(const Node &mesh) {
    if (failed(file.expectMap(mesh, "'mesh'")) ||
        failed(file.checkKeys(mesh, {"name", "axes"}, "'mesh'")))
      return failure();
    meshName = "mesh";
    if (const Node *name = file.get(mesh, "name")) {
      FailureOr<std::string> n = file.getIdentifier(*name, "a mesh name");
      if (failed(n))
        return failure();
      meshName = *n;
    }
    const Node *axes = file.require(mesh, "axes", "'mesh'");
    if (!axes || failed(file.expectMap(*axes, "the mesh axes")))
      return failure();
    if (axes->entries.empty())
      return file.error(*axes) << "expected at least one mesh axis";
    SmallVector<Attribute> names;
    SmallVector<int64_t> sizes;
    for (const auto &[key, value] : axes->entries) {
      FailureOr<std::string> name = file.getIdentifier(key, "an axis name");
      FailureOr<int64_t> size = file.getInt(value, "an axis size");
      if (failed(name) || failed(size))
        return failure();
      if (*size < 1)
        return file.error(value) << "expected axis '" << *name
                                 << "' to have a positive size, got " << *size;
      names.push_back(builder.getStringAttr(*name));
      sizes.push_back(*size);
      axisNames.insert(*name);
    }
    if (SymbolTable::lookupSymbolIn(module, meshName))
      return file.error(mesh)
             << "symbol '" << meshName << "' is already defined in the module";
    builder.setInsertionPointToStart(module.getBody());
    MeshOp::create(builder, file.loc(mesh), meshName,
                   builder.getArrayAttr(names), sizes);
    return success();
  }

  /// An axis name of the mesh, checked at its node.
  LogicalResult axis(const Node &node, SmallVectorImpl<Attribute> &into,
                     llvm::StringSet<> &seen) {
    FailureOr<std::string> name = file.getString(node, "a mesh axis");
    if (failed(name))
      return failure();
    if (!axisNames.contains(*name)) {
      InFlightDiagnostic diag = file.error(node);
      diag << "unknown mesh axis '" << *name << "'; mesh '" << meshName
           << "' has axes: ";
      SmallVector<StringRef> known(axisNames.keys());
      llvm::sort(known);
      llvm::interleaveComma(known, diag);
      return failure();
    }
    if (!seen.insert(*name).second)
      return file.error(node)
             << "mesh axis '" << *name << "' is used twice in one spec";
    into.push_back(builder.getStringAttr(*name));
    return success();
  }

  LogicalResult importRule(const Node &rule) {
    if (failed(file.expectMap(rule, "a rule")) ||
        failed(file.checkKeys(rule, {"match", "spec"}, "a rule")))
      return failure();
    const Node *match = file.require(rule, "match", "a rule");
    const Node *spec = file.require(rule, "spec", "a rule");
    if (!match || !spec || failed(file.expectSequence(*match, "'match'")) ||
        failed(file.expectSequence(*spec, "'spec'")))
      return failure();
    if (match->items.empty())
      return file.error(*match) << "expected at least one token regex";
    SmallVector<Attribute> pattern;
    for (const Node &re : match->items) {
      FailureOr<std::string> text = file.getString(re, "a token regex");
      if (failed(text))
        return failure();
      std::string error;
      if (!TokenRegex::compile(*text, error))
        return file.error(re) << "invalid regex '" << *text << "': " << error;
      pattern.push_back(builder.getStringAttr(*text));
    }
    SmallVector<Attribute> dims;
    llvm::StringSet<> seen;
    for (const Node &dim : spec->items) {
      // None (YAML null, or Python's spelling) replicates the dimension.
      if (dim.isNull() ||
          (dim.isScalar() && !dim.quoted && dim.scalar == "None")) {
        dims.push_back(builder.getArrayAttr({}));
        continue;
      }
      if (dim.isSequence()) {
        SmallVector<Attribute> axes;
        for (const Node &a : dim.items)
          if (failed(axis(a, axes, seen)))
            return failure();
        dims.push_back(builder.getArrayAttr(axes));
        continue;
      }
      SmallVector<Attribute> one;
      if (failed(axis(dim, one, seen)))
        return failure();
      dims.push_back(one.front());
    }
    auto sharding = ShardingAttr::get(
        builder.getContext(),
        FlatSymbolRefAttr::get(builder.getContext(), meshName),
        builder.getArrayAttr(dims));
    PartitionRuleOp::create(builder, file.loc(rule),
                            builder.getArrayAttr(pattern), sharding);
    return success();
  }

  SpecFile &file;
  ModuleOp module;
  OpBuilder builder;
  std::string meshName;
  llvm::StringSet<> axisNames;
};

} // namespace

LogicalResult mlir::nova::importPartitionRules(StringRef text,
                                               StringRef filename,
                                               ModuleOp module) {
  MLIRContext *context = module.getContext();
  context->loadDialect<NovaDialect>();
  SpecFile file(context, filename);
  Node root;
  if (failed(file.parse(text, root)))
    return failure();
  if (!module.getOps<PartitionRulesOp>().empty())
    return emitError(file.loc(1, 1))
           << "the module already has partition rules";
  RulesImporter importer(file, module);
  return importer.import(root);
}
