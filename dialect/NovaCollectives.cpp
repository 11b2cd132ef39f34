//===- NovaCollectives.cpp - SPMD collective ops --------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Verifiers and interfaces of nova.all_reduce, nova.all_gather,
// nova.group_comm, nova.comm_free and nova.shard_index.
//
//===----------------------------------------------------------------------===//

#include "dialect/NovaOps.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/SmallSet.h"

using namespace mlir;
using namespace mlir::nova;

/// The mesh `meshRef` names, with every entry of `axes` one of its axes at
/// most once; errors on `op`.
static FailureOr<MeshOp> lookupGroup(Operation *op, FlatSymbolRefAttr meshRef,
                                     ArrayAttr axes,
                                     SymbolTableCollection &symbolTable) {
  auto mesh = symbolTable.lookupNearestSymbolFrom<MeshOp>(op, meshRef);
  if (!mesh)
    return op->emitOpError() << "expected '" << meshRef
                             << "' to name a nova.mesh, got no such symbol";
  llvm::SmallSet<StringRef, 4> seen;
  for (Attribute a : axes) {
    StringRef axis = cast<StringAttr>(a).getValue();
    if (!mesh.getAxisSize(axis))
      return op->emitOpError() << "expected an axis of @" << mesh.getSymName()
                               << ", got '" << axis << "'";
    if (!seen.insert(axis).second)
      return op->emitOpError()
             << "expected each mesh axis at most once, got '" << axis << "'";
  }
  return mesh;
}

/// Number of devices in the group `axes` of `mesh`.
static int64_t groupSize(MeshOp mesh, ArrayAttr axes) {
  int64_t n = 1;
  for (Attribute a : axes)
    n *= *mesh.getAxisSize(cast<StringAttr>(a).getValue());
  return n;
}

/// Tensor form: no `out`, one result of type `resultType`. Buffer form:
/// `out` of that shape and element type, no result.
static LogicalResult verifyForms(Operation *op, Value input, Value out,
                                 ValueRange results) {
  bool tensorIn = isa<RankedTensorType>(input.getType());
  if (tensorIn && (out || results.size() != 1))
    return op->emitOpError(
        "expected a tensor input to have a result and no 'into' buffer");
  if (!tensorIn && (!out || !results.empty()))
    return op->emitOpError(
        "expected a buffer input to have an 'into' buffer and no result");
  return success();
}

static ShapedType resultShaped(Value out, ValueRange results) {
  return cast<ShapedType>(out ? out.getType() : results.front().getType());
}

template <typename OpT>
static void collectiveEffects(
    OpT op, SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
                &effects) {
  // Communication is a side effect in either form: ranks must execute the
  // same collectives in the same order, so none may be erased or hoisted.
  effects.emplace_back(MemoryEffects::Write::get());
  if (op.hasBufferSemantics()) {
    effects.emplace_back(MemoryEffects::Read::get(), &op.getInputMutable(),
                         SideEffects::DefaultResource::get());
    effects.emplace_back(MemoryEffects::Write::get(), &op.getOutMutable()[0],
                         SideEffects::DefaultResource::get());
  }
}

//===----------------------------------------------------------------------===//
// AllReduceOp
//===----------------------------------------------------------------------===//

LogicalResult AllReduceOp::verify() {
  if (failed(verifyForms(*this, getInput(), getOut(),
                         ValueRange(getOperation()->getResults()))))
    return failure();
  auto in = cast<ShapedType>(getInput().getType());
  ShapedType res =
      resultShaped(getOut(), ValueRange(getOperation()->getResults()));
  if (in.getShape() != res.getShape() ||
      in.getElementType() != res.getElementType())
    return emitOpError() << "expected the result to have the input's shape "
                            "and element type, got "
                         << in << " and " << res;
  Type e = in.getElementType();
  if (!e.isF32() && !e.isF64() && !e.isInteger())
    return emitOpError() << "expected an f32, f64 or integer element type "
                            "(partial sums are reduced in f32), got "
                         << e;
  return success();
}

LogicalResult
AllReduceOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  return lookupGroup(*this, getMeshAttr(), getAxes(), symbolTable);
}

void AllReduceOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  collectiveEffects(*this, effects);
}

//===----------------------------------------------------------------------===//
// AllGatherOp
//===----------------------------------------------------------------------===//

LogicalResult AllGatherOp::verify() {
  ValueRange results = ValueRange(getOperation()->getResults());
  if (failed(verifyForms(*this, getInput(), getOut(), results)))
    return failure();
  auto in = cast<ShapedType>(getInput().getType());
  ShapedType res = resultShaped(getOut(), results);
  int64_t dim = getDim();
  if (dim >= in.getRank())
    return emitOpError() << "expected dim < " << in.getRank()
                         << " (the input's rank), got " << dim;
  if (in.getRank() != res.getRank() ||
      in.getElementType() != res.getElementType())
    return emitOpError() << "expected the result to have the input's rank "
                            "and element type, got "
                         << in << " and " << res;
  for (int64_t d = 0; d < in.getRank(); ++d) {
    if (d == dim) {
      if (in.getDimSize(d) == 0 || res.getDimSize(d) % in.getDimSize(d) != 0)
        return emitOpError()
               << "expected the result's extent along dim " << dim
               << " to be a multiple of the input's (" << in.getDimSize(d)
               << "), got " << res.getDimSize(d);
    } else if (in.getDimSize(d) != res.getDimSize(d)) {
      return emitOpError() << "expected the result's extent along dim " << d
                           << " to equal the input's (" << in.getDimSize(d)
                           << "), got " << res.getDimSize(d);
    }
  }
  return success();
}

LogicalResult
AllGatherOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  FailureOr<MeshOp> mesh =
      lookupGroup(*this, getMeshAttr(), getAxes(), symbolTable);
  if (failed(mesh))
    return failure();
  ValueRange results = ValueRange(getOperation()->getResults());
  int64_t n = groupSize(*mesh, getAxes());
  int64_t dim = getDim();
  int64_t in = cast<ShapedType>(getInput().getType()).getDimSize(dim);
  int64_t res = resultShaped(getOut(), results).getDimSize(dim);
  if (in * n != res)
    return emitOpError() << "expected the result's extent along dim " << dim
                         << " to be " << in << " x " << n
                         << " (the group size), got " << res;
  return success();
}

void AllGatherOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  collectiveEffects(*this, effects);
}

//===----------------------------------------------------------------------===//
// GroupCommOp / ShardIndexOp
//===----------------------------------------------------------------------===//

LogicalResult
GroupCommOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  return lookupGroup(*this, getMeshAttr(), getAxes(), symbolTable);
}

bool GroupCommOp::isWholeMesh() {
  auto mesh =
      SymbolTable::lookupNearestSymbolFrom<MeshOp>(*this, getMeshAttr());
  if (!mesh)
    return false;
  // The non-trivial axes of the mesh, in mesh order, must be exactly the
  // non-trivial axes of the group, in the group's order.
  SmallVector<StringRef> meshAxes, groupAxes;
  for (auto [name, size] : llvm::zip(mesh.getAxisNames(), mesh.getShape()))
    if (size > 1)
      meshAxes.push_back(cast<StringAttr>(name).getValue());
  for (Attribute a : getAxes()) {
    StringRef axis = cast<StringAttr>(a).getValue();
    if (mesh.getAxisSize(axis).value_or(1) > 1)
      groupAxes.push_back(axis);
  }
  return meshAxes == groupAxes;
}

LogicalResult
ShardIndexOp::verifySymbolUses(SymbolTableCollection &symbolTable) {
  return lookupGroup(*this, getMeshAttr(), getAxes(), symbolTable);
}
