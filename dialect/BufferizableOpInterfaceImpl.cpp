//===- BufferizableOpInterfaceImpl.cpp - Bufferizing Nova ops -------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// A collective is not destination-passing on tensors (its result is a new
// value), so it bufferizes like tensor.from_elements: the input's buffer is
// read, a fresh identity-layout buffer is allocated for the result and
// passed as `into`. Nothing aliases, so one-shot analysis never has to copy
// the input, and the allocation is what buffer-results-to-out-params turns
// into the caller's output when the result is returned.
//
//===----------------------------------------------------------------------===//

#include "dialect/BufferizableOpInterfaceImpl.h"

#include "dialect/NovaOps.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::nova;
using namespace mlir::bufferization;

/// The buffer form of `op`: the same op reading `input` and writing `out`.
static Operation *createBufferForm(RewriterBase &rewriter, AllReduceOp op,
                                   Value input, Value out) {
  return AllReduceOp::create(rewriter, op.getLoc(), TypeRange(), input, out,
                             op.getComm(), op.getMeshAttr(), op.getAxes());
}

static Operation *createBufferForm(RewriterBase &rewriter, AllGatherOp op,
                                   Value input, Value out) {
  return AllGatherOp::create(rewriter, op.getLoc(), TypeRange(), input, out,
                             op.getComm(), op.getMeshAttr(), op.getAxes(),
                             op.getDimAttr());
}

namespace {
template <typename OpT>
struct CollectiveOpInterface
    : public BufferizableOpInterface::ExternalModel<CollectiveOpInterface<OpT>,
                                                    OpT> {
  bool bufferizesToAllocation(Operation *, Value) const { return true; }

  // The only tensor operand is the input: read, never written.
  bool bufferizesToMemoryRead(Operation *, OpOperand &,
                              const AnalysisState &) const {
    return true;
  }
  bool bufferizesToMemoryWrite(Operation *, OpOperand &,
                               const AnalysisState &) const {
    return false;
  }
  AliasingValueList getAliasingValues(Operation *, OpOperand &,
                                      const AnalysisState &) const {
    return {};
  }

  /// The result's buffer is a new allocation with the identity layout (the
  /// default would be a fully dynamic layout, which no allocation has).
  FailureOr<BufferLikeType> getBufferType(Operation *op, Value value,
                                          const BufferizationOptions &options,
                                          const BufferizationState &,
                                          SmallVector<Value> &) const {
    auto type = cast<TensorType>(value.getType());
    std::optional<Attribute> space = options.defaultMemorySpaceFn(type);
    if (!space)
      return op->emitError("could not infer the memory space of the result");
    return cast<BufferLikeType>(
        getMemRefTypeWithStaticIdentityLayout(type, *space));
  }

  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const BufferizationOptions &options,
                          BufferizationState &state) const {
    auto collective = cast<OpT>(op);
    FailureOr<Value> input =
        getBuffer(rewriter, collective.getInput(), options, state);
    if (failed(input))
      return failure();
    FailureOr<Value> alloc = allocateTensorForShapedValue(
        rewriter, op->getLoc(), collective.getResult(), options, state,
        /*copy=*/false);
    if (failed(alloc))
      return failure();
    FailureOr<BufferLikeType> type =
        bufferization::getBufferType(*alloc, options, state);
    if (failed(type))
      return failure();
    Value out = ToBufferOp::create(rewriter, op->getLoc(), *type, *alloc);
    createBufferForm(rewriter, collective, *input, out);
    replaceOpWithBufferizedValues(rewriter, op, out);
    return success();
  }
};

} // namespace

void mlir::nova::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, NovaDialect *) {
    AllReduceOp::attachInterface<CollectiveOpInterface<AllReduceOp>>(*ctx);
    AllGatherOp::attachInterface<CollectiveOpInterface<AllGatherOp>>(*ctx);
  });
}
