//===- NovaToLinalg.cpp - Nova ops to linalg and friends ------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The pass, and the IR helpers every op family's lowering shares. Dense ops
// become linalg.generic on tensors whose bodies carry each op's exact dtype
// boundaries (docs/dialect/NovaDialect.md); the ops that need data-dependent
// control flow (moe_route, attention, sample) become scf loops. One file per
// op family: see Lowerings.h.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/CpuTierFunctions.h"
#include "passes/Conversion/NovaToLinalg/Lowerings.h"
#include "passes/Conversion/Passes.h"

#include "dialect/NovaOps.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"

#include <cassert>

namespace mlir::nova {
#define GEN_PASS_DEF_CONVERTNOVATOLINALGPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace mlir::nova

using namespace mlir;
using namespace mlir::nova;
using utils::IteratorType;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

RankedTensorType mlir::nova::tensorTypeOf(Value v) {
  return cast<RankedTensorType>(v.getType());
}

Value mlir::nova::buildGeneric(OpBuilder &b, Location loc,
                               RankedTensorType resultType, ValueRange inputs,
                               Value init, ArrayRef<AffineMap> maps,
                               ArrayRef<IteratorType> iterators,
                               GenericBody body) {
  auto op = linalg::GenericOp::create(
      b, loc, TypeRange{resultType}, inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nested, Location l, ValueRange args) {
        KernelBuilder kb(nested, l);
        linalg::YieldOp::create(nested, l, body(kb, args));
      });
  return op.getResult(0);
}

Value mlir::nova::buildElementwise(OpBuilder &b, Location loc,
                                   RankedTensorType resultType,
                                   ValueRange inputs, ArrayRef<AffineMap> maps,
                                   GenericBody body) {
  KernelBuilder kb(b, loc);
  return buildGeneric(
      b, loc, resultType, inputs,
      kb.empty(resultType.getShape(), resultType.getElementType()), maps,
      SmallVector<IteratorType>(resultType.getRank(), IteratorType::parallel),
      body);
}

SmallVector<ReassociationIndices> mlir::nova::collapseLeading(int64_t rank) {
  SmallVector<ReassociationIndices> re(2);
  for (int64_t i = 0; i + 1 < rank; ++i)
    re[0].push_back(i);
  re[1].push_back(rank - 1);
  return re;
}

AffineMap mlir::nova::projection(MLIRContext *ctx, unsigned numDims,
                                 ArrayRef<unsigned> dims) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : dims)
    exprs.push_back(getAffineDimExpr(d, ctx));
  return AffineMap::get(numDims, 0, exprs, ctx);
}

SmallVector<unsigned> mlir::nova::range(unsigned begin, unsigned end) {
  SmallVector<unsigned> r;
  for (unsigned i = begin; i < end; ++i)
    r.push_back(i);
  return r;
}

AffineMap mlir::nova::scalesMap(MLIRContext *ctx, unsigned numDims,
                                ArrayRef<unsigned> batch, unsigned k,
                                unsigned n, RankedTensorType weight,
                                RankedTensorType scales) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d : batch)
    exprs.push_back(getAffineDimExpr(d, ctx));
  int64_t rows = weight.getDimSize(weight.getRank() - 2);
  int64_t blocks = scales.getDimSize(scales.getRank() - 2);
  exprs.push_back(blocks == 1
                      ? getAffineConstantExpr(0, ctx)
                      : getAffineDimExpr(k, ctx).floorDiv(rows / blocks));
  exprs.push_back(scales.getShape().back() == 1 ? getAffineConstantExpr(0, ctx)
                                                : getAffineDimExpr(n, ctx));
  return AffineMap::get(numDims, 0, exprs, ctx);
}

Value mlir::nova::dequantizeScalar(KernelBuilder &kb, Value q, Value scale,
                                   Type scaleType) {
  if (!scaleType)
    scaleType = scale.getType();
  // int8 x scale is exact in f32; one rounding to the scale's type (§1.3).
  Value product = kb.mul(kb.toF32(q), kb.toF32(scale));
  if (!scaleType.isBF16())
    return kb.roundTo(product, scaleType);
  // RNE to bf16 on the bits: add 0x7fff plus the lowest kept bit, clear the
  // low half. Exact for every int8 x bf16 product: finite ones round as
  // truncf does (overflow to inf included), and a NaN product has a zero low
  // half (the bf16 scale's payload, or the default NaN of 0 x inf), so it
  // stays the same NaN. Cheaper than truncf's general NaN handling in the
  // innermost loop of every quantized matmul.
  OpBuilder &b = kb.builder();
  Type i32 = b.getI32Type();
  Value bits = kb.bitcast(product, i32);
  Value lsb = kb.andi(kb.shrui(bits, kb.i32(16)), kb.i32(1));
  Value rounded = kb.andi(kb.addi(kb.addi(bits, kb.i32(0x7fff)), lsb),
                          kb.i32(static_cast<int32_t>(0xffff0000u)));
  return kb.bitcast(rounded, b.getF32Type());
}

Value mlir::nova::splitConstant(KernelBuilder &kb, Value s) {
  return kb.mul(s, kb.f32(65537.0));
}

Value mlir::nova::splitDequantize(KernelBuilder &kb, Value qf, Value s,
                                  Value split) {
  OpBuilder &b = kb.builder();
  Value gamma = kb.mul(qf, split);
  Value delta =
      math::FmaOp::create(b, kb.location(), qf, s, kb.neg(gamma)).getResult();
  return kb.add(gamma, delta);
}

Value mlir::nova::flattenTensor(OpBuilder &b, Location loc, Value t) {
  auto type = tensorTypeOf(t);
  if (type.getRank() <= 1)
    return t;
  ReassociationIndices all;
  for (int64_t d = 0; d < type.getRank(); ++d)
    all.push_back(d);
  return tensor::CollapseShapeOp::create(
      b, loc, t, SmallVector<ReassociationIndices>{all});
}

Value mlir::nova::splitDequantizable(KernelBuilder &kb, Value scales) {
  OpBuilder &b = kb.builder();
  Location loc = kb.location();
  // One loop over all the scales with the largest magnitude's bits (|s| as
  // an integer) carried in a register: a buffer would cost alias checks, and
  // LLVM fully unrolls small nests of constant trip counts (thousands of
  // instructions for a few KB of scales). 2^105 is 0x7400. The collapse is
  // free on the identity layouts nova-cpu-pipeline bufferizes to.
  auto type = tensorTypeOf(scales);
  scales = flattenTensor(b, loc, scales);
  Type i16 = b.getI16Type(), i32 = b.getI32Type();
  Value largest = kb.forLoop(
      0, type.getNumElements(), {kb.i32(0)},
      [&](KernelBuilder &k, Value i, ValueRange acc) {
        Value bits = arith::ExtUIOp::create(
            k.builder(), loc, i32, k.bitcast(k.extract(scales, {i}), i16));
        Value magnitude = k.andi(bits, k.i32(0x7fff));
        return SmallVector<Value>{
            arith::MaxSIOp::create(k.builder(), loc, magnitude, acc[0])
                .getResult()};
      })[0];
  return kb.cmpi(arith::CmpIPredicate::slt, largest, kb.i32(0x7400));
}

Value mlir::nova::filledF32(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                            double value) {
  KernelBuilder kb(b, loc);
  return kb.filled(shape, kb.f32(value));
}

Value mlir::nova::castTensor(OpBuilder &b, Location loc, Value v, Type element,
                             Value dest) {
  RankedTensorType type = tensorTypeOf(v);
  if (type.getElementType() == element)
    return v;
  auto result = RankedTensorType::get(type.getShape(), element);
  KernelBuilder kb(b, loc);
  unsigned rank = type.getRank();
  AffineMap id = AffineMap::getMultiDimIdentityMap(rank, b.getContext());
  if (!dest)
    dest = kb.empty(type.getShape(), element);
  return buildGeneric(b, loc, result, {v}, dest, {id, id},
                      SmallVector<IteratorType>(rank, IteratorType::parallel),
                      [&](KernelBuilder &k, ValueRange args) {
                        return k.castFloat(args[0], element);
                      });
}

Value mlir::nova::ranksBefore(KernelBuilder &k, Value a, Value ia, Value b,
                              Value ib) {
  Value na = k.isNaN(a), nb = k.isNaN(b);
  Value lower = k.cmpi(arith::CmpIPredicate::slt, ia, ib);
  Value bothNumbers = k.andi(k.notI1(na), k.notI1(nb));
  Value greater = k.cmpf(arith::CmpFPredicate::OGT, a, b);
  Value tie = k.andi(k.cmpf(arith::CmpFPredicate::OEQ, a, b), lower);
  Value numberCase = k.andi(bothNumbers, k.ori(greater, tie));
  Value nanOverNumber = k.andi(na, k.notI1(nb));
  Value bothNaN = k.andi(k.andi(na, nb), lower);
  return k.ori(numberCase, k.ori(nanOverNumber, bothNaN));
}

namespace {

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct ConvertNovaToLinalgPass
    : nova::impl::ConvertNovaToLinalgPassBase<ConvertNovaToLinalgPass> {
  using Base::Base;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    ConversionTarget target(*ctx);
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect, vector::VectorDialect>();
    // The CPU tier functions (bf16-dot).
    target.addLegalOp<func::CallOp>();
    target.addIllegalDialect<NovaDialect>();
    // Reductions that must stay intrinsics for LLVM to vectorize them
    // (KernelBuilder::maximumReduction).
    target.addLegalOp<LLVM::MaximumOp, LLVM::MinimumOp>();
    // Scratch that must not be CSE'd with another (SampleLowering).
    target.addLegalOp<bufferization::AllocTensorOp>();
    // Declarations stay: the mesh, partition rules and (if any are left)
    // parameters are not compute. The SPMD collectives bufferize as they
    // are and become MPI calls later (nova-collectives-to-mpi).
    target.addLegalOp<MeshOp, PartitionRulesOp, PartitionRuleOp, AllReduceOp,
                      AllGatherOp, GroupCommOp, CommFreeOp, ShardIndexOp>();
    bool leftoverParams = false;
    getOperation()->walk([&](ParamOp op) {
      op.emitError() << "nova.param must be a function argument before "
                        "lowering (run nova-params-to-args)";
      leftoverParams = true;
    });
    if (leftoverParams)
      return signalPassFailure();
    if (parallelTiles < 1) {
      emitError(getOperation()->getLoc())
          << "convert-nova-to-linalg: expected parallel-tiles >= 1, got "
          << static_cast<int64_t>(parallelTiles);
      return signalPassFailure();
    }
    TypeConverter converter;
    converter.addConversion([](Type t) { return t; });
    RewritePatternSet patterns(ctx);
    ScheduleOptions options;
    options.parallelTiles = parallelTiles;
    options.parallelWork = parallelWork;
    options.parallelSampleWork = parallelSampleWork;
    options.bf16Dot = bf16Dot;
    if (bf16Dot)
      for (StringRef name : {kCpuHasBf16Dot, kCpuDotBf16Pairs})
        if (!SymbolTable::lookupNearestSymbolFrom(getOperation(),
                                                  StringAttr::get(ctx, name))) {
          emitError(getOperation()->getLoc())
              << "convert-nova-to-linalg{bf16-dot=1}: '" << name
              << "' is not declared (run nova-declare-cpu-tier-functions)";
          return signalPassFailure();
        }
    populateNovaToLinalgConversionPatterns(converter, patterns, options);
    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace

void mlir::nova::populateNovaToLinalgConversionPatterns(
    TypeConverter &converter, RewritePatternSet &patterns,
    const ConvertNovaToLinalgPassOptions &options) {
  assert(options.parallelTiles >= 1 && "expected at least one column tile");
  populateQuantizeLoweringPatterns(converter, patterns);
  populateContractionLoweringPatterns(converter, patterns, options);
  populateMoeLoweringPatterns(converter, patterns, options);
  populateAttentionLoweringPatterns(converter, patterns);
  populateSampleLoweringPatterns(converter, patterns, options);
  populateElementwiseLoweringPatterns(converter, patterns);
}
