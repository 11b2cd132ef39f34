//===- KernelBuilder.cpp - Terse IR building for Nova's lowerings ---------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/NovaToLinalg/KernelBuilder.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;
using namespace mlir::nova;

Value KernelBuilder::select(Value c, Value x, Value y) {
  Type t = x.getType();
  if (!isa<FloatType>(t) || t.getIntOrFloatBitWidth() != 16)
    return arith::SelectOp::create(b, loc, c, x, y);
  Type i16 = b.getIntegerType(16);
  Value r =
      arith::SelectOp::create(b, loc, c, bitcast(x, i16), bitcast(y, i16));
  return bitcast(r, t);
}

Value KernelBuilder::widenTo(Value v, Type to) {
  Type from = v.getType();
  if (from == to)
    return v;
  // 16-bit floats widen through f32 (exact), never straight to f64.
  if (isa<FloatType>(from) && from.getIntOrFloatBitWidth() == 16 && to.isF64())
    return arith::ExtFOp::create(
        b, loc, to,
        arith::ExtFOp::create(b, loc, b.getF32Type(), v).getResult());
  if (isa<FloatType>(from)) {
    if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
      return arith::ExtFOp::create(b, loc, to, v);
    return arith::TruncFOp::create(b, loc, to, v);
  }
  return arith::SIToFPOp::create(b, loc, to, v);
}

Value KernelBuilder::castFloat(Value v, Type to) {
  if (v.getType() == to)
    return v;
  if (v.getType().getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
    return widenTo(v, to);
  if (v.getType().isF64() && to.getIntOrFloatBitWidth() < 32) {
    // f64 -> bf16/f16 in one rounding: round to f32 with round-to-odd
    // (truncate toward zero, set the last bit if inexact), then to the
    // target with round-to-nearest-even. f32 carries more than two extra
    // bits, so the result equals a single correct rounding.
    Type f32 = b.getF32Type(), i32Type = b.getI32Type();
    Value r = arith::TruncFOp::create(b, loc, f32, v);
    Value back = arith::ExtFOp::create(b, loc, v.getType(), r);
    Value inexact = cmpf(arith::CmpFPredicate::UNE, back, v);
    Value over =
        cmpf(arith::CmpFPredicate::OGT, math::AbsFOp::create(b, loc, back),
             math::AbsFOp::create(b, loc, v));
    Value bits = bitcast(r, i32Type);
    bits = select(over, subi(bits, i32(1)), bits);
    bits = select(inexact, ori(bits, i32(1)), bits);
    return arith::TruncFOp::create(b, loc, to, bitcast(bits, f32));
  }
  return arith::TruncFOp::create(b, loc, to, v);
}

Value KernelBuilder::maximumReduction(Value x, Value y) {
  return LLVM::MaximumOp::create(b, loc, x, y);
}

Value KernelBuilder::minimumReduction(Value x, Value y) {
  return LLVM::MinimumOp::create(b, loc, x, y);
}

Value KernelBuilder::roundTo(Value v, Type t) {
  if (v.getType() == t)
    return v;
  if (t.getIntOrFloatBitWidth() >= v.getType().getIntOrFloatBitWidth())
    return v; // already exact in the wider type
  return widenTo(castFloat(v, t), v.getType());
}

Value KernelBuilder::filled(ArrayRef<int64_t> shape, Value value) {
  Value init = empty(shape, value.getType());
  return linalg::FillOp::create(b, loc, value, init).getResult(0);
}

SmallVector<Value> KernelBuilder::forLoop(Value lb, Value ub, ValueRange init,
                                          LoopBody body) {
  auto loop = scf::ForOp::create(
      b, loc, lb, ub, index(1), init,
      [&](OpBuilder &nested, Location l, Value iv, ValueRange args) {
        KernelBuilder inner(nested, l);
        SmallVector<Value> results = body(inner, iv, args);
        scf::YieldOp::create(nested, l, results);
      });
  return SmallVector<Value>(loop.getResults());
}

SmallVector<Value> KernelBuilder::ifThenElse(
    Value cond, TypeRange types,
    function_ref<SmallVector<Value>(KernelBuilder &)> then,
    function_ref<SmallVector<Value>(KernelBuilder &)> otherwise) {
  auto op = scf::IfOp::create(
      b, loc, cond,
      [&](OpBuilder &nested, Location l) {
        KernelBuilder inner(nested, l);
        scf::YieldOp::create(nested, l, then(inner));
      },
      [&](OpBuilder &nested, Location l) {
        KernelBuilder inner(nested, l);
        scf::YieldOp::create(nested, l, otherwise(inner));
      });
  (void)types;
  return SmallVector<Value>(op.getResults());
}
