//===- ModelOps.cpp - The model spec's graph ops --------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The op registry: for every YAML op its name, the keys it accepts and the
// function that builds its IR. importOp() checks the keys once from the
// table, so each import function only reads its operands and attributes and
// builds; an op added here is documented in docs/spec.md's op table.
//
//===----------------------------------------------------------------------===//

#include "passes/Import/ModelImporter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"

#include <cmath>

using namespace mlir;
using namespace mlir::nova;
using namespace mlir::nova::spec;
using yaml::Node;

namespace {

/// Builds the IR of one YAML op.
using ImportFn = LogicalResult (*)(ModelImporter &, const OpNode &);

/// One entry of the registry.
struct OpSpec {
  StringRef name;
  /// Keys the op accepts besides "op" and "out", in the order the
  /// unknown-key error lists them.
  SmallVector<StringRef, 8> keys;
  ImportFn import;
};

} // namespace

//===----------------------------------------------------------------------===//
// Contractions and MoE
//===----------------------------------------------------------------------===//

static LogicalResult importLinear(ModelImporter &im, const OpNode &op) {
  SpecFile &file = im.getFile();
  OpBuilder &builder = im.getBuilder();
  FailureOr<Value> x = im.value(op, "input");
  if (failed(x))
    return failure();
  const Node *weightRef = im.require(op, "weight");
  if (!weightRef)
    return failure();
  FailureOr<Operand> w = im.resolve(*weightRef, op.scope);
  FailureOr<bool> transposed = im.boolOr(op, "transpose", false);
  FailureOr<Type> dtype = im.dtypeOr(op, elementOf(*x));
  if (failed(w) || failed(transposed) || failed(dtype))
    return failure();
  bool transpose = *transposed;
  SmallVector<int64_t> shape(shapeOf(*x));
  if (!shape.empty())
    shape.pop_back();
  ArrayRef<int64_t> ws = shapeOf(w->value);
  if (w->isQuantized()) {
    if (transpose)
      return file.error(*weightRef)
             << "'transpose' is not supported for a quantized weight";
    shape.push_back(dimAt(ws, -1));
    return im.bind(op,
                   QMatmulOp::create(builder, op.loc, tensorOf(shape, *dtype),
                                     *x, w->value, w->scales, w->layout));
  }
  shape.push_back(transpose ? dimAt(ws, 0) : dimAt(ws, -1));
  return im.bind(op, MatmulOp::create(builder, op.loc, tensorOf(shape, *dtype),
                                      *x, w->value, transpose));
}

static LogicalResult importExpertLinear(ModelImporter &im, const OpNode &op) {
  FailureOr<Value> x = im.value(op, "input");
  FailureOr<Value> experts = im.value(op, "experts");
  FailureOr<Operand> w = im.quantized(op, "weight");
  if (failed(x) || failed(experts) || failed(w))
    return failure();
  FailureOr<Type> dtype = im.dtypeOr(op, elementOf(*x));
  if (failed(dtype))
    return failure();
  ArrayRef<int64_t> e = shapeOf(*experts);
  auto type = tensorOf({dimAt(e, 0), dimAt(e, 1), dimAt(shapeOf(w->value), -1)},
                       *dtype);
  return im.bind(op, ExpertQMatmulOp::create(im.getBuilder(), op.loc, type, *x,
                                             *experts, w->value, w->scales,
                                             w->layout));
}

static LogicalResult importMoeRoute(ModelImporter &im, const OpNode &op) {
  SpecFile &file = im.getFile();
  OpBuilder &builder = im.getBuilder();
  FailureOr<Value> logits = im.value(op, "logits");
  FailureOr<Value> mask = im.optionalValue(op, "mask");
  FailureOr<Value> forced = im.optionalValue(op, "forced");
  const Node *kNode = im.require(op, "k");
  if (failed(logits) || failed(mask) || failed(forced) || !kNode)
    return failure();
  FailureOr<int64_t> topK = evalExpr(file, *kNode, op.scope);
  if (failed(topK))
    return failure();
  if (*topK < 1)
    return file.error(*kNode) << "expected k >= 1, got " << *topK;
  FailureOr<bool> renormalize = im.boolOr(op, "renormalize", false);
  if (failed(renormalize))
    return failure();
  SmallVector<int64_t> shape(shapeOf(*logits));
  if (!shape.empty())
    shape.pop_back();
  shape.push_back(*topK);
  return im.bind(op, MoeRouteOp::create(
                         builder, op.loc, tensorOf(shape, builder.getF32Type()),
                         tensorOf(shape, builder.getI32Type()), *logits, *mask,
                         *forced, *topK, *renormalize));
}

static LogicalResult importMoeCombine(ModelImporter &im, const OpNode &op) {
  FailureOr<Value> x = im.value(op, "input");
  FailureOr<Value> gates = im.value(op, "gates");
  if (failed(x) || failed(gates))
    return failure();
  FailureOr<Type> dtype = im.dtypeOr(op, elementOf(*x));
  if (failed(dtype))
    return failure();
  ArrayRef<int64_t> s = shapeOf(*x);
  return im.bind(
      op, MoeCombineOp::create(im.getBuilder(), op.loc,
                               tensorOf({dimAt(s, 0), dimAt(s, -1)}, *dtype),
                               *x, *gates));
}

//===----------------------------------------------------------------------===//
// Norms, activations and transformer pieces
//===----------------------------------------------------------------------===//

static LogicalResult importRmsNorm(ModelImporter &im, const OpNode &op) {
  FailureOr<Value> x = im.value(op, "input");
  FailureOr<Value> scale = im.value(op, "scale");
  FailureOr<double> eps = im.floatOr(op, "eps", 1e-5);
  if (failed(x) || failed(scale) || failed(eps))
    return failure();
  OpBuilder &builder = im.getBuilder();
  return im.bind(op, RmsNormOp::create(builder, op.loc, x->getType(), *x,
                                       *scale, builder.getF32FloatAttr(*eps)));
}

/// An elementwise activation with one operand.
template <typename OpTy>
static LogicalResult importActivation(ModelImporter &im, const OpNode &op) {
  FailureOr<Value> x = im.value(op, "input");
  if (failed(x))
    return failure();
  return im.bind(op, OpTy::create(im.getBuilder(), op.loc, *x));
}

static LogicalResult importSoftmax(ModelImporter &im, const OpNode &op) {
  FailureOr<Value> x = im.value(op, "input");
  FailureOr<int64_t> axis = im.intOr(op, "axis", -1);
  if (failed(x) || failed(axis))
    return failure();
  int64_t rank = shapeOf(*x).size();
  if (*axis < -rank || *axis >= rank)
    return im.getFile().error(op.node) << "expected an axis in [" << -rank
                                       << ", " << rank << "), got " << *axis;
  if (*axis < 0)
    *axis += rank;
  return im.bind(op, SoftmaxOp::create(im.getBuilder(), op.loc, x->getType(),
                                       *x, static_cast<uint64_t>(*axis)));
}

static LogicalResult importEmbedding(ModelImporter &im, const OpNode &op) {
  FailureOr<Value> table = im.value(op, "table");
  FailureOr<Value> ids = im.value(op, "ids");
  if (failed(table) || failed(ids))
    return failure();
  FailureOr<Type> dtype = im.dtypeOr(op, elementOf(*table));
  if (failed(dtype))
    return failure();
  SmallVector<int64_t> shape(shapeOf(*ids));
  shape.push_back(dimAt(shapeOf(*table), -1));
  return im.bind(op,
                 EmbeddingOp::create(im.getBuilder(), op.loc,
                                     tensorOf(shape, *dtype), *table, *ids));
}

static LogicalResult importRope(ModelImporter &im, const OpNode &op) {
  FailureOr<Value> x = im.value(op, "input");
  FailureOr<Value> positions = im.value(op, "positions");
  FailureOr<double> base = im.floatOr(op, "base", 10000.0);
  if (failed(x) || failed(positions) || failed(base))
    return failure();
  OpBuilder &builder = im.getBuilder();
  return im.bind(op,
                 RopeOp::create(builder, op.loc, x->getType(), *x, *positions,
                                builder.getF32FloatAttr(*base)));
}

static LogicalResult importKvCacheUpdate(ModelImporter &im, const OpNode &op) {
  FailureOr<Value> c = im.value(op, "cache");
  FailureOr<Value> u = im.value(op, "update");
  FailureOr<Value> p = im.value(op, "offsets");
  if (failed(c) || failed(u) || failed(p))
    return failure();
  return im.bind(op, KvCacheUpdateOp::create(im.getBuilder(), op.loc,
                                             c->getType(), *c, *u, *p));
}

static LogicalResult importAttention(ModelImporter &im, const OpNode &op) {
  FailureOr<Value> q = im.value(op, "query");
  FailureOr<Value> kc = im.value(op, "keys");
  FailureOr<Value> vc = im.value(op, "values");
  FailureOr<Value> p = im.value(op, "offsets");
  if (failed(q) || failed(kc) || failed(vc) || failed(p))
    return failure();
  double headDim = static_cast<double>(dimAt(shapeOf(*q), -1));
  FailureOr<double> scale = im.floatOr(op, "scale", 1.0 / std::sqrt(headDim));
  if (failed(scale))
    return failure();
  OpBuilder &builder = im.getBuilder();
  FloatAttr cap;
  if (const Node *c = SpecFile::get(op.node, "cap")) {
    FailureOr<double> v = im.getFile().getFloat(*c, "'cap'");
    if (failed(v))
      return failure();
    cap = builder.getF32FloatAttr(*v);
  }
  return im.bind(op, AttentionOp::create(builder, op.loc, q->getType(), *q, *kc,
                                         *vc, *p,
                                         builder.getF32FloatAttr(*scale), cap));
}

static LogicalResult importTopPFilter(ModelImporter &im, const OpNode &op) {
  FailureOr<Value> logits = im.value(op, "logits");
  FailureOr<Value> p = im.value(op, "top_p");
  if (failed(logits) || failed(p))
    return failure();
  return im.bind(op, TopPFilterOp::create(im.getBuilder(), op.loc,
                                          logits->getType(), *logits, *p));
}

static LogicalResult importSample(ModelImporter &im, const OpNode &op) {
  FailureOr<Value> logits = im.value(op, "logits");
  FailureOr<Value> t = im.value(op, "temperature");
  FailureOr<Value> p = im.value(op, "top_p");
  FailureOr<Value> mask = im.optionalValue(op, "mask");
  FailureOr<Value> noise = im.optionalValue(op, "noise");
  FailureOr<Value> seed = im.optionalValue(op, "seed");
  FailureOr<Value> step = im.optionalValue(op, "step");
  FailureOr<Value> rowSeeds = im.optionalValue(op, "row_seeds");
  FailureOr<int64_t> topK = im.intOr(op, "top_k", 8);
  FailureOr<bool> stages = im.boolOr(op, "stages", false);
  if (failed(logits) || failed(t) || failed(p) || failed(mask) ||
      failed(noise) || failed(seed) || failed(step) || failed(rowSeeds) ||
      failed(topK) || failed(stages))
    return failure();
  if (*topK < 1)
    return im.getFile().error(op.node) << "expected top_k >= 1, got " << *topK;
  OpBuilder &builder = im.getBuilder();
  int64_t b = dimAt(shapeOf(*logits), 0);
  Type elt = elementOf(*logits);
  Type i32 = builder.getI32Type();
  // With `stages`: the scaled, masked and filtered logits, after the four.
  SmallVector<Type> stageTypes(*stages ? 3 : 0, logits->getType());
  return im.bind(
      op,
      SampleOp::create(builder, op.loc, tensorOf({b}, i32), tensorOf({b}, elt),
                       tensorOf({b, *topK}, i32), tensorOf({b, *topK}, elt),
                       stageTypes, *logits, *t, *p, *mask, *noise, *seed, *step,
                       *rowSeeds, static_cast<uint64_t>(*topK), *stages));
}

//===----------------------------------------------------------------------===//
// Arithmetic and tensor plumbing
//===----------------------------------------------------------------------===//

/// The two operands of a binary op; a number takes the other one's type.
static FailureOr<std::pair<Value, Value>> binaryOperands(ModelImporter &im,
                                                         const OpNode &op) {
  SpecFile &file = im.getFile();
  const Node *inputsNode = im.require(op, "inputs");
  if (!inputsNode || failed(file.expectSequence(*inputsNode, "'inputs'")))
    return failure();
  if (inputsNode->items.size() != 2)
    return file.error(*inputsNode)
           << "expected 2 inputs, got " << inputsNode->items.size();
  Value operands[2];
  std::optional<double> scalars[2];
  for (int i = 0; i < 2; ++i) {
    const Node &n = inputsNode->items[i];
    double number;
    if (n.isScalar() && !n.quoted && !StringRef(n.scalar).getAsDouble(number)) {
      scalars[i] = number;
      continue;
    }
    FailureOr<Operand> operand = im.resolve(n, op.scope);
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
  for (int i = 0; i < 2; ++i) {
    if (operands[i])
      continue;
    FailureOr<Value> constant = im.splat(
        inputsNode->items[i], cast<RankedTensorType>(operands[1 - i].getType()),
        *scalars[i]);
    if (failed(constant))
      return failure();
    operands[i] = *constant;
  }
  if (operands[0].getType() != operands[1].getType())
    return file.error(*inputsNode)
           << "expected inputs of the same type, got " << operands[0].getType()
           << " and " << operands[1].getType() << " (use 'cast' or 'reshape')";
  return std::make_pair(operands[0], operands[1]);
}

/// `add`, `sub`, `mul`, `div`, `max`: FloatOp on floats, IntOp on integers.
template <typename FloatOp, typename IntOp>
static LogicalResult importBinary(ModelImporter &im, const OpNode &op) {
  FailureOr<std::pair<Value, Value>> ab = binaryOperands(im, op);
  if (failed(ab))
    return failure();
  auto [a, b] = *ab;
  OpBuilder &builder = im.getBuilder();
  Operation *created =
      isa<FloatType>(elementOf(a))
          ? FloatOp::create(builder, op.loc, a, b).getOperation()
          : IntOp::create(builder, op.loc, a, b).getOperation();
  return im.bind(op, created);
}

static LogicalResult importCast(ModelImporter &im, const OpNode &op) {
  FailureOr<Value> x = im.value(op, "input");
  const Node *d = im.require(op, "dtype");
  if (failed(x) || !d)
    return failure();
  FailureOr<Type> dtype = im.getFile().getElementType(*d);
  if (failed(dtype))
    return failure();
  Value result = im.castTo(op.loc, *x, *dtype);
  // Same type: a cast is a no-op, bind the name to the input.
  if (result == *x)
    return im.alias(op, result);
  return im.bind(op, result.getDefiningOp());
}

/// The target shape of `reshape` for a source of `elements` elements, with
/// its one optional -1 inferred.
static FailureOr<SmallVector<int64_t>> reshapeTarget(ModelImporter &im,
                                                     const OpNode &op,
                                                     const Node &shapeNode,
                                                     ArrayRef<int64_t> from) {
  SpecFile &file = im.getFile();
  int64_t elements = 1;
  for (int64_t d : from)
    elements *= d;
  SmallVector<int64_t> shape;
  int inferred = -1;
  int64_t known = 1;
  for (const Node &dim : shapeNode.items) {
    FailureOr<int64_t> size = evalExpr(file, dim, op.scope);
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
    if (__builtin_mul_overflow(known, *size, &known))
      return file.error(dim) << "the shape's element count overflows int64";
    shape.push_back(*size);
  }
  if (inferred >= 0) {
    if (known == 0 || elements % known != 0)
      return file.error(shapeNode)
             << "cannot infer the -1 dimension: " << elements
             << " elements are not a "
             << "multiple of " << known;
    shape[inferred] = elements / known;
    known = elements;
  }
  if (known != elements)
    return file.error(shapeNode)
           << "cannot reshape " << formatShape(from) << " (" << elements
           << " elements) to " << formatShape(shape) << " (" << known
           << " elements)";
  if (shape.empty())
    return file.error(shapeNode) << "expected a non-empty shape";
  return shape;
}

static LogicalResult importReshape(ModelImporter &im, const OpNode &op) {
  FailureOr<Value> x = im.value(op, "input");
  const Node *shapeNode = im.require(op, "shape");
  if (failed(x) || !shapeNode ||
      failed(im.getFile().expectSequence(*shapeNode, "a shape")))
    return failure();
  FailureOr<SmallVector<int64_t>> shape =
      reshapeTarget(im, op, *shapeNode, shapeOf(*x));
  if (failed(shape))
    return failure();
  Value v = *x;
  if (ArrayRef<int64_t>(*shape) == shapeOf(v))
    return im.alias(op, v);
  OpBuilder &builder = im.getBuilder();
  Type elt = elementOf(v);
  auto target = tensorOf(*shape, elt);
  auto source = cast<RankedTensorType>(v.getType());
  // Prefer one collapse or expand that keeps untouched dimensions as they
  // are; otherwise go through a flat vector.
  if (source.getRank() > target.getRank()) {
    if (auto re = getReassociationIndicesForReshape(source, target))
      return im.bind(
          op, tensor::CollapseShapeOp::create(builder, op.loc, target, v, *re));
  } else if (source.getRank() < target.getRank()) {
    if (auto re = getReassociationIndicesForReshape(source, target))
      return im.bind(
          op, tensor::ExpandShapeOp::create(builder, op.loc, target, v, *re));
  }
  auto all = [](int64_t rank) {
    SmallVector<ReassociationIndices> indices(1);
    for (int64_t i = 0; i < rank; ++i)
      indices[0].push_back(i);
    return indices;
  };
  Operation *last = nullptr;
  if (source.getRank() > 1) {
    last = tensor::CollapseShapeOp::create(
        builder, op.loc, tensorOf({source.getNumElements()}, elt), v,
        all(source.getRank()));
    v = last->getResult(0);
  }
  if (shape->size() > 1)
    last = tensor::ExpandShapeOp::create(builder, op.loc, target, v,
                                         all(shape->size()));
  return im.bind(op, last);
}

namespace {
/// The input of `take` / `put` and the slice of it they read or write: one
/// index along one axis.
struct AxisSlice {
  Value input;
  int64_t axis;
  SmallVector<OpFoldResult> offsets, sizes, strides;
  RankedTensorType type;
};
} // namespace

static FailureOr<AxisSlice> readAxisSlice(ModelImporter &im, const OpNode &op) {
  SpecFile &file = im.getFile();
  OpBuilder &builder = im.getBuilder();
  FailureOr<Value> x = im.value(op, "input");
  const Node *axisNode = im.require(op, "axis");
  const Node *indexNode = im.require(op, "index");
  if (failed(x) || !axisNode || !indexNode)
    return failure();
  FailureOr<int64_t> axis = evalExpr(file, *axisNode, op.scope);
  FailureOr<int64_t> index = evalExpr(file, *indexNode, op.scope);
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
    return file.error(*indexNode)
           << "expected an index in [" << -size << ", " << size << ") for axis "
           << *axis << " of " << formatShape(shape) << ", got " << *index;
  if (*index < 0)
    *index += size;
  AxisSlice slice;
  slice.input = *x;
  slice.axis = *axis;
  SmallVector<int64_t> reduced;
  for (int64_t d = 0; d < rank; ++d) {
    slice.offsets.push_back(builder.getIndexAttr(d == *axis ? *index : 0));
    slice.sizes.push_back(builder.getIndexAttr(d == *axis ? 1 : shape[d]));
    slice.strides.push_back(builder.getIndexAttr(1));
    if (d != *axis)
      reduced.push_back(shape[d]);
  }
  slice.type = tensorOf(reduced, elementOf(*x));
  return slice;
}

static LogicalResult importTake(ModelImporter &im, const OpNode &op) {
  FailureOr<AxisSlice> s = readAxisSlice(im, op);
  if (failed(s))
    return failure();
  return im.bind(op, tensor::ExtractSliceOp::create(
                         im.getBuilder(), op.loc, s->type, s->input, s->offsets,
                         s->sizes, s->strides));
}

static LogicalResult importPut(ModelImporter &im, const OpNode &op) {
  FailureOr<AxisSlice> s = readAxisSlice(im, op);
  if (failed(s))
    return failure();
  FailureOr<Value> v = im.value(op, "value");
  if (failed(v))
    return failure();
  if (v->getType() != s->type)
    return im.getFile().error(*SpecFile::get(op.node, "value"))
           << "expected a value of type " << s->type << " to put at axis "
           << s->axis << ", got " << v->getType();
  return im.bind(op, tensor::InsertSliceOp::create(im.getBuilder(), op.loc, *v,
                                                   s->input, s->offsets,
                                                   s->sizes, s->strides));
}

//===----------------------------------------------------------------------===//
// Quantization and sharding
//===----------------------------------------------------------------------===//

static LogicalResult importDequantize(ModelImporter &im, const OpNode &op) {
  FailureOr<Operand> w = im.quantized(op, "weight");
  if (failed(w))
    return failure();
  auto type = tensorOf(shapeOf(w->value), elementOf(w->scales));
  return im.bind(op, DequantizeOp::create(im.getBuilder(), op.loc, type,
                                          w->value, w->scales, w->layout));
}

static LogicalResult importQuantize(ModelImporter &im, const OpNode &op) {
  FailureOr<Value> x = im.value(op, "input");
  FailureOr<Value> scales = im.value(op, "scales");
  FailureOr<ScaleLayoutAttr> layout = im.readLayout(op.node);
  if (failed(x) || failed(scales) || failed(layout))
    return failure();
  OpBuilder &builder = im.getBuilder();
  return im.bind(op,
                 QuantizeOp::create(builder, op.loc,
                                    tensorOf(shapeOf(*x), builder.getI8Type()),
                                    *x, *scales, *layout));
}

/// `shard`: nova.shard of an activation on a mesh of the partition rules.
/// The importer checks what needs no mesh (the spec's syntax and rank); the
/// mesh, its axes and divisibility are checked by nova.shard's verifier
/// when the module is verified, at this op's location.
static LogicalResult importShard(ModelImporter &im, const OpNode &op) {
  SpecFile &file = im.getFile();
  // Parameters are sharded by the partition rules, not in the graph.
  const Node *input = SpecFile::get(op.node, "input");
  if (input && input->isScalar() && StringRef(input->scalar).contains('/'))
    return file.error(*input)
           << "expected an activation (a value name), got parameter '"
           << echo(input->scalar) << "' (partition rules shard parameters)";
  FailureOr<Value> x = im.value(op, "input");
  const Node *specNode = im.require(op, "spec");
  if (failed(x) || !specNode ||
      failed(file.expectSequence(*specNode, "'spec'")))
    return failure();
  std::string mesh = kDefaultMeshName.str();
  if (const Node *m = SpecFile::get(op.node, "mesh")) {
    FailureOr<std::string> name = file.getIdentifier(*m, "a mesh name");
    if (failed(name))
      return failure();
    mesh = *name;
  }
  FailureOr<ArrayAttr> dims =
      readPartitionSpec(file, *specNode, [&](const Node &node, StringRef) {
        return file.getIdentifier(node, "a mesh axis");
      });
  if (failed(dims))
    return failure();
  ArrayRef<int64_t> shape = shapeOf(*x);
  if (dims->size() > shape.size())
    return file.error(*specNode)
           << "expected a partition spec of at most " << shape.size()
           << " dimensions for shape " << formatShape(shape) << ", got "
           << dims->size();
  MLIRContext *context = file.getContext();
  auto spec =
      ShardingAttr::get(context, FlatSymbolRefAttr::get(context, mesh), *dims);
  return im.bind(
      op, ShardOp::create(im.getBuilder(), op.loc, x->getType(), *x, spec));
}

//===----------------------------------------------------------------------===//
// The registry
//===----------------------------------------------------------------------===//

/// Every YAML op, sorted by name (the unknown-op error lists them so).
static ArrayRef<OpSpec> opSpecs() {
  static const OpSpec specs[] = {
      {"add", {"inputs"}, importBinary<arith::AddFOp, arith::AddIOp>},
      {"attention",
       {"query", "keys", "values", "offsets", "scale", "cap"},
       importAttention},
      {"cast", {"input", "dtype"}, importCast},
      {"dequantize", {"weight"}, importDequantize},
      {"div", {"inputs"}, importBinary<arith::DivFOp, arith::DivSIOp>},
      {"embedding", {"table", "ids", "dtype"}, importEmbedding},
      {"expert_linear",
       {"input", "experts", "weight", "dtype"},
       importExpertLinear},
      {"gelu", {"input"}, importActivation<GeluOp>},
      {"kv_cache_update", {"cache", "update", "offsets"}, importKvCacheUpdate},
      {"linear", {"input", "weight", "transpose", "dtype"}, importLinear},
      {"max", {"inputs"}, importBinary<arith::MaximumFOp, arith::MaxSIOp>},
      {"moe_combine", {"input", "gates", "dtype"}, importMoeCombine},
      {"moe_route",
       {"logits", "k", "renormalize", "mask", "forced"},
       importMoeRoute},
      {"mul", {"inputs"}, importBinary<arith::MulFOp, arith::MulIOp>},
      {"put", {"input", "axis", "index", "value"}, importPut},
      {"quantize",
       {"input", "scales", "layout", "blocks", "group_size"},
       importQuantize},
      {"reshape", {"input", "shape"}, importReshape},
      {"rms_norm", {"input", "scale", "eps"}, importRmsNorm},
      {"rope", {"input", "positions", "base"}, importRope},
      {"sample",
       {"logits", "temperature", "top_p", "mask", "noise", "seed", "step",
        "row_seeds", "top_k", "stages"},
       importSample},
      {"shard", {"input", "spec", "mesh"}, importShard},
      {"silu", {"input"}, importActivation<SiluOp>},
      {"softmax", {"input", "axis"}, importSoftmax},
      {"sub", {"inputs"}, importBinary<arith::SubFOp, arith::SubIOp>},
      {"take", {"input", "axis", "index"}, importTake},
      {"top_p_filter", {"logits", "top_p"}, importTopPFilter},
  };
  return specs;
}

LogicalResult ModelImporter::importOp(const Node &node, const Scope &scope) {
  const Node *opNode = file.require(node, "op", "an op");
  if (!opNode)
    return failure();
  FailureOr<std::string> kind = file.getString(*opNode, "an op name");
  if (failed(kind))
    return failure();
  ArrayRef<OpSpec> specs = opSpecs();
  assert(
      llvm::is_sorted(specs, [](const OpSpec &a,
                                const OpSpec &b) { return a.name < b.name; }) &&
      "the unknown-op error lists the registry in order");
  const OpSpec *spec =
      llvm::find_if(specs, [&](const OpSpec &s) { return s.name == *kind; });
  if (spec == specs.end()) {
    InFlightDiagnostic diag = file.error(*opNode);
    diag << "unknown op '" << echo(*kind) << "'; expected one of: ";
    llvm::interleaveComma(specs, diag,
                          [&](const OpSpec &s) { diag << s.name; });
    return failure();
  }
  SmallVector<StringRef, 10> allowed(spec->keys.begin(), spec->keys.end());
  allowed.push_back("op");
  allowed.push_back("out");
  if (failed(file.checkKeys(node, allowed, "op '" + *kind + "'")))
    return failure();
  return spec->import(*this, OpNode{node, spec->name, scope, file.loc(node)});
}
