//===- ModelImport.cpp - YAML model spec to Nova IR -----------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Translates a model spec (docs/spec.md) into a module with one func.func per
// entry point. Every op carries the YAML file:line:col of the node it came
// from, and is verified as soon as it is built, so a shape or type mistake is
// reported at the line that caused it. Repeat blocks are unrolled with the
// index substituted into parameter paths ("decoder_layer_{i}"). The graph's
// ops are imported by the registry in ModelOps.cpp.
//
//===----------------------------------------------------------------------===//

#include "passes/Import/ModelImporter.h"
#include "passes/Import/SpecImport.h"

#include "nova/runtime/InputFile.h"
#include "nova/runtime/Shape.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cmath>

using namespace mlir;
using namespace mlir::nova;
using namespace mlir::nova::spec;
using yaml::Node;

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
  RankedTensorType type = tensorOf(*dims, *element);
  if (failed(checkTensorType(*shape, type)))
    return failure();
  return type;
}

LogicalResult ModelImporter::checkTensorType(const Node &at,
                                             RankedTensorType type) {
  Type element = type.getElementType();
  unsigned bits = element.isIntOrFloat() ? element.getIntOrFloatBitWidth() : 64;
  std::vector<int64_t> shape(type.getShape().begin(), type.getShape().end());
  if (::nova::rt::checkedByteSize(shape, (bits + 7) / 8))
    return success();
  return file.error(at) << "tensor " << formatShape(type.getShape()) << " of "
                        << typeName(element)
                        << " has more bytes than fit in int64";
}

FailureOr<ScaleLayoutAttr> ModelImporter::readLayout(const Node &map) {
  const Node *layout = file.require(map, "layout", "the scales");
  if (!layout)
    return failure();
  FailureOr<std::string> name = file.getString(*layout, "a scale layout");
  if (failed(name))
    return failure();
  std::optional<ScaleLayoutKind> kind = symbolizeScaleLayoutKind(*name);
  if (!kind)
    return file.error(*layout) << "expected a scale layout (per_tensor, "
                                  "per_column, row_blocks, group, "
                                  "row_block_scalars), got '"
                               << echo(*name) << "'";
  StringRef sizeKey = *kind == ScaleLayoutKind::RowBlocks ||
                              *kind == ScaleLayoutKind::RowBlockScalars
                          ? "blocks"
                      : *kind == ScaleLayoutKind::Group ? "group_size"
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

LogicalResult ModelImporter::readParam(const Node &node, const Scope &scope,
                                       RepeatIndices indices) {
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
           << echo(*path) << "'";
  auto [it, inserted] = paramIndex.try_emplace(*path, params.size());
  if (!inserted) {
    const ParamDecl &first = params[it->second];
    return file.error(*pathNode)
           << "parameter '" << echo(*path)
           << "' is declared twice (first at line " << first.node->line << ")";
  }
  ParamDecl decl;
  decl.path = *path;
  decl.node = &node;
  decl.indices.assign(indices.begin(), indices.end());
  decl.shapeNode = file.get(node, "shape");
  FailureOr<RankedTensorType> type = readTensorType(node, scope, "a parameter");
  if (failed(type))
    return failure();
  decl.type = *type;
  if (const Node *scales = file.get(node, "scales")) {
    FailureOr<RankedTensorType> scalesType =
        readScales(*scales, *type, *decl.shapeNode, decl.layout);
    if (failed(scalesType))
      return failure();
    decl.scalesType = *scalesType;
  }
  params.push_back(std::move(decl));
  return success();
}

FailureOr<RankedTensorType>
ModelImporter::readScales(const Node &scales, RankedTensorType type,
                          const Node &shapeNode, ScaleLayoutAttr &layoutOut) {
  if (failed(file.expectMap(scales, "'scales'")) ||
      failed(file.checkKeys(scales, {"dtype", "layout", "blocks", "group_size"},
                            "'scales'")))
    return failure();
  if (!type.getElementType().isInteger(8))
    return file.error(scales)
           << "expected dtype i8 for a parameter with scales, got "
           << typeName(type.getElementType());
  const Node *dtype = file.require(scales, "dtype", "'scales'");
  if (!dtype)
    return failure();
  FailureOr<Type> element = file.getElementType(*dtype);
  if (failed(element))
    return failure();
  if (!isa<FloatType>(*element))
    return file.error(*dtype) << "expected a float scales dtype (bf16, f16, "
                                 "f32), got "
                              << typeName(*element);
  FailureOr<ScaleLayoutAttr> layout = readLayout(scales);
  if (failed(layout))
    return failure();
  ArrayRef<int64_t> shape = type.getShape();
  if (shape.size() < 2)
    return file.error(shapeNode)
           << "expected a quantized weight of rank >= 2 ([B..., K, N]), got "
           << formatShape(shape);
  int64_t k = shape[shape.size() - 2];
  if (layout->getKind() != ScaleLayoutKind::PerTensor &&
      layout->getKind() != ScaleLayoutKind::PerColumn &&
      k % layout->getSize() != 0)
    return file.error(scales) << "expected K = " << k << " to be divisible by "
                              << stringifyScaleLayoutKind(layout->getKind())
                              << " = " << layout->getSize();
  SmallVector<int64_t> scalesShape(shape.drop_back(2));
  scalesShape.push_back(layout->getNumRowBlocks(k));
  scalesShape.push_back(layout->getNumScaleColumns(shape.back()));
  layoutOut = *layout;
  return tensorOf(scalesShape, *element);
}

LogicalResult ModelImporter::checkParamsUnder(const Scope &entryDims,
                                              const Node &at, StringRef entry) {
  if (failed(file.charge(at, params.size(), "the parameters of an entry")))
    return failure();
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
             << echo(decl.path) << "' depends on (shape "
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
  if (failed(file.charge(*inputs, inputs->entries.size(), "the inputs")) ||
      failed(file.charge(*outputs, outputs->items.size(), "the outputs")))
    return failure();
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
  // All at once: setArgAttr() rebuilds (and the context keeps) the array of
  // every argument's attributes on each call, quadratic in the inputs.
  func.setAllArgAttrs(names(argNames));
  for (auto [i, argName] : llvm::enumerate(argNames))
    values[argName] = body->getArgument(i);
  builder.setInsertionPointToEnd(body);

  Scope scope(&entryDims);
  if (failed(forEachItem(file, *graph, scope, "a list of ops", "an op",
                         [&](const Node &op, const Scope &opScope,
                             RepeatIndices) { return importOp(op, opScope); })))
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
             << "unknown value '" << echo(*outName) << "' in 'outputs'";
    results.push_back(it->second);
    resultNames.push_back(*outName);
  }
  func::ReturnOp::create(builder, file.loc(*outputs), results);
  func.setType(
      builder.getFunctionType(argTypes, ValueRange(results).getTypes()));
  func.setAllResultAttrs(names(resultNames));
  return success();
}

SmallVector<DictionaryAttr> ModelImporter::names(ArrayRef<std::string> names) {
  SmallVector<DictionaryAttr> attrs;
  attrs.reserve(names.size());
  for (const std::string &name : names)
    attrs.push_back(builder.getDictionaryAttr(
        builder.getNamedAttr("nova.name", builder.getStringAttr(name))));
  return attrs;
}

LogicalResult ModelImporter::importEntries(const Node &root) {
  const Node *entries = file.get(root, "entries");
  if (!entries)
    return importEntry("forward", dims, root);
  if (failed(file.expectMap(*entries, "'entries'")))
    return failure();
  if (entries->entries.empty())
    return file.error(*entries) << "expected at least one entry";
  for (const auto &[key, overrides] : entries->entries) {
    FailureOr<std::string> name = file.getIdentifier(key, "an entry name");
    if (failed(name) || failed(file.charge(key, 1, "an entry")))
      return failure();
    Scope entryDims(&dims);
    if (!overrides.isNull()) {
      if (failed(file.expectMap(overrides, "dimension overrides")))
        return failure();
      for (const auto &[dimKey, dimValue] : overrides.entries) {
        if (!dims.lookup(dimKey.scalar))
          return file.error(dimKey)
                 << "entry '" << *name << "' overrides unknown dimension '"
                 << echo(dimKey.scalar) << "'";
        FailureOr<int64_t> size = evalExpr(file, dimValue, dims);
        if (failed(size))
          return failure();
        if (*size < 1)
          return file.error(dimValue) << "expected dimension '" << dimKey.scalar
                                      << "' to be positive, got " << *size;
        entryDims.set(dimKey.scalar, *size);
      }
    }
    if (failed(importEntry(*name, entryDims, key)))
      return failure();
  }
  return success();
}

LogicalResult ModelImporter::import(const Node &root) {
  static const StringRef keys[] = {"version", "kind",    "name",
                                   "dims",    "entries", "inputs",
                                   "params",  "graph",   "outputs"};
  if (failed(readSpecHeader(file, root,
                            {"model",
                             "a model spec",
                             "a model spec",
                             keys,
                             {},
                             "partition-rules",
                             " (partition rules are passed with --rules)"})))
    return failure();
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
  if (const Node *p = file.get(root, "params"))
    if (failed(forEachItem(
            file, *p, dims, "'params'", "a parameter",
            [&](const Node &param, const Scope &scope, RepeatIndices indices) {
              return readParam(param, scope, indices);
            })))
      return failure();
  if (outputs->items.empty())
    return file.error(*outputs) << "expected at least one output";
  if (failed(importEntries(root)))
    return failure();

  for (const ParamDecl &decl : params)
    if (!decl.used)
      file.warning(*decl.node)
          << "parameter '" << echo(decl.path) << "' is declared but never used";
  return success();
}

//===----------------------------------------------------------------------===//
// Operand resolution
//===----------------------------------------------------------------------===//

Value ModelImporter::paramValue(ParamDecl &decl, Value *scales) {
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
      return file.error(ref) << "unknown value '" << echo(*raw) << "'";
    return Operand{it->second, Value(), ScaleLayoutAttr()};
  }
  FailureOr<std::string> path = substitute(file, ref, *raw, scope);
  if (failed(path))
    return failure();
  auto it = paramIndex.find(*path);
  if (it == paramIndex.end())
    return file.error(ref) << "undeclared parameter '" << echo(*path)
                           << "' (declare it under 'params')";
  ParamDecl &decl = params[it->second];
  Operand operand;
  operand.value = paramValue(decl, &operand.scales);
  operand.layout = decl.layout;
  return operand;
}

const Node *ModelImporter::require(const OpNode &op, StringRef key) {
  return file.require(op.node, key, "'" + op.name.str() + "'");
}

FailureOr<Value> ModelImporter::optionalValue(const OpNode &op, StringRef key) {
  const Node *ref = file.get(op.node, key);
  if (!ref)
    return Value();
  FailureOr<Operand> operand = resolve(*ref, op.scope);
  if (failed(operand))
    return failure();
  if (!operand->isQuantized())
    return operand->value;
  // A quantized parameter used as a plain tensor is dequantized (§1.3).
  auto type = tensorOf(shapeOf(operand->value), elementOf(operand->scales));
  auto dq = DequantizeOp::create(builder, file.loc(*ref), type, operand->value,
                                 operand->scales, operand->layout);
  if (failed(verify(dq, /*verifyRecursively=*/false)))
    return failure();
  return dq.getResult();
}

FailureOr<Value> ModelImporter::value(const OpNode &op, StringRef key) {
  if (!file.require(op.node, key, "this op"))
    return failure();
  return optionalValue(op, key);
}

FailureOr<Operand> ModelImporter::quantized(const OpNode &op, StringRef key) {
  const Node *ref = file.require(op.node, key, "this op");
  if (!ref)
    return failure();
  FailureOr<Operand> operand = resolve(*ref, op.scope);
  if (failed(operand))
    return failure();
  if (!operand->isQuantized())
    return file.error(*ref) << "expected a quantized parameter (i8 with "
                               "scales), got "
                            << operand->value.getType();
  return operand;
}

FailureOr<Type> ModelImporter::dtypeOr(const OpNode &op, Type fallback) {
  if (const Node *d = file.get(op.node, "dtype"))
    return file.getElementType(*d);
  return fallback;
}

FailureOr<int64_t> ModelImporter::intOr(const OpNode &op, StringRef key,
                                        int64_t fallback) {
  if (const Node *n = file.get(op.node, key))
    return evalExpr(file, *n, op.scope);
  return fallback;
}

FailureOr<double> ModelImporter::floatOr(const OpNode &op, StringRef key,
                                         double fallback) {
  if (const Node *n = file.get(op.node, key))
    return file.getFloat(*n, key);
  return fallback;
}

FailureOr<bool> ModelImporter::boolOr(const OpNode &op, StringRef key,
                                      bool fallback) {
  if (const Node *n = file.get(op.node, key))
    return file.getBool(*n, ("'" + key + "'").str());
  return fallback;
}

FailureOr<Value> ModelImporter::splat(const Node &at, RankedTensorType type,
                                      double v) {
  if (type.getNumElements() > kMaxConstantElements)
    return file.error(at) << "a constant of " << formatShape(type.getShape())
                          << " (" << type.getNumElements()
                          << " elements) is over the limit of "
                          << kMaxConstantElements << " elements";
  Location loc = file.loc(at);
  Type element = type.getElementType();
  Attribute scalar;
  if (isa<FloatType>(element)) {
    scalar = builder.getFloatAttr(element, v);
  } else {
    // Truncated towards zero; out of the type's range (or NaN) it has no
    // value, and converting it would be undefined.
    double limit = std::ldexp(1.0, element.getIntOrFloatBitWidth() - 1);
    double t = std::trunc(v);
    if (!(t >= -limit && t < limit))
      return file.error(at) << "the number '" << echo(at.scalar)
                            << "' does not fit in " << typeName(element);
    scalar = builder.getIntegerAttr(element, static_cast<int64_t>(t));
  }
  return arith::ConstantOp::create(builder, loc,
                                   DenseElementsAttr::get(type, scalar))
      .getResult();
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

LogicalResult ModelImporter::bind(const OpNode &op, Operation *created) {
  // Verified as soon as built, so that errors point at the op's YAML line.
  if (failed(verify(created, /*verifyRecursively=*/false)))
    return failure();
  for (Type type : created->getResultTypes())
    if (auto tensor = dyn_cast<RankedTensorType>(type))
      if (failed(checkTensorType(op.node, tensor)))
        return failure();
  const Node *out = file.require(op.node, "out", "this op");
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

LogicalResult ModelImporter::alias(const OpNode &op, Value v) {
  const Node *out = require(op, "out");
  if (!out)
    return failure();
  FailureOr<std::string> name = file.getIdentifier(*out, "an output name");
  if (failed(name))
    return failure();
  values[*name] = v;
  return success();
}

//===----------------------------------------------------------------------===//
// Entry points of the library
//===----------------------------------------------------------------------===//

FailureOr<std::string> mlir::nova::readSpecFile(StringRef filename,
                                                uint64_t maxBytes,
                                                MLIRContext *context) {
  Location loc = FileLineColLoc::get(context, filename, 0, 0);
  std::string text, error;
  uint64_t size = 0;
  if (!::nova::rt::readRegularFile(filename.str(), maxBytes, text, error,
                                   &size)) {
    if (size > maxBytes)
      return emitError(loc)
             << "spec is " << size << " bytes, over the limit of " << maxBytes
             << " bytes (raise it with --max-spec-bytes)";
    return emitError(loc) << error;
  }
  return text;
}

OwningOpRef<ModuleOp> mlir::nova::importModelSpec(StringRef text,
                                                  StringRef filename,
                                                  MLIRContext *context,
                                                  const SpecLimits &limits) {
  context->loadDialect<NovaDialect, func::FuncDialect, arith::ArithDialect,
                       tensor::TensorDialect>();
  SpecFile file(context, filename, limits);
  Node root;
  if (failed(file.parse(text, root)))
    return nullptr;
  OwningOpRef<ModuleOp> module = ModuleOp::create(file.loc(1, 1));
  ModelImporter importer(file, *module);
  if (failed(importer.import(root)))
    return nullptr;
  return module;
}
