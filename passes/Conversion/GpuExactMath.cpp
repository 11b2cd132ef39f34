//===- GpuExactMath.cpp - Correctly rounded square roots in GPU kernels ---===//
//
// SPDX-License-Identifier: Apache-2.0
//
// convert-gpu-to-nvvm lowers math.sqrt and math.rsqrt to libdevice, whose
// default reflection gives approximate instructions (1/sqrt becomes
// rsqrt.approx.f32, up to 2 ulp), while the CPU computes a correctly rounded
// sqrt and a correctly rounded division. The NVVM intrinsic sqrt.rn and an
// IEEE division give the CPU's bits.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::nova {
#define GEN_PASS_DEF_GPUEXACTMATHPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace mlir::nova

using namespace mlir;
using namespace mlir::nova;

namespace {
/// The correctly rounded square root of a scalar f32 or f64, or nullptr.
Value exactSqrt(PatternRewriter &rewriter, Location loc, Value x) {
  Type type = x.getType();
  const char *intrinsic = type.isF32()   ? "llvm.nvvm.sqrt.rn.f"
                          : type.isF64() ? "llvm.nvvm.sqrt.rn.d"
                                         : nullptr;
  if (!intrinsic)
    return nullptr;
  return LLVM::CallIntrinsicOp::create(rewriter, loc, type,
                                       rewriter.getStringAttr(intrinsic),
                                       ValueRange{x})
      .getResult(0);
}

/// sqrt(x), or rsqrt(x) = 1 / sqrt(x) with both correctly rounded: the
/// CPU's lowering.
template <typename MathOp, bool Reciprocal>
struct Root : OpRewritePattern<MathOp> {
  using OpRewritePattern<MathOp>::OpRewritePattern;
  LogicalResult matchAndRewrite(MathOp op,
                                PatternRewriter &rewriter) const override {
    Value root = exactSqrt(rewriter, op.getLoc(), op.getOperand());
    if (!root)
      return failure();
    if (!Reciprocal) {
      rewriter.replaceOp(op, root);
      return success();
    }
    Value one = arith::ConstantOp::create(
        rewriter, op.getLoc(), rewriter.getFloatAttr(root.getType(), 1.0));
    rewriter.replaceOpWithNewOp<arith::DivFOp>(op, one, root);
    return success();
  }
};

struct GpuExactMathPass
    : public mlir::nova::impl::GpuExactMathPassBase<GpuExactMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<Root<math::SqrtOp, false>, Root<math::RsqrtOp, true>>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
