//===- DistinctResults.cpp - One fresh buffer per returned tensor ---------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// buffer-results-to-out-params{hoist-static-allocs} replaces a returned
// allocation with its out-param and erases it; an allocation returned twice
// is then erased twice (a crash), and a returned view that is not
// contiguous is copied with a `memrefCopy` runtime call that compiled code
// cannot resolve. Copying such operands here, on tensors, gives every result
// an allocation of its own that becomes its out-param.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/Passes.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

namespace mlir::nova {
#define GEN_PASS_DEF_DISTINCTRESULTSPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace mlir::nova

using namespace mlir;
using namespace mlir::nova;

namespace {
/// The buffer a returned tensor will live in after bufferization, as far as
/// it can be told on tensors: the value reached through reshapes (which keep
/// a buffer contiguous) and slices (which may not).
struct BufferRoot {
  Value root;
  bool throughSlice = false;
};
} // namespace

static BufferRoot bufferRootOf(Value v) {
  BufferRoot result{v};
  while (Operation *def = result.root.getDefiningOp()) {
    if (auto slice = dyn_cast<tensor::ExtractSliceOp>(def)) {
      result.throughSlice = true;
      result.root = slice.getSource();
    } else if (isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp,
                   tensor::CastOp>(def)) {
      result.root = def->getOperand(0);
    } else {
      break;
    }
  }
  return result;
}

/// Whether the returned tensor must be copied: its buffer is not one the
/// function allocates for this result alone (an argument, a constant, a
/// buffer an earlier result uses) or it may be a strided view.
static bool needsCopy(const BufferRoot &buffer,
                      const llvm::SmallPtrSetImpl<Value> &earlier) {
  return buffer.throughSlice || isa<BlockArgument>(buffer.root) ||
         matchPattern(buffer.root, m_Constant()) ||
         earlier.contains(buffer.root);
}

/// Copies `v` into a new allocation. A contiguous source is copied with
/// memref.copy (a memcpy); a possibly strided one with linalg.copy (loops),
/// which needs no runtime library.
static Value copyToFreshTensor(OpBuilder &b, Location loc, Value v,
                               bool strided) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<Value> dynamicSizes;
  for (int64_t dim = 0, rank = type.getRank(); dim < rank; ++dim)
    if (type.isDynamicDim(dim))
      dynamicSizes.push_back(tensor::DimOp::create(b, loc, v, dim));
  // alloc_tensor, unlike tensor.empty, is never merged with another by CSE.
  Value fresh =
      bufferization::AllocTensorOp::create(b, loc, type, dynamicSizes);
  if (strided)
    return linalg::CopyOp::create(b, loc, v, fresh).getResult(0);
  return bufferization::MaterializeInDestinationOp::create(b, loc, v, fresh)
      .getResult();
}

static void makeResultsDistinct(func::ReturnOp ret) {
  OpBuilder b(ret);
  llvm::SmallPtrSet<Value, 8> earlier;
  for (OpOperand &operand : ret->getOpOperands()) {
    Value v = operand.get();
    if (!isa<RankedTensorType>(v.getType()))
      continue;
    BufferRoot buffer = bufferRootOf(v);
    if (needsCopy(buffer, earlier)) {
      operand.set(copyToFreshTensor(b, ret.getLoc(), v, buffer.throughSlice));
      continue;
    }
    earlier.insert(buffer.root);
  }
}

namespace {
struct DistinctResultsPass
    : mlir::nova::impl::DistinctResultsPassBase<DistinctResultsPass> {
  using Base::Base;
  void runOnOperation() override {
    getOperation().walk([](func::ReturnOp ret) { makeResultsDistinct(ret); });
  }
};
} // namespace
