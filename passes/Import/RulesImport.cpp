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

#include "nova/runtime/Text.h"

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
    static const StringRef keys[] = {"version", "kind", "mesh", "rules"};
    static const StringRef required[] = {"mesh", "rules"};
    FailureOr<SmallVector<const Node *>> header =
        readSpecHeader(file, root,
                       {"partition-rules", "a partition-rule spec",
                        "a rule spec", keys, required});
    if (failed(header))
      return failure();
    const Node *mesh = (*header)[0], *rules = (*header)[1];
    if (failed(importMesh(*mesh)) ||
        failed(file.expectSequence(*rules, "'rules'")))
      return failure();

    builder.setInsertionPointToEnd(module.getBody());
    auto container = PartitionRulesOp::create(builder, file.loc(*rules));
    builder.setInsertionPointToEnd(&container.getBody().front());
    for (const Node &rule : rules->items)
      if (failed(file.charge(rule, 1, "a rule")) || failed(importRule(rule)))
        return failure();
    return success();
  }

private:
  LogicalResult importMesh(const Node &mesh) {
    if (failed(file.expectMap(mesh, "'mesh'")) ||
        failed(file.checkKeys(mesh, {"name", "axes"}, "'mesh'")))
      return failure();
    meshName = kDefaultMeshName.str();
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

  /// Errors unless `name` (at `node`) is an axis of the mesh.
  LogicalResult checkAxis(const Node &node, StringRef name) {
    if (axisNames.contains(name))
      return success();
    InFlightDiagnostic diag = file.error(node);
    diag << "unknown mesh axis '" << echo(name) << "'; mesh '" << meshName
         << "' has axes: ";
    SmallVector<StringRef> known(axisNames.keys());
    llvm::sort(known);
    llvm::interleaveComma(known, diag);
    return failure();
  }

  LogicalResult importRule(const Node &rule) {
    if (failed(file.expectMap(rule, "a rule")) ||
        failed(file.checkKeys(rule, {"match", "spec"}, "a rule")))
      return failure();
    const Node *match = file.require(rule, "match", "a rule");
    const Node *spec = file.require(rule, "spec", "a rule");
    // `spec: null` (or None) is Grok-1's None replacement: the parameter is
    // left unspecified, i.e. replicated.
    bool replicated =
        spec && (spec->isNull() ||
                 (spec->isScalar() && !spec->quoted && spec->scalar == "None"));
    if (!match || !spec || failed(file.expectSequence(*match, "'match'")) ||
        (!replicated && failed(file.expectSequence(*spec, "'spec'"))))
      return failure();
    // An empty `match` never matches (Grok-1's _match); the rules pass warns.
    SmallVector<Attribute> pattern;
    for (const Node &re : match->items) {
      FailureOr<std::string> text = file.getString(re, "a token regex");
      if (failed(text))
        return failure();
      std::string error;
      if (!TokenRegex::compile(*text, error))
        return file.error(re) << "invalid regex '"
                              << ::nova::rt::printable(*text) << "': " << error;
      pattern.push_back(builder.getStringAttr(*text));
    }
    FailureOr<ArrayAttr> dims =
        replicated ? builder.getArrayAttr({})
                   : readPartitionSpec(file, *spec,
                                       [&](const Node &node, StringRef name) {
                                         return checkAxis(node, name);
                                       });
    if (failed(dims))
      return failure();
    auto sharding = ShardingAttr::get(
        builder.getContext(),
        FlatSymbolRefAttr::get(builder.getContext(), meshName), *dims);
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
                                               ModuleOp module,
                                               const SpecLimits &limits) {
  MLIRContext *context = module.getContext();
  context->loadDialect<NovaDialect>();
  SpecFile file(context, filename, limits);
  Node root;
  if (failed(file.parse(text, root)))
    return failure();
  if (!module.getOps<PartitionRulesOp>().empty())
    return emitError(file.loc(1, 1))
           << "the module already has partition rules";
  RulesImporter importer(file, module);
  return importer.import(root);
}
