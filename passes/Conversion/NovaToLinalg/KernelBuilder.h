//===- KernelBuilder.h - Terse IR building for Nova's lowerings -*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// A thin layer over OpBuilder for the scalar and loop code the lowerings of
// nova.sample, nova.moe_route and nova.attention emit: constants, f32/f64
// arithmetic, the round_T() of the op descriptions, tensor element access and
// scf.for loops with iteration arguments.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_PASSES_CONVERSION_NOVATOLINALG_KERNELBUILDER_H
#define NOVA_PASSES_CONVERSION_NOVATOLINALG_KERNELBUILDER_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"

namespace mlir::nova {

class KernelBuilder {
public:
  KernelBuilder(OpBuilder &b, Location loc) : b(b), loc(loc) {}

  OpBuilder &builder() { return b; }
  Location location() const { return loc; }

  //===--- Constants ------------------------------------------------------===//
  Value f32(double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value f64(double v) {
    return arith::ConstantOp::create(b, loc, b.getF64FloatAttr(v));
  }
  Value floatConst(Type t, double v) {
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(t, v));
  }
  Value i32(int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(v));
  }
  Value i64(int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v));
  }
  Value index(int64_t v) { return arith::ConstantIndexOp::create(b, loc, v); }
  Value boolean(bool v) {
    return arith::ConstantOp::create(b, loc, b.getBoolAttr(v));
  }

  //===--- Arithmetic -----------------------------------------------------===//
  Value add(Value x, Value y) { return arith::AddFOp::create(b, loc, x, y); }
  Value sub(Value x, Value y) { return arith::SubFOp::create(b, loc, x, y); }
  Value mul(Value x, Value y) { return arith::MulFOp::create(b, loc, x, y); }
  Value div(Value x, Value y) { return arith::DivFOp::create(b, loc, x, y); }
  Value neg(Value x) { return arith::NegFOp::create(b, loc, x); }
  Value max(Value x, Value y) {
    return arith::MaximumFOp::create(b, loc, x, y);
  }
  /// IEEE maximum and minimum (NaN-propagating) as LLVM intrinsics, for the
  /// step of a reduction loop: arith.maximumf / minimumf become a compare
  /// and select in arith-expand, which LLVM does not vectorize as a
  /// reduction, and LLVM's cost model declines maxnum reductions.
  Value maximumReduction(Value x, Value y);
  Value minimumReduction(Value x, Value y);
  Value fma(Value x, Value y, Value z) {
    return math::FmaOp::create(b, loc, x, y, z);
  }
  Value exp(Value x) { return math::ExpOp::create(b, loc, x); }
  Value log(Value x) { return math::LogOp::create(b, loc, x); }
  Value tanh(Value x) { return math::TanhOp::create(b, loc, x); }
  Value addi(Value x, Value y) { return arith::AddIOp::create(b, loc, x, y); }
  Value subi(Value x, Value y) { return arith::SubIOp::create(b, loc, x, y); }
  Value muli(Value x, Value y) { return arith::MulIOp::create(b, loc, x, y); }
  Value andi(Value x, Value y) { return arith::AndIOp::create(b, loc, x, y); }
  Value ori(Value x, Value y) { return arith::OrIOp::create(b, loc, x, y); }
  Value xori(Value x, Value y) { return arith::XOrIOp::create(b, loc, x, y); }
  Value shrui(Value x, Value y) { return arith::ShRUIOp::create(b, loc, x, y); }
  Value shli(Value x, Value y) { return arith::ShLIOp::create(b, loc, x, y); }
  Value cmpf(arith::CmpFPredicate p, Value x, Value y) {
    return arith::CmpFOp::create(b, loc, p, x, y);
  }
  Value cmpi(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, p, x, y);
  }
  Value isNaN(Value x) { return cmpf(arith::CmpFPredicate::UNO, x, x); }
  /// select; on 16-bit floats it selects the bit patterns, which every
  /// backend handles natively (LLVM would otherwise promote through f32 and
  /// a library call).
  Value select(Value c, Value x, Value y);
  Value notI1(Value x) { return xori(x, boolean(true)); }

  //===--- Conversions ----------------------------------------------------===//
  /// Exact widening of a float or signed-integer scalar to f32 (or f64).
  Value toF32(Value v) { return widenTo(v, b.getF32Type()); }
  Value toF64(Value v) { return widenTo(v, b.getF64Type()); }
  Value widenTo(Value v, Type to);
  /// A float scalar converted (rounded) to `to`.
  Value castFloat(Value v, Type to);
  /// round_T: `v` (f32 or f64) rounded to element type `t`, returned in
  /// v's type; a single rounding step for f64 -> bf16 as well.
  Value roundTo(Value v, Type t);
  Value toIndex(Value v) {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  }
  Value indexTo(Value v, Type t) {
    return arith::IndexCastOp::create(b, loc, t, v);
  }
  Value bitcast(Value v, Type t) {
    return arith::BitcastOp::create(b, loc, t, v);
  }

  //===--- Tensors --------------------------------------------------------===//
  Value extract(Value tensor, ValueRange indices) {
    return tensor::ExtractOp::create(b, loc, tensor, indices);
  }
  Value insert(Value scalar, Value tensor, ValueRange indices) {
    return tensor::InsertOp::create(b, loc, scalar, tensor, indices);
  }
  Value empty(ArrayRef<int64_t> shape, Type element) {
    return tensor::EmptyOp::create(b, loc, shape, element);
  }
  /// A tensor filled with `value` (a scalar of the element type).
  Value filled(ArrayRef<int64_t> shape, Value value);

  //===--- Loops ----------------------------------------------------------===//
  using LoopBody =
      function_ref<SmallVector<Value>(KernelBuilder &, Value, ValueRange)>;
  /// for iv in [lb, ub): args = body(iv, args). Returns the final args.
  SmallVector<Value> forLoop(Value lb, Value ub, ValueRange init,
                             LoopBody body);
  SmallVector<Value> forLoop(int64_t lb, int64_t ub, ValueRange init,
                             LoopBody body) {
    return forLoop(index(lb), index(ub), init, body);
  }
  /// if (cond) then() else otherwise(); both yield values of `types`.
  SmallVector<Value>
  ifThenElse(Value cond, TypeRange types,
             function_ref<SmallVector<Value>(KernelBuilder &)> then,
             function_ref<SmallVector<Value>(KernelBuilder &)> otherwise);

private:
  OpBuilder &b;
  Location loc;
};

} // namespace mlir::nova

#endif // NOVA_PASSES_CONVERSION_NOVATOLINALG_KERNELBUILDER_H
