//===- ModelImport.cpp - YAML model spec to Nova IR -----------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Translates a model spec (docs/spec.md) into a module with one func.func per
// entry point. Every op carries the YAML file:line:col of the node it came
// from, and is verified as soon as it is built, so a shape or type mistake is
// reported at the line that caused it. Repeat blocks are unrolled with the
// index substituted into parameter paths ("decoder_layer_{i}").
//
//===----------------------------------------------------------------------===//

#include "passes/Import/SpecImport.h"
#include "passes/Import/SpecReader.h"

#include "dialect/NovaOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>

using namespace mlir;
using namespace mlir::nova;
using namespace mlir::nova::spec;
using yaml::Node;

namespace {

/// A declared parameter.
struct ParamDecl {
  std::string path;
  RankedTensorType type;
  /// Set for int8 weights with scales.
  RankedTensorType scalesType;
  ScaleLayoutAttr layout;
  const Node *node = nullptr;
  /// The declaration's shape nodes and the repeat indices in scope there, to
  /// re-evaluate the shape under an entry's dimension overrides.
  const Node *shapeNode = nullptr;
  const Node *scalesNode = nullptr;
  std::vector<std::pair<std::string, int64_t>> indices;
  bool used = false;
};

/// An operand reference resolved by the importer: a value, or a quantized
/// parameter (weight + scales + layout).
struct Operand {
  Value value;
  Value scales;
  ScaleLayoutAttr layout;
  bool isQuantized() const { return scales != nullptr; }
};

RankedTensorType tensorOf(ArrayRef<int64_t> shape, Type element) {
  return RankedTensorType::get(shape, element);
}
ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}
Type elementOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementType();
}
/// `shape[i]` counting negative i from the end; 1 when out of range (the op
/// verifier then reports the real problem).
int64_t dimAt(ArrayRef<int64_t> shape, int64_t i) {
  if (i < 0)
    i += shape.size();
  return i >= 0 && i < static_cast<int64_t>(shape.size()) ? shape[i] : 1;
}

class ModelImporter {
public:
  ModelImporter(SpecFile &file, ModuleOp module)
      : file(file), module(module), builder(module.getContext()) {}

  LogicalResult import(const Node &root);

private:
  //===--- Declarations ---------------------------------------------------===//
  LogicalResult readDims(const Node &node);
  LogicalResult readParams(const Node &seq, Scope &scope,
                           std::vector<std::pair<std::string, int64_t>> &idx);
  LogicalResult readParam(const Node &node, Scope &scope,
                          std::vector<std::pair<std::string, int64_t>> &idx);
  FailureOr<ScaleLayoutAttr> readLayout(const Node &map, const Node &at);
  FailureOr<SmallVector<int64_t>> readShape(const Node &node,
                                            const Scope &scope);
  FailureOr<RankedTensorType>
  readTensorType(const Node &map, const Scope &scope, StringRef what);
  FailureOr<std::pair<const Node *, unsigned>>
  readRepeat(const Node &node, const Scope &scope, std::string &index);
  LogicalResult checkParamsUnder(const Scope &dims, const Node &at,
                                 StringRef entry);
  LogicalResult importEntry(StringRef name, const Scope &dims, const Node &at);

  //===--- Graph ----------------------------------------------------------===//
  LogicalResult importOps(const Node &seq, Scope &scope);
  LogicalResult importOp(const Node &node, Scope &scope);
  FailureOr<Operand> resolve(const Node &ref, const Scope &scope);
  /// The float/int tensor named by `key` (quantized params are dequantized).
  FailureOr<Value> value(const Node &op, StringRef key, const Scope &scope);
  /// The optional operand `key`: Value() when absent.
  FailureOr<Value> optionalValue(const Node &op, StringRef key,
                                 const Scope &scope);
  FailureOr<Operand> quantized(const Node &op, StringRef key,
                               const Scope &scope);
  FailureOr<Value> paramValue(ParamDecl &decl, Location loc,
                              Value *scales = nullptr);
  FailureOr<Type> dtypeOr(const Node &op, Type fallback);
  FailureOr<int64_t> intOr(const Node &op, StringRef key, int64_t fallback,
                           const Scope &scope);
  FailureOr<double> floatOr(const Node &op, StringRef key, double fallback);
  LogicalResult bind(const Node &op, Operation *created);
  LogicalResult finish(const Node &node, Operation *op);
  Value splat(Location loc, RankedTensorType type, double v);
  Value castTo(Location loc, Value v, Type element);

  LogicalResult importBinary(const Node &op, StringRef kind,
                             const Scope &scope);

  SpecFile &file;
  ModuleOp module;
  OpBuilder builder;
  Scope dims;
  std::vector<ParamDecl> params;
  llvm::StringMap<size_t> paramIndex;
  const Node *inputs = nullptr, *graph = nullptr, *outputs = nullptr;

  // Per entry point.
  llvm::StringMap<Value> values;
  llvm::StringMap<std::pair<Value, Value>> paramValues;
};

} // namespace

//===----------------------------------------------------------------------===//
// Declarations
//===----------------------------------------------------------------------===//

LogicalResult ModelImporter::readDims(const Node &node) {
  if (failed(file.expectMap(node, "'dims'")))
    return failure();
  for (const auto &[key, value] : node.entries) {
    FailureOr<std::string> name = file.getIdentifier(key, "a dimension name");
    if (failed(name))
      return failure();
    FailureOr<int64_t> size = evalExpr(file, value, dims);
    if (failed(size))
      return failure();
    if (*size < 1)
      return file.error(value) << "expected dimension '" << *name
                               << "' to be positive, got " << *size;
    dims.set(*name, *size);
  }
  return success();
}

FailureOr<SmallVector<int64_t>> ModelImporter::readShape(const Node &node,
                                                         const Scope &scope) {
  if (failed(file.expectSequence(node, "a shape")))
    return failure();
  SmallVector<int64_t> shape;
  for (const Node &dim : node.items) {
    FailureOr<int64_t> size = evalExpr(file, dim, scope);
    if (failed(size))
      return failure();
    if (*size < 1)
      return file.error(dim) << "expected a positive dimension, got " << *size;
    shape.push_back(*size);
  }
  return shape;
}

FailureOr<RankedTensorType> ModelImporter::readTensorType(const Node &map,
                                                          const Scope &scope,
                                                          StringRef what) {
  const Node *dtype = file.require(map, "dtype", what);
  const Node *shape = file.require(map, "shape", what);
  if (!dtype || !shape)
    return failure();
  FailureOr<Type> element = file.getElementType(*dtype);
  FailureOr<SmallVector<int64_t>> dims = readShape(*shape, scope);
  if (failed(element) || failed(dims))
    return failure();
  return tensorOf(*dims, *element);
}

FailureOr<ScaleLayoutAttr> ModelImporter::readLayout(const Node &map,
                                                     const Node &at) {
  const Node *layout = file.require(map, "layout", "the scales");
  if (!layout)
    return failure();
  FailureOr<std::string> name = file.getString(*layout, "a scale layout");
  if (failed(name))
    return failure();
  std::optional<ScaleLayoutKind> kind = symbolizeScaleLayoutKind(*name);
  if (!kind)
    return file.error(*layout) << "expected a scale layout (per_tensor, "
                                  "per_column, row_blocks, group), got '"
                               << *name << "'";
  StringRef sizeKey = *kind == ScaleLayoutKind::RowBlocks ? "blocks"
                      : *kind == ScaleLayoutKind::Group   ? "group_size"
                                                          : "";
  const Node *size = file.get(map, "blocks");
  const Node *group = file.get(map, "group_size");
  for (const Node *extra : {size, group}) {
    if (!extra)
      continue;
    StringRef key = extra == size ? "blocks" : "group_size";
    if (key != sizeKey)
      return file.error(*extra)
             << "unexpected '" << key << "' for scale layout '" << *name << "'";
  }
  int64_t n = 0;
  if (!sizeKey.empty()) {
    const Node *sizeNode = file.require(map, sizeKey, "the scales");
    if (!sizeNode)
      return failure();
    FailureOr<int64_t> v = evalExpr(file, *sizeNode, dims);
    if (failed(v))
      return failure();
    if (*v < 1)
      return file.error(*sizeNode)
             << "expected a positive " << sizeKey << ", got " << *v;
    n = *v;
  }
  return ScaleLayoutAttr::get(file.getContext(), *kind, n);
}

FailureOr<std::pair<const Node *, unsigned>>
ModelImporter::readRepeat(const Node &node, const Scope &scope,
                          std::string &index) {
  const Node *repeat = file.get(node, "repeat");
  if (failed(file.expectMap(*repeat, "'repeat'")) ||
      failed(file.checkKeys(*repeat, {"index", "count"}, "'repeat'")))
    return failure();
  const Node *indexNode = file.require(*repeat, "index", "'repeat'");
  const Node *countNode = file.require(*repeat, "count", "'repeat'");
  const Node *body = file.require(node, "body", "a repeat block");
  if (!indexNode || !countNode || !body)
    return failure();
  FailureOr<std::string> name = file.getIdentifier(*indexNode, "an index name");
  FailureOr<int64_t> count = evalExpr(file, *countNode, scope);
  if (failed(name) || failed(count))
    return failure();
  if (scope.lookup(*name))
    return file.error(*indexNode)
           << "index '" << *name << "' shadows a dimension or an outer index";
  if (*count < 0)
    return file.error(*countNode)
           << "expected a non-negative repeat count, got " << *count;
  if (failed(file.expectSequence(*body, "a repeat body")))
    return failure();
  index = *name;
  return std::make_pair(body, static_cast<unsigned>(*count));
}

LogicalResult
ModelImporter::readParams(const Node &seq, Scope &scope,
                          std::vector<std::pair<std::string, int64_t>> &idx) {
  if (failed(file.expectSequence(seq, "'params'")))
    return failure();
  for (const Node &item : seq.items) {
    if (failed(file.expectMap(item, "a parameter")))
      return failure();
    if (!file.get(item, "repeat")) {
      if (failed(readParam(item, scope, idx)))
        return failure();
      continue;
    }
    if (failed(file.checkKeys(item, {"repeat", "body"}, "a repeat block")))
      return failure();
    std::string index;
    auto repeat = readRepeat(item, scope, index);
    if (failed(repeat))
      return failure();
    for (unsigned i = 0; i < repeat->second; ++i) {
      Scope inner(&scope);
      inner.set(index, i);
      idx.emplace_back(index, i);
      LogicalResult result = readParams(*repeat->first, inner, idx);
      idx.pop_back();
      if (failed(result))
        return failure();
    }
  }
  return success();
}

LogicalResult
ModelImporter::readParam(const Node &node, Scope &scope,
                         std::vector<std::pair<std::string, int64_t>> &idx) {
  if (failed(file.checkKeys(node, {"path", "dtype", "shape", "scales"},
                            "a parameter")))
    return failure();
  const Node *pathNode = file.require(node, "path", "a parameter");
  if (!pathNode)
    return failure();
  FailureOr<std::string> raw = file.getString(*pathNode, "a parameter path");
  if (failed(raw))
    return failure();
  FailureOr<std::string> path = substitute(file, *pathNode, *raw, scope);
  if (failed(path))
    return failure();
  if (path->find('/') == std::string::npos)
    return file.error(*pathNode)
           << "expected a parameter path with at least one '/' (module/name), "
              "got '"
           << *path << "'";
  for (StringRef token : splitPath(*path))
    if (token.empty())
      return file.error(*pathNode)
             << "expected a path of non-empty '/'-separated tokens, got '"
             << *path << "'";
  auto [it, inserted] = paramIndex.try_emplace(*path, params.size());
  if (!inserted) {
    const ParamDecl &first = params[it->second];
    return file.error(*pathNode)
           << "parameter '" << *path << "' is declared twice (first at line "
           << first.node->line << ")";
  }
  ParamDecl decl;
  decl.path = *path;
  decl.node = &node;
  decl.indices = idx;
  decl.shapeNode = file.get(node, "shape");
  FailureOr<RankedTensorType> type = readTensorType(node, scope, "a parameter");
  if (failed(type))
    return failure();
  decl.type = *type;
  if (const Node *scales = file.get(node, "scales")) {
    decl.scalesNode = scales;
    if (failed(file.expectMap(*scales, "'scales'")) ||
        failed(file.checkKeys(
            *scales, {"dtype", "layout", "blocks", "group_size"}, "'scales'")))
      return failure();
    if (!type->getElementType().isInteger(8))
      return file.error(*scales)
             << "expected dtype i8 for a parameter with scales, got "
             << typeName(type->getElementType());
    const Node *dtype = file.require(*scales, "dtype", "'scales'");
    if (!dtype)
      return failure();
    FailureOr<Type> element = file.getElementType(*dtype);
    if (failed(element))
      return failure();
    if (!isa<FloatType>(*element))
      return file.error(*dtype) << "expected a float scales dtype (bf16, f16, "
                                   "f32), got "
                                << typeName(*element);
    FailureOr<ScaleLayoutAttr> layout = readLayout(*scales, *scales);
    if (failed(layout))
      return failure();
    ArrayRef<int64_t> shape = type->getShape();
    if (shape.size() < 2)
      return file.error(*decl.shapeNode)
             << "expected a quantized weight of rank >= 2 ([B..., K, N]), got "
             << formatShape(shape);
    int64_t k = shape[shape.size() - 2];
    if ((layout->getKind() == ScaleLayoutKind::RowBlocks ||
         layout->getKind() == ScaleLayoutKind::Group) &&
        k % layout->getSize() != 0)
      return file.error(*scales)
             << "expected K = " << k << " to be divisible by "
             << stringifyScaleLayoutKind(layout->getKind()) << " = "
             << layout->getSize();
    SmallVector<int64_t> scalesShape(shape.drop_back(2));
    scalesShape.push_back(layout->getNumRowBlocks(k));
    scalesShape.push_back(layout->getNumScaleColumns(shape.back()));
    decl.layout = *layout;
    decl.scalesType = tensorOf(scalesShape, *element);
  }
  params.push_back(std::move(decl));
  return success();
}

LogicalResult ModelImporter::checkParamsUnder(const Scope &entryDims,
                                              const Node &at, StringRef entry) {
  for (const ParamDecl &decl : params) {
    Scope scope(&entryDims);
    for (const auto &[name, value] : decl.indices)
      scope.set(name, value);
    // Errors were already reported with the base dimensions; an override can
    // only change values, so evaluation succeeds here.
    FailureOr<SmallVector<int64_t>> shape = readShape(*decl.shapeNode, scope);
    if (failed(shape))
      return failure();
    if (ArrayRef<int64_t>(*shape) != decl.type.getShape())
      return file.error(at)
             << "entry '" << entry << "' overrides a dimension that parameter '"
             << decl.path << "' depends on (shape "
             << formatShape(decl.type.getShape()) << " becomes "
             << formatShape(*shape)
             << "); parameters are shared by all entries";
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

LogicalResult ModelImporter::importEntry(StringRef name, const Scope &entryDims,
                                         const Node &at) {
  if (failed(checkParamsUnder(entryDims, at, name)))
    return failure();
  values.clear();
  paramValues.clear();

  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  for (const auto &[key, decl] : inputs->entries) {
    FailureOr<std::string> inputName = file.getIdentifier(key, "an input name");
    if (failed(inputName) || failed(file.expectMap(decl, "an input")) ||
        failed(file.checkKeys(decl, {"dtype", "shape"}, "an input")))
      return failure();
    FailureOr<RankedTensorType> type =
        readTensorType(decl, entryDims, "an input");
    if (failed(type))
      return failure();
    argTypes.push_back(*type);
    argNames.push_back(*inputName);
  }

  builder.setInsertionPointToEnd(module.getBody());
  auto func = func::FuncOp::create(builder, file.loc(at), name,
                                   builder.getFunctionType(argTypes, {}));
  Block *body = func.addEntryBlock();
  for (auto [i, argName] : llvm::enumerate(argNames)) {
    func.setArgAttr(i, "nova.name", builder.getStringAttr(argName));
    values[argName] = body->getArgument(i);
  }
  builder.setInsertionPointToEnd(body);

  Scope scope(&entryDims);
  if (failed(importOps(*graph, scope)))
    return failure();

  SmallVector<Value> results;
  SmallVector<std::string> resultNames;
  for (const Node &out : outputs->items) {
    FailureOr<std::string> outName = file.getIdentifier(out, "an output name");
    if (failed(outName))
      return failure();
    auto it = values.find(*outName);
    if (it == values.end())
      return file.error(out)
             << "unknown value '" << *outName << "' in 'outputs'";
    results.push_back(it->second);
    resultNames.push_back(*outName);
  }
  func::ReturnOp::create(builder, file.loc(*outputs), results);
  func.setType(
      builder.getFunctionType(argTypes, ValueRange(results).getTypes()));
  for (auto [i, resultName] : llvm::enumerate(resultNames))
    func.setResultAttr(i, "nova.name", builder.getStringAttr(resultName));
  return success();
}

LogicalResult ModelImporter::import(const Node &root) {
  if (failed(file.expectMap(root, "a model spec")) ||
      failed(file.checkKeys(root,
                            {"version", "kind", "name", "dims", "entries",
                             "inputs", "params", "graph", "outputs"},
                            "a model spec")))
    return failure();
  const Node *version = file.require(root, "version", "a model spec");
  const Node *kind = file.require(root, "kind", "a model spec");
  if (!version || !kind)
    return failure();
  FailureOr<int64_t> v = file.getInt(*version, "the spec version");
  if (failed(v))
    return failure();
  if (*v != 1)
    return file.error(*version) << "expected spec version 1, got " << *v;
  if (!kind->isScalar() || kind->scalar != "model") {
    InFlightDiagnostic diag = file.error(*kind);
    diag << "expected kind 'model', got " << kind->describe();
    if (kind->isScalar() && kind->scalar == "partition-rules")
      diag << " (partition rules are passed with --rules)";
    return failure();
  }
  if (const Node *name = file.get(root, "name")) {
    FailureOr<std::string> s = file.getString(*name, "the model name");
    if (failed(s))
      return failure();
    module->setAttr("nova.model", builder.getStringAttr(*s));
  }
  if (const Node *d = file.get(root, "dims"))
    if (failed(readDims(*d)))
      return failure();

  inputs = file.require(root, "inputs", "a model spec");
  graph = file.require(root, "graph", "a model spec");
  outputs = file.require(root, "outputs", "a model spec");
  if (!inputs || !graph || !outputs ||
      failed(file.expectMap(*inputs, "'inputs'")) ||
      failed(file.expectSequence(*graph, "'graph'")) ||
      failed(file.expectSequence(*outputs, "'outputs'")))
    return failure();
  if (const Node *p = file.get(root, "params")) {
    std::vector<std::pair<std::string, int64_t>> idx;
    if (failed(readParams(*p, dims, idx)))
      return failure();
  }
  if (outputs->items.empty())
    return file.error(*outputs) << "expected at least one output";

  const Node *entries = file.get(root, "entries");
  if (!entries) {
    if (failed(importEntry("forward", dims, root)))
      return failure();
  } else {
    if (failed(file.expectMap(*entries, "'entries'")))
      return failure();
    if (entries->entries.empty())
      return file.error(*entries) << "expected at least one entry";
    for (const auto &[key, overrides] : entries->entries) {
      FailureOr<std::string> name = file.getIdentifier(key, "an entry name");
      if (failed(name))
        return failure();
      Scope entryDims(&dims);
      if (!overrides.isNull()) {
        if (failed(file.expectMap(overrides, "dimension overrides")))
          return failure();
        for (const auto &[dimKey, dimValue] : overrides.entries) {
          if (!dims.lookup(dimKey.scalar))
            return file.error(dimKey)
                   << "entry '" << *name << "' overrides unknown dimension '"
                   << dimKey.scalar << "'";
          FailureOr<int64_t> size = evalExpr(file, dimValue, dims);
          if (failed(size))
            return failure();
          if (*size < 1)
            return file.error(dimValue)
                   << "expected dimension '" << dimKey.scalar
                   << "' to be positive, got " << *size;
          entryDims.set(dimKey.scalar, *size);
        }
      }
      if (failed(importEntry(*name, entryDims, key)))
        return failure();
    }
  }

  for (const ParamDecl &decl : params)
    if (!decl.used)
      file.warning(*decl.node)
          << "parameter '" << decl.path << "' is declared but never used";
  return success();
}

//===----------------------------------------------------------------------===//
// Operand resolution
//===----------------------------------------------------------------------===//

FailureOr<Value> ModelImporter::paramValue(ParamDecl &decl, Location loc,
                                           Value *scales) {
  decl.used = true;
  auto it = paramValues.find(decl.path);
  if (it == paramValues.end()) {
    auto op = ParamOp::create(builder, file.loc(*decl.node), decl.type,
                              decl.scalesType, decl.path, decl.layout,
                              ShardingAttr());
    it =
        paramValues.try_emplace(decl.path, op.getValue(), op.getScales()).first;
  }
  if (scales)
    *scales = it->second.second;
  return it->second.first;
}

FailureOr<Operand> ModelImporter::resolve(const Node &ref, const Scope &scope) {
  FailureOr<std::string> raw = file.getString(ref, "a value name or path");
  if (failed(raw))
    return failure();
  if (raw->find('/') == std::string::npos) {
    auto it = values.find(*raw);
    if (it == values.end())
      return file.error(ref) << "unknown value '" << *raw << "'";
    return Operand{it->second, Value(), ScaleLayoutAttr()};
  }
  FailureOr<std::string> path = substitute(file, ref, *raw, scope);
  if (failed(path))
    return failure();
  auto it = paramIndex.find(*path);
  if (it == paramIndex.end())
    return file.error(ref) << "undeclared parameter '" << *path
                           << "' (declare it under 'params')";
  ParamDecl &decl = params[it->second];
  Operand operand;
  FailureOr<Value> v = paramValue(decl, file.loc(ref), &operand.scales);
  if (failed(v))
    return failure();
  operand.value = *v;
  operand.layout = decl.layout;
  return operand;
}

FailureOr<Value> ModelImporter::optionalValue(const Node &op, StringRef key,
                                              const Scope &scope) {
  const Node *ref = file.get(op, key);
  if (!ref)
    return Value();
  FailureOr<Operand> operand = resolve(*ref, scope);
  if (failed(operand))
    return failure();
  if (!operand->isQuantized())
    return operand->value;
  // A quantized parameter used as a plain tensor is dequantized (§1.3).
  auto type = tensorOf(shapeOf(operand->value), elementOf(operand->scales));
  auto dq = DequantizeOp::create(builder, file.loc(*ref), type, operand->value,
                                 operand->scales, operand->layout);
  if (failed(finish(*ref, dq)))
    return failure();
  return dq.getResult();
}

FailureOr<Value> ModelImporter::value(const Node &op, StringRef key,
                                      const Scope &scope) {
  if (!file.require(op, key, "this op"))
    return failure();
  return optionalValue(op, key, scope);
}

FailureOr<Operand> ModelImporter::quantized(const Node &op, StringRef key,
                                            const Scope &scope) {
  const Node *ref = file.require(op, key, "this op");
  if (!ref)
    return failure();
  FailureOr<Operand> operand = resolve(*ref, scope);
  if (failed(operand))
    return failure();
  if (!operand->isQuantized())
    return file.error(*ref) << "expected a quantized parameter (i8 with "
                               "scales), got "
                            << operand->value.getType();
  return operand;
}

FailureOr<Type> ModelImporter::dtypeOr(const Node &op, Type fallback) {
  if (const Node *d = file.get(op, "dtype"))
    return file.getElementType(*d);
  return fallback;
}

FailureOr<int64_t> ModelImporter::intOr(const Node &op, StringRef key,
                                        int64_t fallback, const Scope &scope) {
  if (const Node *n = file.get(op, key))
    return evalExpr(file, *n, scope);
  return fallback;
}

FailureOr<double> ModelImporter::floatOr(const Node &op, StringRef key,
                                         double fallback) {
  if (const Node *n = file.get(op, key))
    return file.getFloat(*n, key);
  return fallback;
}

Value ModelImporter::splat(Location loc, RankedTensorType type, double v) {
  Type element = type.getElementType();
  Attribute scalar =
      isa<FloatType>(element)
          ? Attribute(builder.getFloatAttr(element, v))
          : Attribute(builder.getIntegerAttr(element, static_cast<int64_t>(v)));
  return arith::ConstantOp::create(builder, loc,
                                   DenseElementsAttr::get(type, scalar));
}

Value ModelImporter::castTo(Location loc, Value v, Type element) {
  Type from = elementOf(v);
  if (from == element)
    return v;
  auto type = tensorOf(shapeOf(v), element);
  bool fromFloat = isa<FloatType>(from), toFloat = isa<FloatType>(element);
  if (fromFloat && toFloat) {
    if (from.getIntOrFloatBitWidth() < element.getIntOrFloatBitWidth() ||
        (from.isBF16() && element.isF16()))
      return arith::ExtFOp::create(builder, loc, type, v);
    return arith::TruncFOp::create(builder, loc, type, v);
  }
  if (!fromFloat && toFloat)
    return arith::SIToFPOp::create(builder, loc, type, v);
  if (fromFloat)
    return arith::FPToSIOp::create(builder, loc, type, v);
  if (from.getIntOrFloatBitWidth() < element.getIntOrFloatBitWidth())
    return arith::ExtSIOp::create(builder, loc, type, v);
  return arith::TruncIOp::create(builder, loc, type, v);
}

/// Verifies a freshly built op so that errors point at its YAML line.
LogicalResult ModelImporter::finish(const Node &node, Operation *op) {
  (void)node;
  return verify(op, /*verifyRecursively=*/false);
}

LogicalResult ModelImporter::bind(const Node &op, Operation *created) {
  if (failed(finish(op, created)))
    return failure();
  const Node *out = file.require(op, "out", "this op");
  if (!out)
    return failure();
  SmallVector<const Node *> names;
  if (out->isSequence()) {
    for (const Node &n : out->items)
      names.push_back(&n);
  } else {
    names.push_back(out);
  }
  if (names.empty() || names.size() > created->getNumResults())
    return file.error(*out) << "expected 1 to " << created->getNumResults()
                            << " output names, got " << names.size();
  for (auto [i, n] : llvm::enumerate(names)) {
    FailureOr<std::string> name = file.getIdentifier(*n, "an output name");
    if (failed(name))
      return failure();
    values[*name] = created->getResult(i);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// Ops
//===----------------------------------------------------------------------===//

LogicalResult ModelImporter::importOps(const Node &seq, Scope &scope) {
  if (failed(file.expectSequence(seq, "a list of ops")))
    return failure();
  for (const Node &node : seq.items) {
    if (failed(file.expectMap(node, "an op")))
      return failure();
    if (!file.get(node, "repeat")) {
      if (failed(importOp(node, scope)))
        return failure();
      continue;
    }
    if (failed(file.checkKeys(node, {"repeat", "body"}, "a repeat block")))
      return failure();
    std::string index;
    auto repeat = readRepeat(node, scope, index);
    if (failed(repeat))
      return failure();
    for (unsigned i = 0; i < repeat->second; ++i) {
      Scope inner(&scope);
      inner.set(index, i);
      if (failed(importOps(*repeat->first, inner)))
        return failure();
    }
  }
  return success();
}

/// Keys each op accepts besides "op" and "out".
static const llvm::StringMap<SmallVector<StringRef>> &opKeys() {
  static const llvm::StringMap<SmallVector<StringRef>> keys = {
      {"linear", {"input", "weight", "transpose", "dtype"}},
      {"expert_linear", {"input", "experts", "weight", "dtype"}},
      {"moe_route", {"logits", "k", "renormalize"}},
      {"moe_combine", {"input", "gates", "dtype"}},
      {"rms_norm", {"input", "scale", "eps"}},
      {"gelu", {"input"}},
      {"silu", {"input"}},
      {"softmax", {"input", "axis"}},
      {"embedding", {"table", "ids", "dtype"}},
      {"rope", {"input", "positions", "base"}},
      {"kv_cache_update", {"cache", "update", "offsets"}},
      {"attention", {"query", "keys", "values", "offsets", "scale", "cap"}},
      {"sample",
       {"logits", "temperature", "top_p", "mask", "noise", "seed", "step",
        "top_k"}},
      {"add", {"inputs"}},
      {"sub", {"inputs"}},
      {"mul", {"inputs"}},
      {"div", {"inputs"}},
      {"max", {"inputs"}},
      {"cast", {"input", "dtype"}},
      {"reshape", {"input", "shape"}},
      {"take", {"input", "axis", "index"}},
      {"put", {"input", "axis", "index", "value"}},
      {"dequantize", {"weight"}},
      {"quantize", {"input", "scales", "layout", "blocks", "group_size"}},
  };
  return keys;
}

LogicalResult ModelImporter::importBinary(const Node &op, StringRef kind,
                                          const Scope &scope) {
  const Node *inputsNode = file.require(op, "inputs", "'" + kind.str() + "'");
  if (!inputsNode || failed(file.expectSequence(*inputsNode, "'inputs'")))
    return failure();
  if (inputsNode->items.size() != 2)
    return file.error(*inputsNode)
           << "expected 2 inputs, got " << inputsNode->items.size();
  Location loc = file.loc(op);
  Value operands[2];
  std::optional<double> scalars[2];
  for (int i = 0; i < 2; ++i) {
    const Node &n = inputsNode->items[i];
    double number;
    if (n.isScalar() && !n.quoted && !StringRef(n.scalar).getAsDouble(number)) {
      scalars[i] = number;
      continue;
    }
    FailureOr<Operand> operand = resolve(n, scope);
    if (failed(operand))
      return failure();
    if (operand->isQuantized())
      return file.error(n) << "expected a float or integer tensor, got a "
                              "quantized parameter (use 'dequantize')";
    operands[i] = operand->value;
  }
  if (!operands[0] && !operands[1])
    return file.error(*inputsNode) << "expected at least one tensor input, "
                                      "got two numbers";
  // A number takes the other operand's type, rounded to it: Grok-1's weak
  // typing makes bf16 · 78.3837 multiply by bf16(78.3837) = 78.5 (§0).
  for (int i = 0; i < 2; ++i)
    if (!operands[i])
      operands[i] = splat(
          loc, cast<RankedTensorType>(operands[1 - i].getType()), *scalars[i]);
  if (operands[0].getType() != operands[1].getType())
    return file.error(*inputsNode)
           << "expected inputs of the same type, got " << operands[0].getType()
           << " and " << operands[1].getType() << " (use 'cast' or 'reshape')";
  bool isFloat = isa<FloatType>(elementOf(operands[0]));
  Value a = operands[0], b = operands[1];
  Operation *created = nullptr;
  if (kind == "add")
    created = isFloat ? arith::AddFOp::create(builder, loc, a, b).getOperation()
                      : arith::AddIOp::create(builder, loc, a, b);
  else if (kind == "sub")
    created = isFloat ? arith::SubFOp::create(builder, loc, a, b).getOperation()
                      : arith::SubIOp::create(builder, loc, a, b);
  else if (kind == "mul")
    created = isFloat ? arith::MulFOp::create(builder, loc, a, b).getOperation()
                      : arith::MulIOp::create(builder, loc, a, b);
  else if (kind == "div")
    created = isFloat ? arith::DivFOp::create(builder, loc, a, b).getOperation()
                      : arith::DivSIOp::create(builder, loc, a, b);
  else
    created = isFloat
                  ? arith::MaximumFOp::create(builder, loc, a, b).getOperation()
                  : arith::MaxSIOp::create(builder, loc, a, b);
  return bind(op, created);
}

LogicalResult ModelImporter::importOp(const Node &node, Scope &scope) {
  const Node *opNode = file.require(node, "op", "an op");
  if (!opNode)
    return failure();
  FailureOr<std::string> kind = file.getString(*opNode, "an op name");
  if (failed(kind))
    return failure();
  auto keysIt = opKeys().find(*kind);
  if (keysIt == opKeys().end()) {
    InFlightDiagnostic diag = file.error(*opNode);
    diag << "unknown op '" << *kind << "'; expected one of: ";
    SmallVector<StringRef> names;
    for (const auto &entry : opKeys())
      names.push_back(entry.getKey());
    llvm::sort(names);
    llvm::interleaveComma(names, diag);
    return failure();
  }
  SmallVector<StringRef> allowed(keysIt->second);
  allowed.push_back("op");
  allowed.push_back("out");
  if (failed(file.checkKeys(node, allowed, "op '" + *kind + "'")))
    return failure();
  Location loc = file.loc(node);
  StringRef k = *kind;

  if (k == "add" || k == "sub" || k == "mul" || k == "div" || k == "max")
    return importBinary(node, k, scope);

  if (k == "linear") {
    FailureOr<Value> x = value(node, "input", scope);
    if (failed(x))
      return failure();
    const Node *weightRef = file.require(node, "weight", "'linear'");
    if (!weightRef)
      return failure();
    FailureOr<Operand> w = resolve(*weightRef, scope);
    bool transpose = false;
    if (const Node *t = file.get(node, "transpose")) {
      FailureOr<bool> b = file.getBool(*t, "'transpose'");
      if (failed(b))
        return failure();
      transpose = *b;
    }
    FailureOr<Type> dtype = dtypeOr(node, failed(x) ? Type() : elementOf(*x));
    if (failed(w) || failed(dtype))
      return failure();
    SmallVector<int64_t> shape(shapeOf(*x));
    if (!shape.empty())
      shape.pop_back();
    ArrayRef<int64_t> ws = shapeOf(w->value);
    if (w->isQuantized()) {
      if (transpose)
        return file.error(*weightRef)
               << "'transpose' is not supported for a quantized weight";
      shape.push_back(dimAt(ws, -1));
      return bind(node, QMatmulOp::create(builder, loc, tensorOf(shape, *dtype),
                                          *x, w->value, w->scales, w->layout));
    }
    shape.push_back(transpose ? dimAt(ws, 0) : dimAt(ws, -1));
    return bind(node, MatmulOp::create(builder, loc, tensorOf(shape, *dtype),
                                       *x, w->value, transpose));
  }

  if (k == "expert_linear") {
    FailureOr<Value> x = value(node, "input", scope);
    FailureOr<Value> experts = value(node, "experts", scope);
    FailureOr<Operand> w = quantized(node, "weight", scope);
    if (failed(x) || failed(experts) || failed(w))
      return failure();
    FailureOr<Type> dtype = dtypeOr(node, elementOf(*x));
    if (failed(dtype))
      return failure();
    ArrayRef<int64_t> e = shapeOf(*experts);
    auto type = tensorOf(
        {dimAt(e, 0), dimAt(e, 1), dimAt(shapeOf(w->value), -1)}, *dtype);
    return bind(node, ExpertQMatmulOp::create(builder, loc, type, *x, *experts,
                                              w->value, w->scales, w->layout));
  }

  if (k == "moe_route") {
    FailureOr<Value> logits = value(node, "logits", scope);
    const Node *kNode = file.require(node, "k", "'moe_route'");
    if (failed(logits) || !kNode)
      return failure();
    FailureOr<int64_t> topK = evalExpr(file, *kNode, scope);
    if (failed(topK))
      return failure();
    if (*topK < 1)
      return file.error(*kNode) << "expected k >= 1, got " << *topK;
    bool renormalize = false;
    if (const Node *r = file.get(node, "renormalize")) {
      FailureOr<bool> b = file.getBool(*r, "'renormalize'");
      if (failed(b))
        return failure();
      renormalize = *b;
    }
    SmallVector<int64_t> shape(shapeOf(*logits));
    if (!shape.empty())
      shape.pop_back();
    shape.push_back(*topK);
    return bind(node, MoeRouteOp::create(builder, loc,
                                         tensorOf(shape, builder.getF32Type()),
                                         tensorOf(shape, builder.getI32Type()),
                                         *logits, *topK, renormalize));
  }

  if (k == "moe_combine") {
    FailureOr<Value> x = value(node, "input", scope);
    FailureOr<Value> gates = value(node, "gates", scope);
    if (failed(x) || failed(gates))
      return failure();
    FailureOr<Type> dtype = dtypeOr(node, elementOf(*x));
    if (failed(dtype))
      return failure();
    ArrayRef<int64_t> s = shapeOf(*x);
    return bind(node,
                MoeCombineOp::create(
                    builder, loc, tensorOf({dimAt(s, 0), dimAt(s, -1)}, *dtype),
                    *x, *gates));
  }

  if (k == "rms_norm") {
    FailureOr<Value> x = value(node, "input", scope);
    FailureOr<Value> scale = value(node, "scale", scope);
    FailureOr<double> eps = floatOr(node, "eps", 1e-5);
    if (failed(x) || failed(scale) || failed(eps))
      return failure();
    return bind(node, RmsNormOp::create(builder, loc, x->getType(), *x, *scale,
                                        builder.getF32FloatAttr(*eps)));
  }

  if (k == "gelu" || k == "silu") {
    FailureOr<Value> x = value(node, "input", scope);
    if (failed(x))
      return failure();
    if (k == "gelu")
      return bind(node, GeluOp::create(builder, loc, *x));
    return bind(node, SiluOp::create(builder, loc, *x));
  }

  if (k == "softmax") {
    FailureOr<Value> x = value(node, "input", scope);
    FailureOr<int64_t> axis = intOr(node, "axis", -1, scope);
    if (failed(x) || failed(axis))
      return failure();
    int64_t rank = shapeOf(*x).size();
    if (*axis < -rank || *axis >= rank)
      return file.error(node) << "expected an axis in [" << -rank << ", "
                              << rank << "), got " << *axis;
    if (*axis < 0)
      *axis += rank;
    return bind(node, SoftmaxOp::create(builder, loc, x->getType(), *x,
                                        static_cast<uint64_t>(*axis)));
  }

  if (k == "embedding") {
    FailureOr<Value> table = value(node, "table", scope);
    FailureOr<Value> ids = value(node, "ids", scope);
    if (failed(table) || failed(ids))
      return failure();
    FailureOr<Type> dtype = dtypeOr(node, elementOf(*table));
    if (failed(dtype))
      return failure();
    SmallVector<int64_t> shape(shapeOf(*ids));
    shape.push_back(dimAt(shapeOf(*table), -1));
    return bind(node, EmbeddingOp::create(builder, loc, tensorOf(shape, *dtype),
                                          *table, *ids));
  }

  if (k == "rope") {
    FailureOr<Value> x = value(node, "input", scope);
    FailureOr<Value> positions = value(node, "positions", scope);
    FailureOr<double> base = floatOr(node, "base", 10000.0);
    if (failed(x) || failed(positions) || failed(base))
      return failure();
    return bind(node, RopeOp::create(builder, loc, x->getType(), *x, *positions,
                                     builder.getF32FloatAttr(*base)));
  }

  if (k == "kv_cache_update") {
    FailureOr<Value> c = value(node, "cache", scope);
    FailureOr<Value> u = value(node, "update", scope);
    FailureOr<Value> p = value(node, "offsets", scope);
    if (failed(c) || failed(u) || failed(p))
      return failure();
    return bind(
        node, KvCacheUpdateOp::create(builder, loc, c->getType(), *c, *u, *p));
  }

  if (k == "attention") {
    FailureOr<Value> q = value(node, "query", scope);
    FailureOr<Value> kc = value(node, "keys", scope);
    FailureOr<Value> vc = value(node, "values", scope);
    FailureOr<Value> p = value(node, "offsets", scope);
    if (failed(q) || failed(kc) || failed(vc) || failed(p))
      return failure();
    double headDim = static_cast<double>(dimAt(shapeOf(*q), -1));
    FailureOr<double> scale = floatOr(node, "scale", 1.0 / std::sqrt(headDim));
    if (failed(scale))
      return failure();
    FloatAttr cap;
    if (const Node *c = file.get(node, "cap")) {
      FailureOr<double> v = file.getFloat(*c, "'cap'");
      if (failed(v))
        return failure();
      cap = builder.getF32FloatAttr(*v);
    }
    return bind(node,
                AttentionOp::create(builder, loc, q->getType(), *q, *kc, *vc,
                                    *p, builder.getF32FloatAttr(*scale), cap));
  }

  if (k == "sample") {
    FailureOr<Value> logits = value(node, "logits", scope);
    FailureOr<Value> t = value(node, "temperature", scope);
    FailureOr<Value> p = value(node, "top_p", scope);
    FailureOr<Value> mask = optionalValue(node, "mask", scope);
    FailureOr<Value> noise = optionalValue(node, "noise", scope);
    FailureOr<Value> seed = optionalValue(node, "seed", scope);
    FailureOr<Value> step = optionalValue(node, "step", scope);
    FailureOr<int64_t> topK = intOr(node, "top_k", 8, scope);
    if (failed(logits) || failed(t) || failed(p) || failed(mask) ||
        failed(noise) || failed(seed) || failed(step) || failed(topK))
      return failure();
    if (*topK < 1)
      return file.error(node) << "expected top_k >= 1, got " << *topK;
    int64_t b = dimAt(shapeOf(*logits), 0);
    Type elt = elementOf(*logits);
    Type i32 = builder.getI32Type();
    return bind(node, SampleOp::create(
                          builder, loc, tensorOf({b}, i32), tensorOf({b}, elt),
                          tensorOf({b, *topK}, i32), tensorOf({b, *topK}, elt),
                          *logits, *t, *p, *mask, *noise, *seed, *step,
                          static_cast<uint64_t>(*topK)));
  }

  if (k == "cast") {
    FailureOr<Value> x = value(node, "input", scope);
    const Node *d = file.require(node, "dtype", "'cast'");
    if (failed(x) || !d)
      return failure();
    FailureOr<Type> dtype = file.getElementType(*d);
    if (failed(dtype))
      return failure();
    Value result = castTo(loc, *x, *dtype);
    if (result == *x) {
      // Same type: a cast is a no-op, bind the name to the input.
      const Node *out = file.require(node, "out", "'cast'");
      if (!out)
        return failure();
      FailureOr<std::string> name = file.getIdentifier(*out, "an output name");
      if (failed(name))
        return failure();
      values[*name] = result;
      return success();
    }
    return bind(node, result.getDefiningOp());
  }

  if (k == "reshape") {
    FailureOr<Value> x = value(node, "input", scope);
    const Node *shapeNode = file.require(node, "shape", "'reshape'");
    if (failed(x) || !shapeNode ||
        failed(file.expectSequence(*shapeNode, "a shape")))
      return failure();
    int64_t elements = 1;
    for (int64_t d : shapeOf(*x))
      elements *= d;
    SmallVector<int64_t> shape;
    int inferred = -1, known = 1;
    for (const Node &dim : shapeNode->items) {
      FailureOr<int64_t> size = evalExpr(file, dim, scope);
      if (failed(size))
        return failure();
      if (*size == -1 && inferred < 0) {
        inferred = shape.size();
        shape.push_back(1);
        continue;
      }
      if (*size < 1)
        return file.error(dim)
               << "expected a positive dimension (or one -1), got " << *size;
      known *= *size;
      shape.push_back(*size);
    }
    if (inferred >= 0) {
      if (known == 0 || elements % known != 0)
        return file.error(*shapeNode)
               << "cannot infer the -1 dimension: " << elements
               << " elements are not a "
               << "multiple of " << known;
      shape[inferred] = elements / known;
      known = elements;
    }
    if (known != elements)
      return file.error(*shapeNode)
             << "cannot reshape " << formatShape(shapeOf(*x)) << " ("
             << elements << " elements) to " << formatShape(shape) << " ("
             << known << " elements)";
    if (shape.empty())
      return file.error(*shapeNode) << "expected a non-empty shape";
    Value v = *x;
    if (ArrayRef<int64_t>(shape) == shapeOf(v)) {
      const Node *out = file.require(node, "out", "'reshape'");
      FailureOr<std::string> name =
          out ? file.getIdentifier(*out, "an output name")
              : FailureOr<std::string>(failure());
      if (failed(name))
        return failure();
      values[*name] = v;
      return success();
    }
    Type elt = elementOf(v);
    auto target = tensorOf(shape, elt);
    auto source = cast<RankedTensorType>(v.getType());
    // Prefer one collapse or expand that keeps untouched dimensions as they
    // are; otherwise go through a flat vector.
    if (source.getRank() > target.getRank()) {
      if (auto re = getReassociationIndicesForReshape(source, target))
        return bind(node, tensor::CollapseShapeOp::create(builder, loc, target,
                                                          v, *re));
    } else if (source.getRank() < target.getRank()) {
      if (auto re = getReassociationIndicesForReshape(source, target))
        return bind(
            node, tensor::ExpandShapeOp::create(builder, loc, target, v, *re));
    }
    Operation *last = nullptr;
    if (source.getRank() > 1) {
      SmallVector<ReassociationIndices> all(1);
      for (unsigned i = 0; i < source.getRank(); ++i)
        all[0].push_back(i);
      last = tensor::CollapseShapeOp::create(builder, loc,
                                             tensorOf({elements}, elt), v, all);
      v = last->getResult(0);
    }
    if (shape.size() > 1) {
      SmallVector<ReassociationIndices> all(1);
      for (unsigned i = 0; i < shape.size(); ++i)
        all[0].push_back(i);
      last = tensor::ExpandShapeOp::create(builder, loc, target, v, all);
    }
    return bind(node, last);
  }

  if (k == "take" || k == "put") {
    FailureOr<Value> x = value(node, "input", scope);
    const Node *axisNode = file.require(node, "axis", "'" + k.str() + "'");
    const Node *indexNode = file.require(node, "index", "'" + k.str() + "'");
    if (failed(x) || !axisNode || !indexNode)
      return failure();
    FailureOr<int64_t> axis = evalExpr(file, *axisNode, scope);
    FailureOr<int64_t> index = evalExpr(file, *indexNode, scope);
    if (failed(axis) || failed(index))
      return failure();
    ArrayRef<int64_t> shape = shapeOf(*x);
    int64_t rank = shape.size();
    if (*axis < -rank || *axis >= rank)
      return file.error(*axisNode) << "expected an axis in [" << -rank << ", "
                                   << rank << "), got " << *axis;
    if (*axis < 0)
      *axis += rank;
    int64_t size = shape[*axis];
    if (*index < -size || *index >= size)
      return file.error(*indexNode) << "expected an index in [" << -size << ", "
                                    << size << ") for axis " << *axis << " of "
                                    << formatShape(shape) << ", got " << *index;
    if (*index < 0)
      *index += size;
    SmallVector<OpFoldResult> offsets, sizes, strides;
    SmallVector<int64_t> reduced;
    for (int64_t d = 0; d < rank; ++d) {
      offsets.push_back(builder.getIndexAttr(d == *axis ? *index : 0));
      sizes.push_back(builder.getIndexAttr(d == *axis ? 1 : shape[d]));
      strides.push_back(builder.getIndexAttr(1));
      if (d != *axis)
        reduced.push_back(shape[d]);
    }
    auto sliceType = tensorOf(reduced, elementOf(*x));
    if (k == "take")
      return bind(node,
                  tensor::ExtractSliceOp::create(builder, loc, sliceType, *x,
                                                 offsets, sizes, strides));
    FailureOr<Value> v = value(node, "value", scope);
    if (failed(v))
      return failure();
    if (v->getType() != sliceType)
      return file.error(*file.get(node, "value"))
             << "expected a value of type " << sliceType << " to put at axis "
             << *axis << ", got " << v->getType();
    return bind(node, tensor::InsertSliceOp::create(builder, loc, *v, *x,
                                                    offsets, sizes, strides));
  }

  if (k == "dequantize") {
    FailureOr<Operand> w = quantized(node, "weight", scope);
    if (failed(w))
      return failure();
    auto type = tensorOf(shapeOf(w->value), elementOf(w->scales));
    return bind(node, DequantizeOp::create(builder, loc, type, w->value,
                                           w->scales, w->layout));
  }

  // quantize
  FailureOr<Value> x = value(node, "input", scope);
  FailureOr<Value> scales = value(node, "scales", scope);
  FailureOr<ScaleLayoutAttr> layout = readLayout(node, node);
  if (failed(x) || failed(scales) || failed(layout))
    return failure();
  return bind(node,
              QuantizeOp::create(builder, loc,
                                 tensorOf(shapeOf(*x), builder.getI8Type()), *x,
                                 *scales, *layout));
}

//===----------------------------------------------------------------------===//
// Entry points of the library
//===----------------------------------------------------------------------===//

FailureOr<std::string> mlir::nova::readSpecFile(StringRef filename,
                                                uint64_t maxBytes,
                                                MLIRContext *context) {
  Location loc = FileLineColLoc::get(context, filename, 0, 0);
  auto buffer = llvm::MemoryBuffer::getFileOrSTDIN(filename, /*IsText=*/true);
  if (std::error_code ec = buffer.getError())
    return emitError(loc) << "cannot read '" << filename
                          << "': " << ec.message();
  if ((*buffer)->getBufferSize() > maxBytes)
    return emitError(loc) << "spec is " << (*buffer)->getBufferSize()
                          << " bytes, over the limit of " << maxBytes
                          << " bytes (raise it with --max-spec-bytes)";
  return (*buffer)->getBuffer().str();
}

OwningOpRef<ModuleOp> mlir::nova::importModelSpec(StringRef text,
                                                  StringRef filename,
                                                  MLIRContext *context) {
  context->loadDialect<NovaDialect, func::FuncDialect, arith::ArithDialect,
                       tensor::TensorDialect>();
  SpecFile file(context, filename);
  Node root;
  if (failed(file.parse(text, root)))
    return nullptr;
  OwningOpRef<ModuleOp> module = ModuleOp::create(file.loc(1, 1));
  ModelImporter importer(file, *module);
  if (failed(importer.import(root)))
    return nullptr;
  return module;
}
