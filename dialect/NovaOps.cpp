//===- NovaOps.cpp - Nova operation verifiers and directives --------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Every verifier message has the form "expected X, got Y" so a user can tell
// what to change without reading the op's definition.
//
//===----------------------------------------------------------------------===//

#include "dialect/NovaOps.h"
#include "dialect/NovaSharding.h"
#include "dialect/TokenRegex.h"

#include "nova/runtime/SampleMath.h"
#include "nova/runtime/Text.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/SmallSet.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::nova;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

SmallVector<StringRef> mlir::nova::splitPath(StringRef path) {
  SmallVector<StringRef> tokens;
  path.split(tokens, '/', /*MaxSplit=*/-1, /*KeepEmpty=*/true);
  return tokens;
}

static ArrayRef<int64_t> shapeOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getShape();
}
static Type elementOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getElementType();
}
static int64_t rankOf(Value v) {
  return cast<RankedTensorType>(v.getType()).getRank();
}

/// "expected <what> of shape [..], got [..]".
static LogicalResult expectShape(Operation *op, const Twine &what,
                                 ArrayRef<int64_t> expected,
                                 ArrayRef<int64_t> got) {
  if (expected == got)
    return success();
  return op->emitOpError() << "expected " << what << " of shape "
                           << formatShape(expected) << ", got "
                           << formatShape(got);
}

/// "expected <what> of rank N (<layout>), got rank M".
static LogicalResult expectRank(Operation *op, const Twine &what, Value v,
                                int64_t rank, StringRef layout) {
  if (rankOf(v) == rank)
    return success();
  return op->emitOpError() << "expected " << what << " of rank " << rank << " ("
                           << layout << "), got rank " << rankOf(v);
}

static LogicalResult expectElementType(Operation *op, const Twine &what,
                                       Type expected, Type got) {
  if (expected == got)
    return success();
  return op->emitOpError() << "expected " << what << " element type "
                           << expected << ", got " << got;
}

static LogicalResult verifyLayout(Operation *op, ScaleLayoutAttr layout,
                                  ArrayRef<int64_t> weightShape,
                                  ArrayRef<int64_t> scalesShape) {
  std::string error;
  if (!layout.verifyShapes(weightShape, scalesShape, error))
    return op->emitOpError() << error;
  return success();
}

/// Result shape of contracting `[..., K]` with a `[K, N]` weight.
static SmallVector<int64_t> contractedShape(ArrayRef<int64_t> lhs, int64_t n) {
  SmallVector<int64_t> shape(lhs.drop_back());
  shape.push_back(n);
  return shape;
}

//===----------------------------------------------------------------------===//
// Sharding checks shared by nova.param, nova.shard and nova.partition_rule
//===----------------------------------------------------------------------===//

static FailureOr<MeshOp> lookupMesh(Operation *op, ShardingAttr spec,
                                    SymbolTableCollection &symbolTable) {
  auto mesh =
      symbolTable.lookupNearestSymbolFrom<MeshOp>(op, spec.getMesh().getAttr());
  if (!mesh)
    return op->emitOpError() << "expected '" << spec.getMesh()
                             << "' to name a nova.mesh, got no such symbol";
  return mesh;
}

/// "expected a mesh axis of @mesh ('data', 'model'), got '<axis>'".
static LogicalResult emitUnknownAxis(Operation *op, MeshOp mesh,
                                     StringRef axis) {
  std::string names;
  llvm::raw_string_ostream os(names);
  llvm::interleaveComma(mesh.getAxisNames(), os, [&](Attribute a) {
    os << "'" << cast<StringAttr>(a).getValue() << "'";
  });
  return op->emitOpError() << "expected a mesh axis of @" << mesh.getSymName()
                           << " (" << names << "), got '" << axis << "'";
}

static LogicalResult checkAxesExist(Operation *op, ShardingAttr spec,
                                    MeshOp mesh) {
  for (unsigned d = 0, e = spec.getDims().size(); d < e; ++d)
    for (StringRef axis : spec.getAxes(d))
      if (!mesh.getAxisSize(axis))
        return emitUnknownAxis(op, mesh, axis);
  return success();
}

LogicalResult
mlir::nova::verifyShardingFor(Operation *op, ShardingAttr spec,
                              ArrayRef<ArrayRef<int64_t>> shapes,
                              SymbolTableCollection &symbolTable) {
  using Kind = ::nova::rt::ShardingMismatch::Kind;
  FailureOr<MeshOp> mesh = lookupMesh(op, spec, symbolTable);
  if (failed(mesh) || failed(checkAxesExist(op, spec, *mesh)))
    return failure();
  std::vector<::nova::rt::MeshAxis> axes = toRuntimeMesh(*mesh);
  ::nova::rt::PartitionSpec partition = toRuntimeSpec(spec);
  for (ArrayRef<int64_t> shape : shapes) {
    std::optional<::nova::rt::ShardingMismatch> m =
        ::nova::rt::checkSharding(shape.vec(), partition, axes);
    if (!m)
      continue;
    unsigned d = m->dim;
    switch (m->kind) {
    case Kind::TooManyEntries:
      return op->emitOpError()
             << "expected a partition spec of at most " << shape.size()
             << " dimensions for shape " << formatShape(shape) << ", got "
             << partition.size();
    case Kind::UnknownAxis: // (checkAxesExist reports these first)
      return emitUnknownAxis(op, *mesh, m->axis);
    case Kind::RepeatedAxis:
      return op->emitOpError() << "expected each mesh axis at most once, got '"
                               << m->axis << "' twice";
    case Kind::ShardCountOverflow:
      return op->emitOpError() << "expected the mesh axes "
                               << spec.getDimString(d) << " of dimension " << d
                               << " to hold at most 2^63 - 1 devices, got more";
    case Kind::NotDivisible:
      return op->emitOpError()
             << "expected dimension " << d << " of shape " << formatShape(shape)
             << " to be divisible by " << m->shards << " (mesh axes "
             << spec.getDimString(d) << "), got size " << m->size;
    }
  }
  return success();
}

//===----------------------------------------------------------------------===//
// MeshOp
//===----------------------------------------------------------------------===//

static ParseResult parseMeshAxes(OpAsmParser &parser, ArrayAttr &names,
                                 DenseI64ArrayAttr &shape) {
  SmallVector<Attribute> nameAttrs;
  SmallVector<int64_t> sizes;
  auto parseAxis = [&]() -> ParseResult {
    std::string name;
    int64_t size;
    if (parser.parseString(&name) || parser.parseEqual() ||
        parser.parseInteger(size))
      return failure();
    nameAttrs.push_back(parser.getBuilder().getStringAttr(name));
    sizes.push_back(size);
    return success();
  };
  if (parser.parseCommaSeparatedList(OpAsmParser::Delimiter::Square, parseAxis))
    return failure();
  names = parser.getBuilder().getArrayAttr(nameAttrs);
  shape = DenseI64ArrayAttr::get(parser.getContext(), sizes);
  return success();
}

static void printMeshAxes(OpAsmPrinter &p, Operation *, ArrayAttr names,
                          DenseI64ArrayAttr shape) {
  p << "[";
  llvm::interleaveComma(llvm::zip(names, shape.asArrayRef()), p, [&](auto it) {
    p.printString(cast<StringAttr>(std::get<0>(it)).getValue());
    p << " = " << std::get<1>(it);
  });
  p << "]";
}

LogicalResult MeshOp::verify() {
  if (getAxisNames().size() != getShape().size())
    return emitOpError() << "expected one size per axis name, got "
                         << getAxisNames().size() << " names and "
                         << getShape().size() << " sizes";
  if (getAxisNames().empty())
    return emitOpError() << "expected at least one axis, got none";
  llvm::SmallSet<StringRef, 4> seen;
  for (auto [nameAttr, size] : llvm::zip(getAxisNames(), getShape())) {
    StringRef name = cast<StringAttr>(nameAttr).getValue();
    if (name.empty())
      return emitOpError() << "expected non-empty axis names, got \"\"";
    if (!seen.insert(name).second)
      return emitOpError() << "expected unique axis names, got '" << name
                           << "' twice";
    if (size < 1)
      return emitOpError() << "expected axis '" << name
                           << "' to have a positive size, got " << size;
  }
  return success();
}

std::optional<int64_t> MeshOp::getAxisSize(StringRef name) {
  for (auto [nameAttr, size] : llvm::zip(getAxisNames(), getShape()))
    if (cast<StringAttr>(nameAttr).getValue() == name)
      return size;
  return std::nullopt;
}

int64_t MeshOp::getNumDevices() {
  int64_t n = 1;
  for (int64_t size : getShape())
    n *= size;
  return n;
}

//===----------------------------------------------------------------------===//
// PartitionRulesOp / PartitionRuleOp
//===----------------------------------------------------------------------===//

void PartitionRulesOp::build(OpBuilder &builder, OperationState &state) {
  Region *body = state.addRegion();
  body->push_back(new Block);
}

LogicalResult PartitionRulesOp::verify() {
  for (Operation &op : getBody().front())
    if (!isa<PartitionRuleOp>(op))
      return op.emitOpError()
             << "expected only 'nova.partition_rule' ops inside "
                "'nova.partition_rules', got '"
             << op.getName() << "'";
  return success();
}

LogicalResult PartitionRuleOp::verify() {
  // An empty pattern is allowed: as in Grok-1's _match it never matches.
  for (auto [i, attr] : llvm::enumerate(getPattern())) {
    StringRef regex = cast<StringAttr>(attr).getValue();
    std::string error;
    if (!TokenRegex::compile(regex, error))
      return emitOpError() << "expected a valid regex for token " << i
                           << ", got '" << ::nova::rt::printable(regex)
                           << "': " << error;
  }
  return success();
}

LogicalResult
PartitionRuleOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  FailureOr<MeshOp> mesh = lookupMesh(*this, getSpec(), symbolTable);
  if (failed(mesh))
    return failure();
  return checkAxesExist(*this, getSpec(), *mesh);
}

//===----------------------------------------------------------------------===//
// ParamOp / ShardOp
//===----------------------------------------------------------------------===//

LogicalResult ParamOp::verify() {
  StringRef path = getPath();
  // Empty tokens ("a//b") are allowed: Grok-1 keeps them as "" (§2.1).
  if (path.empty())
    return emitOpError() << "expected a non-empty parameter path, got \"\"";
  if (getScaleLayout().has_value() != isQuantized())
    return emitOpError() << (isQuantized()
                                 ? "expected a 'scales' layout for a "
                                   "parameter with a scales result, got none"
                                 : "expected a scales result for a parameter "
                                   "with a 'scales' layout, got none");
  if (getLocal() && !getSharding())
    return emitOpError() << "expected a 'sharding' on a local parameter "
                            "shard, got none";
  if (!isQuantized())
    return success();
  Type i8 = IntegerType::get(getContext(), 8);
  if (failed(expectElementType(*this, "quantized weight", i8,
                               elementOf(getValue()))))
    return failure();
  // A local shard's scales are checked against the whole parameter's, which
  // needs the mesh (verifySymbolUses).
  if (getLocal())
    return success();
  return verifyLayout(*this, *getScaleLayout(), shapeOf(getValue()),
                      shapeOf(getScales()));
}

/// For a `local` parameter: the whole shapes its types are the shard of,
/// checked as a whole parameter is, and the shards of those shapes equal to
/// its types.
static LogicalResult verifyLocalShard(ParamOp op,
                                      SymbolTableCollection &symbolTable) {
  ShardingAttr spec = *op.getSharding();
  FailureOr<MeshOp> mesh = lookupMesh(op, spec, symbolTable);
  if (failed(mesh) || failed(checkAxesExist(op, spec, *mesh)))
    return failure();
  std::vector<::nova::rt::MeshAxis> axes = toRuntimeMesh(*mesh);
  ::nova::rt::PartitionSpec partition = toRuntimeSpec(spec);
  ArrayRef<int64_t> local = shapeOf(op.getValue());
  SmallVector<int64_t> whole;
  for (size_t d = 0; d < local.size(); ++d) {
    std::optional<int64_t> n = ::nova::rt::shardCount(partition, axes, d);
    if (!n || (*n > 1 && local[d] > INT64_MAX / *n))
      return op.emitOpError() << "expected the whole extent of dimension " << d
                              << " to fit int64_t";
    whole.push_back(local[d] * *n);
  }
  SmallVector<ArrayRef<int64_t>> shapes = {whole};
  SmallVector<int64_t> wholeScales;
  if (op.isQuantized()) {
    ScaleLayoutAttr layout = *op.getScaleLayout();
    size_t rank = whole.size();
    if (rank < 2)
      return op.emitOpError() << "expected a quantized weight of rank >= 2";
    wholeScales.assign(whole.begin(), whole.end() - 2);
    wholeScales.push_back(layout.getNumRowBlocks(whole[rank - 2]));
    wholeScales.push_back(layout.getNumScaleColumns(whole[rank - 1]));
    if (failed(verifyLayout(op, layout, whole, wholeScales)))
      return failure();
    shapes.push_back(wholeScales);
  }
  if (failed(verifyShardingFor(op, spec, shapes, symbolTable)))
    return failure();
  SmallVector<Value> values = {op.getValue()};
  if (op.isQuantized())
    values.push_back(op.getScales());
  for (auto [value, shape] : llvm::zip(values, shapes)) {
    std::vector<int64_t> shard =
        ::nova::rt::localShape(shape.vec(), partition, axes);
    if (failed(expectShape(
            op, value == op.getValue() ? "local shard" : "local scales", shard,
            shapeOf(value))))
      return failure();
  }
  return success();
}

LogicalResult ParamOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  if (!getSharding())
    return success();
  if (getLocal())
    return verifyLocalShard(*this, symbolTable);
  SmallVector<ArrayRef<int64_t>> shapes = {shapeOf(getValue())};
  if (isQuantized())
    shapes.push_back(shapeOf(getScales()));
  return verifyShardingFor(*this, *getSharding(), shapes, symbolTable);
}

LogicalResult ShardOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  return verifyShardingFor(*this, getSpec(), {shapeOf(getInput())},
                           symbolTable);
}

//===----------------------------------------------------------------------===//
// Quantization
//===----------------------------------------------------------------------===//

LogicalResult QuantizeOp::verify() {
  if (failed(expectShape(*this, "result", shapeOf(getInput()),
                         shapeOf(getResult()))))
    return failure();
  return verifyLayout(*this, getLayout(), shapeOf(getInput()),
                      shapeOf(getScales()));
}

LogicalResult DequantizeOp::verify() {
  if (failed(expectShape(*this, "result", shapeOf(getInput()),
                         shapeOf(getResult()))) ||
      failed(expectElementType(*this, "result (the scales' type)",
                               elementOf(getScales()), elementOf(getResult()))))
    return failure();
  return verifyLayout(*this, getLayout(), shapeOf(getInput()),
                      shapeOf(getScales()));
}

//===----------------------------------------------------------------------===//
// Matmuls
//===----------------------------------------------------------------------===//

/// Checks `lhs : [..., K]` against a `[K, N]` (or transposed `[N, K]`) rhs
/// shape and the result shape `[..., N]`.
static LogicalResult verifyContraction(Operation *op, Value lhs,
                                       ArrayRef<int64_t> rhsShape,
                                       bool transposed, Value result) {
  if (rankOf(lhs) < 1)
    return op->emitOpError() << "expected an lhs of rank >= 1 ([..., K]), "
                                "got rank 0";
  if (rhsShape.size() != 2)
    return op->emitOpError() << "expected a weight of rank 2 ("
                             << (transposed ? "[N, K]" : "[K, N]")
                             << "), got rank " << rhsShape.size();
  int64_t k = shapeOf(lhs).back();
  int64_t rhsK = transposed ? rhsShape[1] : rhsShape[0];
  int64_t n = transposed ? rhsShape[0] : rhsShape[1];
  if (k != rhsK)
    return op->emitOpError() << "expected the weight's K dimension to equal "
                                "the lhs's last dimension "
                             << k << ", got " << rhsK;
  return expectShape(op, "result", contractedShape(shapeOf(lhs), n),
                     shapeOf(result));
}

LogicalResult MatmulOp::verify() {
  return verifyContraction(*this, getLhs(), shapeOf(getRhs()),
                           getTransposeRhs(), getResult());
}

LogicalResult QMatmulOp::verify() {
  if (failed(verifyContraction(*this, getInput(), shapeOf(getWeight()),
                               /*transposed=*/false, getResult())))
    return failure();
  return verifyLayout(*this, getLayout(), shapeOf(getWeight()),
                      shapeOf(getScales()));
}

//===----------------------------------------------------------------------===//
// Mixture of experts
//===----------------------------------------------------------------------===//

LogicalResult MoeRouteOp::verify() {
  if (rankOf(getLogits()) < 1)
    return emitOpError() << "expected router logits of rank >= 1 ([..., E]), "
                            "got rank 0";
  int64_t experts = shapeOf(getLogits()).back();
  if (static_cast<int64_t>(getK()) > experts)
    return emitOpError() << "expected k <= " << experts
                         << " (the number of experts), got " << getK();
  SmallVector<int64_t> expected = contractedShape(shapeOf(getLogits()), getK());
  if (failed(expectShape(*this, "gates", expected, shapeOf(getGates()))) ||
      failed(expectShape(*this, "indices", expected, shapeOf(getIndices()))))
    return failure();
  // One mask entry per token; forced routes have the indices' shape.
  if (getMask() &&
      failed(expectShape(*this, "mask (one entry per token)",
                         shapeOf(getLogits()).drop_back(), shapeOf(getMask()))))
    return failure();
  if (getForced() && failed(expectShape(*this, "forced routes", expected,
                                        shapeOf(getForced()))))
    return failure();
  return success();
}

LogicalResult ExpertQMatmulOp::verify() {
  if (failed(expectRank(*this, "experts", getExperts(), 2, "[M, k]")) ||
      failed(expectRank(*this, "weight", getWeight(), 3, "[E, K, N]")))
    return failure();
  ArrayRef<int64_t> experts = shapeOf(getExperts());
  ArrayRef<int64_t> weight = shapeOf(getWeight());
  int64_t m = experts[0], k = experts[1], kk = weight[1], n = weight[2];
  ArrayRef<int64_t> input = shapeOf(getInput());
  if (input.size() == 2) {
    if (failed(expectShape(*this, "input ([M, K])", {m, kk}, input)))
      return failure();
  } else if (input.size() == 3) {
    if (failed(expectShape(*this, "input ([M, k, K])", {m, k, kk}, input)))
      return failure();
  } else {
    return emitOpError() << "expected an input of rank 2 ([M, K]) or 3 "
                            "([M, k, K]), got rank "
                         << input.size();
  }
  if (failed(verifyLayout(*this, getLayout(), weight, shapeOf(getScales()))))
    return failure();
  return expectShape(*this, "result", {m, k, n}, shapeOf(getResult()));
}

LogicalResult MoeCombineOp::verify() {
  if (failed(expectRank(*this, "expert outputs", getInput(), 3, "[M, k, D]")))
    return failure();
  ArrayRef<int64_t> in = shapeOf(getInput());
  if (failed(expectShape(*this, "gates", {in[0], in[1]}, shapeOf(getGates()))))
    return failure();
  return expectShape(*this, "result", {in[0], in[2]}, shapeOf(getResult()));
}

//===----------------------------------------------------------------------===//
// Normalization, softmax, embedding
//===----------------------------------------------------------------------===//

/// The result of a shape- and type-preserving op must equal its input's type.
static LogicalResult expectSameType(Operation *op, Value input, Value result) {
  if (input.getType() == result.getType())
    return success();
  return op->emitOpError() << "expected result type " << input.getType()
                           << " (the input's), got " << result.getType();
}

LogicalResult RmsNormOp::verify() {
  if (rankOf(getInput()) < 1)
    return emitOpError() << "expected an input of rank >= 1 ([..., D]), got "
                            "rank 0";
  if (failed(expectShape(*this, "scale", {shapeOf(getInput()).back()},
                         shapeOf(getScale()))))
    return failure();
  return expectSameType(*this, getInput(), getResult());
}

LogicalResult SoftmaxOp::verify() {
  if (static_cast<int64_t>(getAxis()) >= rankOf(getInput()))
    return emitOpError() << "expected an axis < " << rankOf(getInput())
                         << " (the input's rank), got " << getAxis();
  return success();
}

LogicalResult EmbeddingOp::verify() {
  if (failed(expectRank(*this, "table", getTable(), 2, "[V, D]")))
    return failure();
  SmallVector<int64_t> expected(shapeOf(getIds()));
  expected.push_back(shapeOf(getTable())[1]);
  return expectShape(*this, "result", expected, shapeOf(getResult()));
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

LogicalResult RopeOp::verify() {
  if (failed(expectRank(*this, "input", getInput(), 4, "[B, T, H, Dh]")))
    return failure();
  ArrayRef<int64_t> in = shapeOf(getInput());
  if (in[3] % 2 != 0)
    return emitOpError() << "expected an even head dimension, got " << in[3];
  if (failed(expectShape(*this, "positions ([B, T])", {in[0], in[1]},
                         shapeOf(getPositions()))))
    return failure();
  return expectSameType(*this, getInput(), getResult());
}

LogicalResult KvCacheUpdateOp::verify() {
  if (failed(expectRank(*this, "cache", getCache(), 4, "[B, S, H, Dh]")) ||
      failed(expectRank(*this, "update", getUpdate(), 4, "[B, T, H, Dh]")))
    return failure();
  ArrayRef<int64_t> cache = shapeOf(getCache());
  ArrayRef<int64_t> update = shapeOf(getUpdate());
  if (failed(expectShape(*this, "update",
                         {cache[0], update[1], cache[2], cache[3]}, update)) ||
      failed(expectElementType(*this, "update (the cache's)",
                               elementOf(getCache()), elementOf(getUpdate()))))
    return failure();
  if (update[1] > cache[1])
    return emitOpError() << "expected at most " << cache[1]
                         << " new entries (the cache length), got "
                         << update[1];
  if (failed(expectShape(*this, "positions ([B])", {cache[0]},
                         shapeOf(getPositions()))))
    return failure();
  return expectSameType(*this, getCache(), getResult());
}

LogicalResult AttentionOp::verify() {
  if (failed(expectRank(*this, "query", getQuery(), 4, "[B, T, Hq, Dh]")) ||
      failed(expectRank(*this, "keys", getKeys(), 4, "[B, S, Hkv, Dh]")))
    return failure();
  if (getKeys().getType() != getValues().getType())
    return emitOpError() << "expected values of type " << getKeys().getType()
                         << " (the keys'), got " << getValues().getType();
  ArrayRef<int64_t> q = shapeOf(getQuery());
  ArrayRef<int64_t> k = shapeOf(getKeys());
  if (k[0] != q[0])
    return emitOpError() << "expected keys with batch size " << q[0]
                         << " (the query's), got " << k[0];
  if (k[3] != q[3])
    return emitOpError() << "expected keys with head dimension " << q[3]
                         << " (the query's), got " << k[3];
  if (q[2] % k[2] != 0)
    return emitOpError() << "expected the " << q[2]
                         << " query heads to be a multiple of the KV heads, "
                            "got "
                         << k[2] << " KV heads";
  if (failed(expectShape(*this, "positions ([B])", {q[0]},
                         shapeOf(getPositions()))))
    return failure();
  return expectSameType(*this, getQuery(), getResult());
}

//===----------------------------------------------------------------------===//
// Sampling
//===----------------------------------------------------------------------===//

/// Sampling's masses sum exactly in 64 bits up to rt::kMaxSampleVocab
/// logits per row (nova/runtime/SampleMath.h).
static LogicalResult expectSampleVocab(Operation *op, Value logits) {
  int64_t v = shapeOf(logits)[1];
  if (v > ::nova::rt::kMaxSampleVocab)
    return op->emitOpError()
           << "expected at most " << ::nova::rt::kMaxSampleVocab
           << " logits per row (V), got " << v;
  return success();
}

LogicalResult SampleOp::verify() {
  if (failed(expectRank(*this, "logits", getLogits(), 2, "[B, V]")) ||
      failed(expectSampleVocab(*this, getLogits())))
    return failure();
  ArrayRef<int64_t> logits = shapeOf(getLogits());
  int64_t b = logits[0], v = logits[1];
  Type t = elementOf(getLogits());
  if (failed(
          expectShape(*this, "temperature", {b}, shapeOf(getTemperature()))) ||
      failed(expectShape(*this, "top_p", {b}, shapeOf(getTopP()))))
    return failure();
  if (getMask() &&
      failed(expectShape(*this, "mask", {b, v}, shapeOf(getMask()))))
    return failure();
  if (getNoise() &&
      (failed(expectShape(*this, "noise", {b, v}, shapeOf(getNoise()))) ||
       failed(expectElementType(*this, "noise (the logits')", t,
                                elementOf(getNoise())))))
    return failure();
  if (getSeed() &&
      failed(expectShape(*this, "seed (a scalar)", {}, shapeOf(getSeed()))))
    return failure();
  if (getStep() &&
      failed(expectShape(*this, "step (a scalar)", {}, shapeOf(getStep()))))
    return failure();
  bool seeded = getSeed() && getStep();
  if (static_cast<bool>(getSeed()) != static_cast<bool>(getStep()))
    return emitOpError() << "expected 'seed' and 'step' together, got only '"
                         << (getSeed() ? "seed" : "step") << "'";
  if (static_cast<bool>(getNoise()) == seeded)
    return emitOpError() << "expected either 'noise' or 'seed' and 'step', got "
                         << (seeded ? "both" : "neither");
  if (getRowSeeds()) {
    // Row keys enter the Philox counter: without generated noise they
    // would be silently ignored.
    if (!seeded)
      return emitOpError() << "expected 'row_seeds' with 'seed' and 'step', "
                              "got 'noise'";
    if (failed(expectShape(*this, "row_seeds", {b}, shapeOf(getRowSeeds()))))
      return failure();
  }
  int64_t topK = getTopK();
  if (topK > v)
    return emitOpError() << "expected top_k <= " << v
                         << " (the vocabulary size), got " << topK;
  if (failed(expectShape(*this, "token", {b}, shapeOf(getToken()))) ||
      failed(expectShape(*this, "prob", {b}, shapeOf(getProb()))) ||
      failed(expectElementType(*this, "prob (the logits')", t,
                               elementOf(getProb()))) ||
      failed(expectShape(*this, "top_ids", {b, topK}, shapeOf(getTopIds()))) ||
      failed(
          expectShape(*this, "top_probs", {b, topK}, shapeOf(getTopProbs()))) ||
      failed(expectElementType(*this, "top_probs (the logits')", t,
                               elementOf(getTopProbs()))))
    return failure();
  size_t stageCount = getStageLogits().size();
  if (!getStages() && stageCount != 0)
    return emitOpError() << "expected no stage results without 'stages', got "
                         << stageCount;
  if (getStages() && stageCount != 3)
    return emitOpError() << "expected 3 stage results (scaled, masked and "
                            "filtered logits) with 'stages', got "
                         << stageCount;
  static const char *const stageNames[] = {"scaled", "masked", "filtered"};
  for (auto [i, stage] : llvm::enumerate(getStageLogits()))
    if (stage.getType() != getLogits().getType())
      return emitOpError() << "expected the " << stageNames[i]
                           << " logits of type " << getLogits().getType()
                           << " (the logits'), got " << stage.getType();
  return success();
}

LogicalResult TopPFilterOp::verify() {
  if (failed(expectRank(*this, "logits", getLogits(), 2, "[B, V]")) ||
      failed(expectSampleVocab(*this, getLogits())) ||
      failed(expectShape(*this, "top_p", {shapeOf(getLogits())[0]},
                         shapeOf(getTopP()))))
    return failure();
  return expectSameType(*this, getLogits(), getResult());
}

#define GET_OP_CLASSES
#include "dialect/NovaOps.cpp.inc"
