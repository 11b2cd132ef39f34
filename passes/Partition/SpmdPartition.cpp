//===- SpmdPartition.cpp - Per-rank programs from parameter shardings -----===//
//
// SPDX-License-Identifier: Apache-2.0
//
// nova-spmd-partition: from the shardings partition rules put on nova.param
// (authoritative) and the nova.shard constraints in the graph, one program
// per device that computes on local shards and communicates through
// nova.all_reduce / nova.all_gather. Every other value's layout is
// propagated forward, op by op; where an op cannot consume its operands'
// layouts the operands are brought to the layout it needs (a local slice is
// free; a gather or a reduction is a collective), so the program is correct
// for any rules, and the ops below know the layouts that need no
// communication (docs/distributed.md lists them).
//
//===----------------------------------------------------------------------===//

#include "passes/Partition/Passes.h"

#include "dialect/NovaDialect.h"
#include "dialect/NovaOps.h"
#include "dialect/NovaSharding.h"
#include "passes/Contract/Manifest.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/TypeSwitch.h"

#include <map>

namespace mlir::nova {
#define GEN_PASS_DEF_SPMDPARTITIONPASS
#include "passes/Partition/Passes.h.inc"
} // namespace mlir::nova

using namespace mlir;
using namespace mlir::nova;

namespace {

/// The mesh axes (of extent > 1) a dimension or a reduction spans, in the
/// spec's order (major first).
struct Group {
  SmallVector<std::string> axes;
  int64_t size = 1;
  bool operator==(const Group &o) const { return axes == o.axes; }
  bool operator!=(const Group &o) const { return !(*this == o); }
  std::string key() const { return llvm::join(axes, ","); }
};

/// How a value is laid out over the mesh.
enum class Kind {
  /// Every device holds the whole value.
  Replicated,
  /// Dimension `dim` is split into `group.size` blocks; a device holds the
  /// block of its shard index over the group.
  Sharded,
  /// Every device holds a value of the full shape; their sum (in f32) is
  /// the value, rounded to `finalElem`.
  Partial,
  /// Expert parallelism: a [M, k, ...] value whose slot (m, j) is valid on
  /// the device that holds expert `experts[m, j]` (experts split in blocks
  /// of `expertsPerShard` over the group); other slots hold anything, or
  /// exactly zero when `zeroElsewhere`.
  Slots,
};

struct Layout {
  Kind kind = Kind::Replicated;
  int64_t dim = -1;
  Group group;
  Type finalElem;
  Value experts; // Slots: the (unpartitioned) routing tensor
  int64_t expertsPerShard = 0;
  bool zeroElsewhere = false;
  // Partial, Slots: what made the value so, and where (the collective that
  // completes it reports them).
  std::string origin;
  std::optional<Location> originLoc;

  bool isReplicated() const { return kind == Kind::Replicated; }
  bool isSharded(int64_t d) const { return kind == Kind::Sharded && dim == d; }
  bool sameAs(const Layout &o) const {
    return kind == o.kind && dim == o.dim && group == o.group &&
           experts == o.experts;
  }
};

struct Dist {
  Value local;
  Layout layout;
};

/// `t` with dimension `dim` divided by `n`.
RankedTensorType localType(RankedTensorType t, int64_t dim, int64_t n) {
  SmallVector<int64_t> shape(t.getShape());
  shape[dim] /= n;
  return RankedTensorType::get(shape, t.getElementType());
}

RankedTensorType withElement(RankedTensorType t, Type e) {
  return RankedTensorType::get(t.getShape(), e);
}

ScaleLayoutAttr localScaleLayout(ScaleLayoutAttr layout, bool kSplit,
                                 int64_t n);

/// One function's partitioning.
class FuncPartitioner {
public:
  /// `argLayouts`: the layouts of sharded arguments (state inputs kept
  /// split across calls); `stateArgOf`: result index -> argument index of
  /// each state value (the caller feeds the result back as that argument).
  FuncPartitioner(func::FuncOp func, MeshOp mesh, int64_t maxBytes,
                  std::map<unsigned, Layout> argLayouts,
                  std::map<unsigned, unsigned> stateArgOf)
      : func(func), mesh(mesh), maxCollectiveBytes(maxBytes),
        b(func.getContext()), argLayouts(std::move(argLayouts)),
        stateArgOf(std::move(stateArgOf)) {}

  LogicalResult run();

  /// The layout each returned value had before it was made whole (or kept
  /// as its state argument's): what the next iteration's state inputs try.
  const std::vector<Layout> &returnedLayouts() const { return returned; }
  ShardingAttr toSpec(const Layout &layout, int64_t rank);

private:
  // Layout of a partition spec over this mesh for a tensor of `shape`;
  // failure (with an error on `op`) when more than one dimension is split.
  FailureOr<Layout> layoutOf(Operation *op, ShardingAttr spec,
                             ArrayRef<int64_t> shape);
  Group groupOf(ArrayRef<StringRef> axes);

  // The prologue values: group communicators and shard indices.
  Value groupComm(const Group &g);
  Value shardIndex(const Group &g);

  // Conversions of an original value to the layout a consumer needs.
  Value replicated(Value v, Operation *user, StringRef why);
  Value sharded(Value v, int64_t dim, const Group &g, Operation *user,
                StringRef why);
  Value sliceLocal(Value full, int64_t dim, const Group &g, Location loc);
  Value localIds(Value experts, const Layout &slots, Location loc);
  Value maskSlots(Value local, const Layout &slots, Location loc);
  Value castTo(Value v, Type elem, Location loc);
  Value allReduce(Value local, const Group &g, Operation *user, StringRef why,
                  Location loc);
  LogicalResult checkBudget(Operation *collective);

  // Op handlers. Each sets the Dist of every result of `op`.
  LogicalResult partition(Operation *op);
  LogicalResult param(ParamOp op);
  LogicalResult fallback(Operation *op);
  LogicalResult elementwise(Operation *op);
  LogicalResult expandShape(tensor::ExpandShapeOp op);
  LogicalResult collapseShape(tensor::CollapseShapeOp op);
  LogicalResult extractSlice(tensor::ExtractSliceOp op);
  LogicalResult insertSlice(tensor::InsertSliceOp op);
  LogicalResult contraction(Operation *op, Value x, Value w, Value scales,
                            bool transposed);
  LogicalResult expertMatmul(ExpertQMatmulOp op);
  LogicalResult moeCombine(MoeCombineOp op);
  LogicalResult embedding(EmbeddingOp op);
  LogicalResult perRow(Operation *op, Value x, int64_t minDim);
  LogicalResult kvCacheUpdate(KvCacheUpdateOp op);
  LogicalResult attention(AttentionOp op);
  LogicalResult shardConstraint(ShardOp op);
  LogicalResult ret(func::ReturnOp op);

  /// Clones `op` with the mapped operands `operands` and result types
  /// `types`.
  Operation *cloneWith(Operation *op, ValueRange operands, TypeRange types);
  void set(Value v, Value local, Layout layout = {}) {
    dists[v.getAsOpaquePointer()] = Dist{local, std::move(layout)};
  }
  const Dist &get(Value v) {
    return dists.find(v.getAsOpaquePointer())->second;
  }
  Value local(Value v) { return get(v).local; }

  func::FuncOp func;
  MeshOp mesh;
  int64_t maxCollectiveBytes;
  OpBuilder b;
  Block *newBody = nullptr;
  Value world;
  Operation *prologueEnd = nullptr;
  // Node-based: references stay valid while handlers add entries.
  std::unordered_map<void *, Dist> dists;
  bool failedBudget = false;
  std::map<std::string, Value> comms, indices;
  // (original value, target layout) -> converted local value.
  std::map<std::pair<void *, std::string>, Value> conversions;
  // Rule index of each parameter value (for the collectives' causes).
  DenseMap<Value, int64_t> ruleOf;
  std::map<unsigned, Layout> argLayouts;
  std::map<unsigned, unsigned> stateArgOf;
  std::vector<Layout> returned;
  SmallVector<Type> resultTypes;
  SmallVector<std::optional<Layout>> resultLayouts;
};

ShardingAttr FuncPartitioner::toSpec(const Layout &layout, int64_t rank) {
  SmallVector<Attribute> dims;
  for (int64_t d = 0; d < rank; ++d) {
    if (d != layout.dim) {
      dims.push_back(b.getArrayAttr({}));
      continue;
    }
    SmallVector<StringRef> axes(layout.group.axes.begin(),
                                layout.group.axes.end());
    dims.push_back(axes.size() == 1 ? Attribute(b.getStringAttr(axes[0]))
                                    : Attribute(b.getStrArrayAttr(axes)));
  }
  return ShardingAttr::get(b.getContext(),
                           FlatSymbolRefAttr::get(mesh.getSymNameAttr()),
                           b.getArrayAttr(dims));
}

Group FuncPartitioner::groupOf(ArrayRef<StringRef> axes) {
  Group g;
  for (StringRef axis : axes) {
    int64_t size = mesh.getAxisSize(axis).value_or(1);
    if (size > 1) {
      g.axes.push_back(axis.str());
      g.size *= size;
    }
  }
  return g;
}

FailureOr<Layout> FuncPartitioner::layoutOf(Operation *op, ShardingAttr spec,
                                            ArrayRef<int64_t> shape) {
  Layout layout;
  for (unsigned d = 0; d < shape.size(); ++d) {
    Group g = groupOf(spec.getAxes(d));
    if (g.size == 1 || shape[d] == 1)
      continue;
    if (layout.kind == Kind::Sharded)
      return op->emitOpError()
             << "splits dimensions " << layout.dim << " and " << d
             << " over the mesh (" << spec.toPartitionSpecString()
             << "); nova-spmd-partition supports one split dimension per "
                "value";
    layout.kind = Kind::Sharded;
    layout.dim = d;
    layout.group = g;
  }
  return layout;
}

Value FuncPartitioner::groupComm(const Group &g) {
  auto [it, inserted] = comms.try_emplace(g.key());
  if (!inserted)
    return it->second;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointAfter(prologueEnd);
  SmallVector<StringRef> axes(g.axes.begin(), g.axes.end());
  auto op = GroupCommOp::create(b, func.getLoc(), b.getI32Type(), world,
                                FlatSymbolRefAttr::get(mesh.getSymNameAttr()),
                                b.getStrArrayAttr(axes));
  prologueEnd = op;
  return it->second = op.getResult();
}

Value FuncPartitioner::shardIndex(const Group &g) {
  auto [it, inserted] = indices.try_emplace(g.key());
  if (!inserted)
    return it->second;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointAfter(prologueEnd);
  SmallVector<StringRef> axes(g.axes.begin(), g.axes.end());
  auto op = ShardIndexOp::create(b, func.getLoc(), b.getIndexType(), world,
                                 FlatSymbolRefAttr::get(mesh.getSymNameAttr()),
                                 b.getStrArrayAttr(axes));
  prologueEnd = op;
  return it->second = op.getResult();
}

LogicalResult FuncPartitioner::checkBudget(Operation *collective) {
  if (maxCollectiveBytes <= 0)
    return success();
  int64_t bytes = collectiveTraffic(collective).payloadBytes;
  if (bytes <= maxCollectiveBytes)
    return success();
  return collective->emitError()
         << collective->getName() << " of " << bytes
         << " bytes per call per rank exceeds --max-collective-bytes "
         << maxCollectiveBytes << " ("
         << cast<StringAttr>(collective->getAttr("nova.cause")).getValue()
         << ")";
}

static void setCause(Operation *op, StringRef why) {
  op->setAttr("nova.cause", StringAttr::get(op->getContext(), why));
}

Value FuncPartitioner::castTo(Value v, Type elem, Location loc) {
  auto t = cast<RankedTensorType>(v.getType());
  if (t.getElementType() == elem)
    return v;
  RankedTensorType to = withElement(t, elem);
  if (elem.getIntOrFloatBitWidth() < t.getElementType().getIntOrFloatBitWidth())
    return arith::TruncFOp::create(b, loc, to, v);
  return arith::ExtFOp::create(b, loc, to, v);
}

Value FuncPartitioner::allReduce(Value local, const Group &g, Operation *user,
                                 StringRef why, Location loc) {
  (void)user;
  auto op = AllReduceOp::create(
      b, loc, local.getType(), local, Value(), groupComm(g),
      FlatSymbolRefAttr::get(mesh.getSymNameAttr()),
      b.getStrArrayAttr(SmallVector<StringRef>(g.axes.begin(), g.axes.end())));
  setCause(op, why);
  if (failed(checkBudget(op)))
    failedBudget = true;
  return op.getResult();
}

Value FuncPartitioner::sliceLocal(Value full, int64_t dim, const Group &g,
                                  Location loc) {
  auto t = cast<RankedTensorType>(full.getType());
  RankedTensorType lt = localType(t, dim, g.size);
  SmallVector<OpFoldResult> offsets(t.getRank(), b.getIndexAttr(0));
  SmallVector<OpFoldResult> sizes, strides(t.getRank(), b.getIndexAttr(1));
  for (int64_t s : lt.getShape())
    sizes.push_back(b.getIndexAttr(s));
  Value extent = arith::ConstantIndexOp::create(b, loc, lt.getDimSize(dim));
  offsets[dim] =
      arith::MulIOp::create(b, loc, shardIndex(g), extent).getResult();
  return tensor::ExtractSliceOp::create(b, loc, lt, full, offsets, sizes,
                                        strides);
}

Value FuncPartitioner::replicated(Value v, Operation *user, StringRef why) {
  const Dist &d = get(v);
  if (d.layout.isReplicated())
    return d.local;
  auto key = std::make_pair(v.getAsOpaquePointer(), std::string("R"));
  if (auto it = conversions.find(key); it != conversions.end())
    return it->second;
  Location loc = user->getLoc();
  Layout layout = d.layout;
  Value result;
  switch (layout.kind) {
  case Kind::Replicated:
    break;
  case Kind::Sharded: {
    auto op = AllGatherOp::create(
        b, loc, v.getType(), d.local, Value(), groupComm(layout.group),
        FlatSymbolRefAttr::get(mesh.getSymNameAttr()),
        b.getStrArrayAttr(SmallVector<StringRef>(layout.group.axes.begin(),
                                                 layout.group.axes.end())),
        b.getI64IntegerAttr(layout.dim));
    setCause(op, why);
    if (failed(checkBudget(op)))
      failedBudget = true;
    result = op.getResult();
    break;
  }
  case Kind::Partial:
    result = castTo(allReduce(d.local, layout.group, user, layout.origin,
                              layout.originLoc.value_or(loc)),
                    layout.finalElem, loc);
    break;
  case Kind::Slots: {
    Type elem = cast<RankedTensorType>(d.local.getType()).getElementType();
    Value f = castTo(d.local, b.getF32Type(), loc);
    if (!layout.zeroElsewhere)
      f = maskSlots(f, layout, loc);
    result = castTo(allReduce(f, layout.group, user, layout.origin,
                              layout.originLoc.value_or(loc)),
                    elem, loc);
    break;
  }
  }
  conversions[key] = result;
  return result;
}

Value FuncPartitioner::sharded(Value v, int64_t dim, const Group &g,
                               Operation *user, StringRef why) {
  const Dist &d = get(v);
  if (d.layout.isSharded(dim) && d.layout.group == g)
    return d.local;
  auto key = std::make_pair(v.getAsOpaquePointer(),
                            "S" + std::to_string(dim) + ":" + g.key());
  if (auto it = conversions.find(key); it != conversions.end())
    return it->second;
  Value full = replicated(v, user, why);
  return conversions[key] = sliceLocal(full, dim, g, user->getLoc());
}

/// Builds an elementwise linalg.generic over `shape` reading `inputs`
/// through `maps` (identity for the output).
static Value
buildGeneric(OpBuilder &b, Location loc, RankedTensorType resultType,
             ValueRange inputs, ArrayRef<AffineMap> inputMaps,
             function_ref<Value(OpBuilder &, Location, ValueRange)> body) {
  Value init = tensor::EmptyOp::create(b, loc, resultType.getShape(),
                                       resultType.getElementType());
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(b.getMultiDimIdentityMap(resultType.getRank()));
  SmallVector<utils::IteratorType> iterators(resultType.getRank(),
                                             utils::IteratorType::parallel);
  auto op = linalg::GenericOp::create(
      b, loc, resultType, inputs, init, maps, iterators,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, body(nb, nl, args));
      });
  return op.getResult(0);
}

/// The block of experts this device holds: [lo, lo + perShard) as i32.
static std::pair<Value, Value> expertRange(OpBuilder &b, Location loc,
                                           Value shardIndex, int64_t perShard) {
  Value n = arith::ConstantIndexOp::create(b, loc, perShard);
  Value lo = arith::IndexCastOp::create(
      b, loc, b.getI32Type(), arith::MulIOp::create(b, loc, shardIndex, n));
  Value hi = arith::AddIOp::create(
      b, loc, lo,
      arith::ConstantIntOp::create(b, loc, b.getI32Type(), perShard));
  return {lo, hi};
}

Value FuncPartitioner::localIds(Value expertsLocal, const Layout &slots,
                                Location loc) {
  Value lo, hi;
  std::tie(lo, hi) =
      expertRange(b, loc, shardIndex(slots.group), slots.expertsPerShard);
  auto t = cast<RankedTensorType>(expertsLocal.getType());
  return buildGeneric(
      b, loc, t, expertsLocal, {b.getMultiDimIdentityMap(t.getRank())},
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value e = args[0];
        Value inRange = arith::AndIOp::create(
            nb, nl,
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sge, e, lo),
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, e, hi));
        Value none = arith::ConstantIntOp::create(nb, nl, nb.getI32Type(), -1);
        return arith::SelectOp::create(
            nb, nl, inRange, arith::SubIOp::create(nb, nl, e, lo), none);
      });
}

Value FuncPartitioner::maskSlots(Value v, const Layout &slots, Location loc) {
  Operation *user = v.getDefiningOp();
  Value experts =
      replicated(slots.experts, user ? user : func.getOperation(), "");
  Value lo, hi;
  std::tie(lo, hi) =
      expertRange(b, loc, shardIndex(slots.group), slots.expertsPerShard);
  auto t = cast<RankedTensorType>(v.getType());
  MLIRContext *ctx = b.getContext();
  AffineMap slotMap =
      AffineMap::get(t.getRank(), 0,
                     {getAffineDimExpr(0, ctx), getAffineDimExpr(1, ctx)}, ctx);
  return buildGeneric(
      b, loc, t, ValueRange{v, experts},
      {b.getMultiDimIdentityMap(t.getRank()), slotMap},
      [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
        Value e = args[1];
        Value inRange = arith::AndIOp::create(
            nb, nl,
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::sge, e, lo),
            arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, e, hi));
        Value zero = arith::ConstantOp::create(
            nb, nl, nb.getZeroAttr(t.getElementType()));
        return arith::SelectOp::create(nb, nl, inRange, args[0], zero);
      });
}

Operation *FuncPartitioner::cloneWith(Operation *op, ValueRange operands,
                                      TypeRange types) {
  IRMapping mapping;
  mapping.map(op->getOperands(), operands);
  Operation *clone = b.clone(*op, mapping);
  for (auto [r, t] : llvm::zip(clone->getResults(), types))
    r.setType(t);
  return clone;
}

//===----------------------------------------------------------------------===//
// Handlers
//===----------------------------------------------------------------------===//

LogicalResult FuncPartitioner::fallback(Operation *op) {
  // Every tensor operand whole, the op as it was: correct for any op.
  std::string why = ("operand of " + op->getName().getStringRef() +
                     ", which needs whole values")
                        .str();
  SmallVector<Value> operands;
  for (Value v : op->getOperands())
    operands.push_back(replicated(v, op, why));
  // Values used inside regions, defined outside.
  SetVector<Value> above;
  getUsedValuesDefinedAbove(op->getRegions(), above);
  IRMapping mapping;
  mapping.map(op->getOperands(), operands);
  for (Value v : above)
    mapping.map(v, replicated(v, op, why));
  Operation *clone = b.clone(*op, mapping);
  for (auto [o, n] : llvm::zip(op->getResults(), clone->getResults()))
    set(o, n);
  return success();
}

LogicalResult FuncPartitioner::param(ParamOp op) {
  ShardingAttr spec = op.getShardingAttr();
  SmallVector<Type> types;
  SmallVector<Layout> layouts;
  for (Value r : op->getResults()) {
    auto t = cast<RankedTensorType>(r.getType());
    Layout layout;
    if (spec) {
      FailureOr<Layout> l = layoutOf(op, spec, t.getShape());
      if (failed(l))
        return failure();
      layout = *l;
    }
    types.push_back(layout.kind == Kind::Sharded
                        ? localType(t, layout.dim, layout.group.size)
                        : t);
    layouts.push_back(layout);
  }
  Operation *clone = cloneWith(op, {}, types);
  // The local shard: types are this device's block, `sharding` and the
  // scale layout stay those of the whole parameter (the manifest derives
  // the global shapes from them). Axes on a dimension of extent 1 (a
  // broadcast) are dropped so that "local extent x shard count" is the
  // whole extent of every dimension.
  if (spec) {
    auto param = cast<ParamOp>(clone);
    ArrayRef<int64_t> shape = op.getValue().getType().getShape();
    SmallVector<Attribute> dims(spec.getDims().begin(), spec.getDims().end());
    for (size_t d = 0; d < dims.size() && d < shape.size(); ++d)
      if (shape[d] == 1)
        dims[d] = b.getArrayAttr({});
    param.setShardingAttr(ShardingAttr::get(b.getContext(), spec.getMesh(),
                                            b.getArrayAttr(dims)));
    param.setLocal(true);
  }
  for (auto [i, r] : llvm::enumerate(op->getResults())) {
    set(r, clone->getResult(i), layouts[i]);
    if (auto rule = op->getAttrOfType<IntegerAttr>("nova.partition_rule"))
      ruleOf[r] = rule.getInt();
  }
  return success();
}

LogicalResult FuncPartitioner::elementwise(Operation *op) {
  // The first split operand's layout is the target; others follow it.
  const Layout *target = nullptr;
  for (Value v : op->getOperands()) {
    const Layout &l = get(v).layout;
    if (l.kind == Kind::Sharded || l.kind == Kind::Slots) {
      target = &l;
      break;
    }
  }
  // A split operand that has already been gathered for another consumer
  // is used whole: the result stays whole and needs no further gather
  // (a residual stream split by the embedding is gathered once).
  if (target && target->kind == Kind::Sharded &&
      llvm::any_of(op->getOperands(), [&](Value v) {
        return get(v).layout.kind == Kind::Sharded &&
               conversions.count({v.getAsOpaquePointer(), "R"});
      }))
    target = nullptr;
  if (!target)
    return fallback(op);
  Layout layout = *target;
  layout.zeroElsewhere = false;
  std::string why =
      ("operand of " + op->getName().getStringRef() + " with a split one")
          .str();
  SmallVector<Value> operands;
  for (Value v : op->getOperands()) {
    const Dist &d = get(v);
    if (layout.kind == Kind::Sharded) {
      operands.push_back(sharded(v, layout.dim, layout.group, op, why));
    } else if (d.layout.sameAs(layout) || d.layout.isReplicated()) {
      operands.push_back(d.local);
    } else {
      return fallback(op);
    }
  }
  auto shape = cast<RankedTensorType>(operands.front().getType()).getShape();
  SmallVector<Type> types;
  for (Value r : op->getResults())
    types.push_back(RankedTensorType::get(
        shape, cast<RankedTensorType>(r.getType()).getElementType()));
  Operation *clone = cloneWith(op, operands, types);
  for (auto [o, n] : llvm::zip(op->getResults(), clone->getResults()))
    set(o, n, layout);
  return success();
}

LogicalResult FuncPartitioner::expandShape(tensor::ExpandShapeOp op) {
  const Dist &d = get(op.getSrc());
  if (d.layout.kind != Kind::Sharded)
    return fallback(op);
  auto result = op.getResultType();
  int64_t n = d.layout.group.size;
  auto groups = op.getReassociationIndices();
  // The split input dimension's first output dimension of extent > 1 takes
  // the split when the dimensions before it are of extent 1.
  for (int64_t out : groups[d.layout.dim]) {
    int64_t size = result.getDimSize(out);
    if (size == 1)
      continue;
    if (size % n != 0)
      break;
    RankedTensorType lt = localType(result, out, n);
    auto clone =
        tensor::ExpandShapeOp::create(b, op.getLoc(), lt, d.local, groups);
    Layout layout = d.layout;
    layout.dim = out;
    set(op.getResult(), clone, layout);
    return success();
  }
  return fallback(op);
}

LogicalResult FuncPartitioner::collapseShape(tensor::CollapseShapeOp op) {
  const Dist &d = get(op.getSrc());
  if (d.layout.kind != Kind::Sharded)
    return fallback(op);
  auto src = op.getSrcType();
  auto groups = op.getReassociationIndices();
  for (auto [out, group] : llvm::enumerate(groups)) {
    if (!llvm::is_contained(group, d.layout.dim))
      continue;
    // Contiguous blocks only: the split dimension is the group's outermost
    // of extent > 1.
    for (int64_t in : group) {
      if (in == d.layout.dim)
        break;
      if (src.getDimSize(in) != 1)
        return fallback(op);
    }
    RankedTensorType lt =
        localType(op.getResultType(), out, d.layout.group.size);
    auto clone =
        tensor::CollapseShapeOp::create(b, op.getLoc(), lt, d.local, groups);
    Layout layout = d.layout;
    layout.dim = out;
    set(op.getResult(), clone, layout);
    return success();
  }
  return fallback(op);
}

/// For a static slice of `sizes` from a tensor of `full` whose
/// rank-reduced form has `reducedRank` dims: the reduced dimension of each
/// full dimension (-1 for a dropped one).
static SmallVector<int64_t> reducedDims(ArrayRef<int64_t> sizes,
                                        const llvm::SmallBitVector &dropped) {
  SmallVector<int64_t> map;
  int64_t next = 0;
  for (size_t d = 0; d < sizes.size(); ++d)
    map.push_back(dropped.test(d) ? -1 : next++);
  return map;
}

static bool isWholeDim(ArrayRef<int64_t> offsets, ArrayRef<int64_t> sizes,
                       ArrayRef<int64_t> strides, int64_t dim, int64_t extent) {
  return offsets[dim] == 0 && sizes[dim] == extent && strides[dim] == 1;
}

LogicalResult FuncPartitioner::extractSlice(tensor::ExtractSliceOp op) {
  const Dist &d = get(op.getSource());
  if (d.layout.kind != Kind::Sharded || !op.getOffsets().empty() ||
      !op.getSizes().empty() || !op.getStrides().empty())
    return fallback(op);
  int64_t dim = d.layout.dim, n = d.layout.group.size;
  ArrayRef<int64_t> offsets = op.getStaticOffsets(),
                    sizes = op.getStaticSizes(),
                    strides = op.getStaticStrides();
  if (!isWholeDim(offsets, sizes, strides, dim,
                  op.getSourceType().getDimSize(dim)))
    return fallback(op);
  SmallVector<int64_t> map = reducedDims(sizes, op.getDroppedDims());
  if (map[dim] < 0)
    return fallback(op);
  SmallVector<int64_t> localSizes(sizes);
  localSizes[dim] /= n;
  RankedTensorType lt = localType(op.getResultType(), map[dim], n);
  auto clone = tensor::ExtractSliceOp::create(
      b, op.getLoc(), lt, d.local, ValueRange{}, ValueRange{}, ValueRange{},
      b.getDenseI64ArrayAttr(offsets), b.getDenseI64ArrayAttr(localSizes),
      b.getDenseI64ArrayAttr(strides));
  Layout layout = d.layout;
  layout.dim = map[dim];
  set(op.getResult(), clone, layout);
  return success();
}

LogicalResult FuncPartitioner::insertSlice(tensor::InsertSliceOp op) {
  const Dist &src = get(op.getSource());
  const Dist &dst = get(op.getDest());
  if (!op.getOffsets().empty() || !op.getSizes().empty() ||
      !op.getStrides().empty())
    return fallback(op);
  ArrayRef<int64_t> offsets = op.getStaticOffsets(),
                    sizes = op.getStaticSizes(),
                    strides = op.getStaticStrides();
  std::optional<llvm::SmallDenseSet<unsigned>> droppedSet =
      computeRankReductionMask(sizes, op.getSourceType().getShape());
  if (!droppedSet)
    return fallback(op);
  llvm::SmallBitVector dropped(sizes.size());
  for (unsigned d : *droppedSet)
    dropped.set(d);
  SmallVector<int64_t> map = reducedDims(sizes, dropped);
  // The destination dimension to split: the destination's, else the one
  // the source's split dimension lands in.
  int64_t destDim = -1;
  Group group;
  if (dst.layout.kind == Kind::Sharded) {
    destDim = dst.layout.dim;
    group = dst.layout.group;
  } else if (src.layout.kind == Kind::Sharded) {
    for (size_t d = 0; d < map.size(); ++d)
      if (map[d] == src.layout.dim)
        destDim = d;
    group = src.layout.group;
  }
  if (destDim < 0 || map[destDim] < 0 ||
      !isWholeDim(offsets, sizes, strides, destDim,
                  op.getDestType().getDimSize(destDim)))
    return fallback(op);
  std::string why = "operand of a tensor.insert_slice with a split one";
  Value source = sharded(op.getSource(), map[destDim], group, op, why);
  Value dest = sharded(op.getDest(), destDim, group, op, why);
  SmallVector<int64_t> localSizes(sizes);
  localSizes[destDim] /= group.size;
  auto clone = tensor::InsertSliceOp::create(
      b, op.getLoc(), source, dest, ValueRange{}, ValueRange{}, ValueRange{},
      b.getDenseI64ArrayAttr(offsets), b.getDenseI64ArrayAttr(localSizes),
      b.getDenseI64ArrayAttr(strides));
  Layout layout;
  layout.kind = Kind::Sharded;
  layout.dim = destDim;
  layout.group = group;
  set(op.getResult(), clone, layout);
  return success();
}

/// A scale layout for the local block of a weight whose K rows are split
/// `n` ways: the number of row blocks shrinks with K, a group size stays.
ScaleLayoutAttr localScaleLayout(ScaleLayoutAttr layout, bool kSplit,
                                 int64_t n) {
  if (!layout || !kSplit)
    return layout;
  switch (layout.getKind()) {
  case ScaleLayoutKind::RowBlocks:
  case ScaleLayoutKind::RowBlockScalars:
    if (layout.getSize() == 1)
      return layout;
    return ScaleLayoutAttr::get(layout.getContext(), layout.getKind(),
                                layout.getSize() / n);
  default:
    return layout;
  }
}

LogicalResult FuncPartitioner::contraction(Operation *op, Value x, Value w,
                                           Value scales, bool transposed) {
  const Dist &wd = get(w);
  auto xt = cast<RankedTensorType>(x.getType());
  auto rt = cast<RankedTensorType>(op->getResult(0).getType());
  int64_t last = xt.getRank() - 1;
  int64_t kDim = transposed ? 1 : 0, nDim = transposed ? 0 : 1;
  if (auto wt = cast<RankedTensorType>(w.getType()); wt.getRank() > 2) {
    kDim += wt.getRank() - 2;
    nDim += wt.getRank() - 2;
  }
  std::string rule;
  if (auto it = ruleOf.find(w); it != ruleOf.end())
    rule = " (partition rule " + std::to_string(it->second) + ")";
  std::string name = op->getName().getStringRef().str();
  auto build = [&](Value lx, RankedTensorType resultType, Layout layout) {
    SmallVector<Value> operands{lx, local(w)};
    if (scales)
      operands.push_back(local(scales));
    Operation *clone = cloneWith(op, operands, resultType);
    if (auto q = dyn_cast<QMatmulOp>(clone))
      q.setLayoutAttr(localScaleLayout(
          q.getLayout(), layout.kind == Kind::Partial, wd.layout.group.size));
    set(op->getResult(0), clone->getResult(0), layout);
    return success();
  };
  if (wd.layout.isSharded(nDim)) {
    // Column-parallel: whole rows of x times this device's columns.
    Value lx = replicated(x, op, "input of column-parallel " + name + rule);
    Layout layout = wd.layout;
    layout.dim = last;
    return build(lx, localType(rt, last, layout.group.size), layout);
  }
  if (wd.layout.isSharded(kDim)) {
    // Row-parallel: this device's slice of K; partial sums in f32.
    Value lx = sharded(x, last, wd.layout.group, op,
                       "input of row-parallel " + name + rule);
    Layout layout;
    layout.kind = Kind::Partial;
    layout.group = wd.layout.group;
    layout.finalElem = rt.getElementType();
    layout.origin = "partial sums of row-parallel " + name + rule;
    layout.originLoc = op->getLoc();
    auto clone = build(lx, withElement(rt, b.getF32Type()), layout);
    return clone;
  }
  if (wd.layout.isReplicated()) {
    const Dist &xd = get(x);
    if (xd.layout.kind == Kind::Sharded && xd.layout.dim != last) {
      RankedTensorType lt = localType(rt, xd.layout.dim, xd.layout.group.size);
      return build(xd.local, lt, xd.layout);
    }
  }
  return fallback(op);
}

LogicalResult FuncPartitioner::expertMatmul(ExpertQMatmulOp op) {
  const Dist &wd = get(op.getWeight());
  auto rt = op.getResult().getType();
  int64_t inRank = op.getInput().getType().getRank();
  std::string rule;
  if (auto it = ruleOf.find(op.getWeight()); it != ruleOf.end())
    rule = " (partition rule " + std::to_string(it->second) + ")";
  auto build = [&](Value lx, Value experts, RankedTensorType resultType,
                   Layout layout, bool kSplit) {
    auto clone = cast<ExpertQMatmulOp>(cloneWith(
        op, {lx, experts, local(op.getWeight()), local(op.getScales())},
        resultType));
    clone.setLayoutAttr(
        localScaleLayout(clone.getLayout(), kSplit, wd.layout.group.size));
    set(op.getResult(), clone.getResult(), layout);
    return success();
  };
  std::string why = "operand of nova.expert_qmatmul" + rule;
  if (wd.layout.isSharded(2)) {
    Value lx = replicated(op.getInput(), op,
                          "input of column-parallel "
                          "nova.expert_qmatmul" +
                              rule);
    Layout layout = wd.layout;
    layout.dim = 2;
    return build(lx, replicated(op.getExperts(), op, why),
                 localType(rt, 2, layout.group.size), layout, false);
  }
  if (wd.layout.isSharded(1)) {
    Value lx = sharded(op.getInput(), inRank - 1, wd.layout.group, op,
                       "input of row-parallel nova.expert_qmatmul" + rule);
    Layout layout;
    layout.kind = Kind::Partial;
    layout.group = wd.layout.group;
    layout.finalElem = rt.getElementType();
    layout.origin = "partial sums of row-parallel nova.expert_qmatmul" + rule;
    layout.originLoc = op.getLoc();
    return build(lx, replicated(op.getExperts(), op, why),
                 withElement(rt, b.getF32Type()), layout, true);
  }
  if (wd.layout.isSharded(0)) {
    // Expert-parallel: this device's experts, the other slots zero.
    Layout layout;
    layout.kind = Kind::Slots;
    layout.group = wd.layout.group;
    layout.experts = op.getExperts();
    layout.expertsPerShard =
        op.getWeight().getType().getDimSize(0) / wd.layout.group.size;
    layout.zeroElsewhere = true;
    layout.origin = "expert-parallel nova.expert_qmatmul" + rule;
    layout.originLoc = op.getLoc();
    const Dist &xd = get(op.getInput());
    Value lx = xd.layout.kind == Kind::Slots && xd.layout.sameAs(layout)
                   ? xd.local
                   : replicated(op.getInput(), op,
                                "input of expert-parallel "
                                "nova.expert_qmatmul" +
                                    rule);
    Value ids =
        localIds(replicated(op.getExperts(), op, why), layout, op.getLoc());
    return build(lx, ids, rt, layout, false);
  }
  return fallback(op);
}

LogicalResult FuncPartitioner::moeCombine(MoeCombineOp op) {
  const Dist &od = get(op.getInput());
  auto rt = op.getResult().getType();
  Value gates = replicated(op.getGates(), op, "gates of nova.moe_combine");
  if (od.layout.kind == Kind::Partial || od.layout.kind == Kind::Slots) {
    // The combine is linear in its input: combine the partial values (or
    // this device's slots, exactly zero elsewhere) and reduce once.
    Value in = od.local;
    if (od.layout.kind == Kind::Slots && !od.layout.zeroElsewhere)
      in = maskSlots(in, od.layout, op.getLoc());
    // The combine rounds each gate to its result type; in f32 it would not,
    // so round them here: round_R(g) exactly as the whole op does.
    gates = castTo(castTo(gates, rt.getElementType(), op.getLoc()),
                   b.getF32Type(), op.getLoc());
    Operation *clone =
        cloneWith(op, {in, gates}, withElement(rt, b.getF32Type()));
    Layout layout;
    layout.kind = Kind::Partial;
    layout.group = od.layout.group;
    layout.finalElem = rt.getElementType();
    layout.origin = "nova.moe_combine of " + od.layout.origin;
    layout.originLoc = op.getLoc();
    set(op.getResult(), clone->getResult(0), layout);
    return success();
  }
  if (od.layout.isSharded(2)) {
    Operation *clone = cloneWith(op, {od.local, gates},
                                 localType(rt, 1, od.layout.group.size));
    Layout layout = od.layout;
    layout.dim = 1;
    set(op.getResult(), clone->getResult(0), layout);
    return success();
  }
  return fallback(op);
}

LogicalResult FuncPartitioner::embedding(EmbeddingOp op) {
  const Dist &td = get(op.getTable());
  if (!td.layout.isSharded(1))
    return fallback(op);
  auto rt = op.getResult().getType();
  int64_t last = rt.getRank() - 1;
  Value ids = replicated(op.getIds(), op, "ids of nova.embedding");
  Operation *clone =
      cloneWith(op, {td.local, ids}, localType(rt, last, td.layout.group.size));
  Layout layout = td.layout;
  layout.dim = last;
  set(op.getResult(), clone->getResult(0), layout);
  return success();
}

LogicalResult FuncPartitioner::perRow(Operation *op, Value x, int64_t minDim) {
  // Ops that compute along the last dimension (and index the leading ones
  // with their other operands): a split of a middle dimension passes.
  const Dist &xd = get(x);
  auto xt = cast<RankedTensorType>(x.getType());
  if (xd.layout.kind != Kind::Sharded || xd.layout.dim < minDim ||
      xd.layout.dim == xt.getRank() - 1)
    return fallback(op);
  SmallVector<Value> operands;
  for (Value v : op->getOperands())
    operands.push_back(
        v == x
            ? xd.local
            : replicated(v, op,
                         "operand of " + op->getName().getStringRef().str()));
  auto rt = cast<RankedTensorType>(op->getResult(0).getType());
  Operation *clone = cloneWith(
      op, operands, localType(rt, xd.layout.dim, xd.layout.group.size));
  set(op->getResult(0), clone->getResult(0), xd.layout);
  return success();
}

LogicalResult FuncPartitioner::kvCacheUpdate(KvCacheUpdateOp op) {
  // [B, S, KVH, Dh]: heads split, as attention's.
  const Dist &cd = get(op.getCache()), &ud = get(op.getUpdate());
  const Layout *target = cd.layout.isSharded(2)   ? &cd.layout
                         : ud.layout.isSharded(2) ? &ud.layout
                                                  : nullptr;
  if (!target)
    return fallback(op);
  Layout layout = *target;
  std::string why = "operand of nova.kv_cache_update with heads split";
  Value cache = sharded(op.getCache(), 2, layout.group, op, why);
  Value update = sharded(op.getUpdate(), 2, layout.group, op, why);
  Value offsets = replicated(op.getPositions(), op, why);
  Operation *clone = cloneWith(op, {cache, update, offsets}, cache.getType());
  set(op.getResult(), clone->getResult(0), layout);
  return success();
}

LogicalResult FuncPartitioner::attention(AttentionOp op) {
  // Heads split: query heads and key/value heads in the same number of
  // blocks keep each query head with its group's key/value head.
  const Layout *target = nullptr;
  for (Value v : {op.getQuery(), op.getKeys(), op.getValues()})
    if (get(v).layout.isSharded(2)) {
      target = &get(v).layout;
      break;
    }
  if (!target)
    return fallback(op);
  Layout layout = *target;
  int64_t n = layout.group.size;
  if (op.getQuery().getType().getDimSize(2) % n != 0 ||
      op.getKeys().getType().getDimSize(2) % n != 0)
    return fallback(op);
  std::string why = "operand of nova.attention with heads split";
  Value q = sharded(op.getQuery(), 2, layout.group, op, why);
  Value k = sharded(op.getKeys(), 2, layout.group, op, why);
  Value v = sharded(op.getValues(), 2, layout.group, op, why);
  Value pos = replicated(op.getPositions(), op, why);
  Operation *clone =
      cloneWith(op, {q, k, v, pos}, localType(op.getResult().getType(), 2, n));
  set(op.getResult(), clone->getResult(0), layout);
  return success();
}

LogicalResult FuncPartitioner::shardConstraint(ShardOp op) {
  auto t = op.getInput().getType();
  FailureOr<Layout> wanted = layoutOf(op, op.getSpec(), t.getShape());
  if (failed(wanted))
    return failure();
  const Dist &d = get(op.getInput());
  if (auto it = ruleOf.find(op.getInput());
      it != ruleOf.end() && !d.layout.sameAs(*wanted)) {
    InFlightDiagnostic diag =
        op.emitOpError() << "constrains a parameter to "
                         << op.getSpec().toPartitionSpecString()
                         << ", which conflicts with the layout partition rule "
                         << it->second << " gives it";
    diag.attachNote(op.getInput().getDefiningOp()->getLoc()) << "the parameter";
    return diag;
  }
  std::string why =
      "nova.shard constraint " + op.getSpec().toPartitionSpecString();
  Value result =
      wanted->kind == Kind::Sharded
          ? sharded(op.getInput(), wanted->dim, wanted->group, op, why)
          : replicated(op.getInput(), op, why);
  set(op.getResult(), result, *wanted);
  return success();
}

LogicalResult FuncPartitioner::ret(func::ReturnOp op) {
  SmallVector<Value> operands;
  for (auto [i, v] : llvm::enumerate(op.getOperands())) {
    returned.push_back(get(v).layout);
    auto arg = stateArgOf.find(i);
    auto split = arg == stateArgOf.end() ? argLayouts.end()
                                         : argLayouts.find(arg->second);
    if (split != argLayouts.end()) {
      // A state value split across calls: returned as its argument came.
      const Layout &l = split->second;
      operands.push_back(sharded(v, l.dim, l.group, op, "state result"));
      resultLayouts.push_back(l);
    } else {
      operands.push_back(replicated(v, op, "entry result"));
      resultLayouts.push_back(std::nullopt);
    }
    resultTypes.push_back(operands.back().getType());
  }
  for (auto &[key, comm] : comms)
    CommFreeOp::create(b, op.getLoc(), comm);
  func::ReturnOp::create(b, op.getLoc(), operands);
  return success();
}

LogicalResult FuncPartitioner::partition(Operation *op) {
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<ParamOp>([&](auto o) { return param(o); })
      .Case<tensor::ExpandShapeOp>([&](auto o) { return expandShape(o); })
      .Case<tensor::CollapseShapeOp>([&](auto o) { return collapseShape(o); })
      .Case<tensor::ExtractSliceOp>([&](auto o) { return extractSlice(o); })
      .Case<tensor::InsertSliceOp>([&](auto o) { return insertSlice(o); })
      .Case<MatmulOp>([&](MatmulOp o) {
        return contraction(o, o.getLhs(), o.getRhs(), Value(),
                           o.getTransposeRhs());
      })
      .Case<QMatmulOp>([&](QMatmulOp o) {
        return contraction(o, o.getInput(), o.getWeight(), o.getScales(),
                           false);
      })
      .Case<ExpertQMatmulOp>([&](auto o) { return expertMatmul(o); })
      .Case<MoeCombineOp>([&](auto o) { return moeCombine(o); })
      .Case<EmbeddingOp>([&](auto o) { return embedding(o); })
      .Case<RmsNormOp>([&](auto o) { return perRow(o, o.getInput(), 0); })
      .Case<RopeOp>([&](RopeOp o) {
        return perRow(o, o.getInput(), o.getPositions().getType().getRank());
      })
      .Case<KvCacheUpdateOp>([&](auto o) { return kvCacheUpdate(o); })
      .Case<AttentionOp>([&](auto o) { return attention(o); })
      .Case<ShardOp>([&](auto o) { return shardConstraint(o); })
      .Case<func::ReturnOp>([&](auto o) { return ret(o); })
      .Default([&](Operation *o) {
        bool tensorElementwise =
            (o->hasTrait<OpTrait::Elementwise>() ||
             OpTrait::hasElementwiseMappableTraits(o)) &&
            o->getNumResults() >= 1 &&
            llvm::all_of(o->getOperandTypes(),
                         [](Type t) { return isa<RankedTensorType>(t); }) &&
            o->getNumRegions() == 0;
        return tensorElementwise ? elementwise(o) : fallback(o);
      });
}

LogicalResult FuncPartitioner::run() {
  Block &oldBody = func.getBody().front();
  MLIRContext *ctx = func.getContext();
  // The new signature: the old one plus the mesh communicator.
  SmallVector<Type> inputs(func.getArgumentTypes());
  for (auto &[i, layout] : argLayouts)
    inputs[i] = localType(cast<RankedTensorType>(inputs[i]), layout.dim,
                          layout.group.size);
  inputs.push_back(IntegerType::get(ctx, 32));
  newBody = new Block();
  for (Type t : inputs)
    newBody->addArgument(t, func.getLoc());
  world = newBody->getArguments().back();
  for (auto [i, o] : llvm::enumerate(oldBody.getArguments())) {
    auto split = argLayouts.find(i);
    set(o, newBody->getArgument(i),
        split == argLayouts.end() ? Layout() : split->second);
  }
  b.setInsertionPointToStart(newBody);
  // An anchor the prologue grows after.
  prologueEnd = arith::ConstantIndexOp::create(b, func.getLoc(), 0);
  for (Operation &op : oldBody.getOperations()) {
    b.setInsertionPointToEnd(newBody);
    if (failed(partition(&op)) || failedBudget) {
      delete newBody;
      return failure();
    }
  }
  // Swap the bodies.
  oldBody.dropAllDefinedValueUses();
  func.getBody().getBlocks().clear();
  func.getBody().push_back(newBody);
  SmallVector<DictionaryAttr> argAttrs, resultAttrs;
  func.getAllArgAttrs(argAttrs);
  func.getAllResultAttrs(resultAttrs);
  func.setType(FunctionType::get(ctx, inputs, resultTypes));
  // Split state values carry their layout, for the manifest and callers.
  auto withSpec = [&](DictionaryAttr attrs, ShardingAttr spec) {
    NamedAttrList list(attrs);
    list.set("nova.sharding", spec);
    return list.getDictionary(ctx);
  };
  for (auto &[i, layout] : argLayouts)
    argAttrs[i] = withSpec(
        argAttrs[i], toSpec(layout, cast<ShapedType>(inputs[i]).getRank()));
  for (auto [i, layout] : llvm::enumerate(resultLayouts))
    if (layout)
      resultAttrs[i] =
          withSpec(resultAttrs[i],
                   toSpec(*layout, cast<ShapedType>(resultTypes[i]).getRank()));
  argAttrs.push_back(b.getDictionaryAttr(
      b.getNamedAttr("nova.communicator", UnitAttr::get(ctx))));
  func.setAllArgAttrs(argAttrs);
  func.setAllResultAttrs(resultAttrs);
  return success();
}

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct SpmdPartitionPass
    : mlir::nova::impl::SpmdPartitionPassBase<SpmdPartitionPass> {
  using SpmdPartitionPassBase::SpmdPartitionPassBase;

  /// Partitions `func`, keeping state values (an argument and a result of
  /// the same `nova.name`) split across calls when the program leaves them
  /// split: partition with whole state inputs, adopt the layouts the state
  /// results come out in, repeat until they agree (else they are whole).
  LogicalResult partitionEntry(func::FuncOp func, MeshOp mesh) {
    if (func.isExternal())
      return success();
    std::map<unsigned, unsigned> stateArgOf;
    for (unsigned r = 0; r < func.getNumResults(); ++r) {
      auto name = func.getResultAttrOfType<StringAttr>(r, "nova.name");
      for (unsigned a = 0; name && a < func.getNumArguments(); ++a)
        if (func.getArgAttrOfType<StringAttr>(a, "nova.name") == name &&
            func.getArgumentTypes()[a] == func.getResultTypes()[r])
          stateArgOf[r] = a;
    }
    std::map<unsigned, Layout> argLayouts;
    for (int attempt = 0;; ++attempt) {
      OwningOpRef<func::FuncOp> trial = func.clone();
      FuncPartitioner partitioner(*trial, mesh, maxCollectiveBytes, argLayouts,
                                  stateArgOf);
      if (failed(partitioner.run()))
        return failure();
      std::map<unsigned, Layout> next;
      for (auto [r, a] : stateArgOf) {
        const Layout &l = partitioner.returnedLayouts()[r];
        if (l.kind == Kind::Sharded)
          next[a] = l;
      }
      bool agree =
          next.size() == argLayouts.size() &&
          llvm::all_of(next, [&](auto &entry) {
            auto it = argLayouts.find(entry.first);
            return it != argLayouts.end() && it->second.sameAs(entry.second);
          });
      if (agree || attempt == 3) {
        if (!agree) {
          // No fixed point: whole state values.
          argLayouts.clear();
          trial = func.clone();
          if (failed(FuncPartitioner(*trial, mesh, maxCollectiveBytes, {},
                                     stateArgOf)
                         .run()))
            return failure();
        }
        func.getBody().takeBody(trial->getBody());
        func.setType(trial->getFunctionType());
        func->setAttrs(trial->getOperation()->getAttrDictionary());
        return success();
      }
      argLayouts = std::move(next);
    }
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<MeshOp> meshes(module.getOps<MeshOp>());
    if (meshes.empty())
      return;
    if (meshes.size() > 1) {
      module.emitError() << "expected one nova.mesh to partition over, got "
                         << meshes.size();
      return signalPassFailure();
    }
    MeshOp mesh = meshes.front();
    if (mesh.getNumDevices() == 1)
      return;
    // Already one device's program (the entries take the communicator).
    for (auto func : module.getOps<func::FuncOp>())
      for (unsigned i = 0; i < func.getNumArguments(); ++i)
        if (func.getArgAttr(i, "nova.communicator"))
          return;
    // The manifest is derived from the partitioned module (its entries take
    // the communicator, its parameters are local shards of known specs).
    module->removeAttr(kManifestAttrName);
    for (auto func : llvm::make_early_inc_range(module.getOps<func::FuncOp>()))
      if (failed(partitionEntry(func, mesh)))
        return signalPassFailure();
    // A state value flows from one entry into the next (prefill's cache
    // into decode): every entry must split it alike.
    std::map<std::string, std::pair<Attribute, func::FuncOp>> stateSpecs;
    for (auto func : module.getOps<func::FuncOp>()) {
      for (unsigned a = 0; a < func.getNumArguments(); ++a) {
        auto name = func.getArgAttrOfType<StringAttr>(a, "nova.name");
        if (!name)
          continue;
        bool state = false;
        for (unsigned r = 0; r < func.getNumResults(); ++r)
          state |= func.getResultAttrOfType<StringAttr>(r, "nova.name") == name;
        if (!state)
          continue;
        Attribute spec = func.getArgAttr(a, "nova.sharding");
        auto [it, inserted] =
            stateSpecs.try_emplace(name.str(), std::make_pair(spec, func));
        if (inserted || it->second.first == spec)
          continue;
        auto describe = [](Attribute spec) {
          return spec ? cast<ShardingAttr>(spec).toPartitionSpecString()
                      : std::string("whole");
        };
        func.emitError() << "state '" << name.getValue() << "' is "
                         << describe(spec) << " in @" << func.getSymName()
                         << " but " << describe(it->second.first) << " in @"
                         << it->second.second.getSymName()
                         << "; every entry must split a state value alike";
        return signalPassFailure();
      }
    }
  }
};

} // namespace

LogicalResult mlir::nova::partitionForMesh(ModuleOp module,
                                           int64_t maxCollectiveBytes) {
  PassManager pm(module.getContext());
  SpmdPartitionPassOptions options;
  options.maxCollectiveBytes = maxCollectiveBytes;
  pm.addPass(createSpmdPartitionPass(options));
  return pm.run(module);
}
