//===- CheckCpuInput.cpp - Refuse input compiled code would trap on -------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The interpreter checks integer division element by element and reports
// the element that fails; compiled code would trap (x86 raises SIGFPE for a
// zero divisor and for the minimum over -1). Constants beyond a size that
// LLVM can hold as a global abort inside LLVM. Both are refused here, at the
// op, before any lowering, so a bad module is a located error and never a
// crash.
//
//===----------------------------------------------------------------------===//

#include "passes/Conversion/Passes.h"

#include "nova/runtime/Shape.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"

namespace mlir::nova {
#define GEN_PASS_DEF_CHECKCPUINPUTPASS
#include "passes/Conversion/Passes.h.inc"
} // namespace mlir::nova

using namespace mlir;
using namespace mlir::nova;

namespace {

/// The elements of an integer constant (one for a scalar or a splat), or
/// std::nullopt when `v` is not one.
std::optional<SmallVector<APInt>> constantElements(Value v) {
  Attribute value;
  if (!matchPattern(v, m_Constant(&value)))
    return std::nullopt;
  if (auto scalar = dyn_cast<IntegerAttr>(value))
    return SmallVector<APInt>{scalar.getValue()};
  auto dense = dyn_cast<DenseIntElementsAttr>(value);
  if (!dense)
    return std::nullopt;
  if (dense.isSplat())
    return SmallVector<APInt>{dense.getSplatValue<APInt>()};
  return llvm::to_vector(dense.getValues<APInt>());
}

/// Whether dividing `lhs` by `divisor` is defined for every element: the
/// divisor is a constant without zeros, and for a signed division, no
/// element of the divisor is -1 unless `lhs` is a constant whose matching
/// element is not the type's minimum. Sets `why` otherwise.
bool safeDivision(Value lhs, Value divisor, bool isSigned, std::string &why) {
  std::optional<SmallVector<APInt>> d = constantElements(divisor);
  if (!d) {
    why = "its divisor is not a constant, so it may be zero";
    return false;
  }
  std::optional<SmallVector<APInt>> n = constantElements(lhs);
  for (size_t i = 0; i < d->size(); ++i) {
    const APInt &v = (*d)[i];
    if (v.isZero()) {
      why = "its divisor holds a zero";
      return false;
    }
    if (!isSigned || !v.isAllOnes())
      continue;
    // -1 divides every value but the minimum; with a constant numerator the
    // elements it meets are known (a splat meets them all).
    bool minimumPossible =
        !n ||
        (d->size() == 1
             ? llvm::any_of(*n,
                            [](const APInt &x) { return x.isMinSignedValue(); })
             : (*n)[n->size() == 1 ? 0 : i].isMinSignedValue());
    if (minimumPossible) {
      why = "its divisor holds -1, whose quotient of the type's minimum "
            "does not fit";
      return false;
    }
  }
  return true;
}

struct CheckCpuInputPass
    : public mlir::nova::impl::CheckCpuInputPassBase<CheckCpuInputPass> {
  using Base::Base;

  void runOnOperation() override {
    bool failedAny = false;
    getOperation()->walk([&](Operation *op) {
      if (failed(checkDivision(op)) || failed(checkConstant(op)))
        failedAny = true;
    });
    if (failedAny)
      signalPassFailure();
  }

  LogicalResult checkDivision(Operation *op) {
    bool isSigned = isa<arith::DivSIOp, arith::RemSIOp, arith::CeilDivSIOp,
                        arith::FloorDivSIOp>(op);
    if (!isSigned &&
        !isa<arith::DivUIOp, arith::RemUIOp, arith::CeilDivUIOp>(op))
      return success();
    // Index arithmetic (addresses, loop bounds) is the compiler's own.
    if (getElementTypeOrSelf(op->getResult(0).getType()).isIndex())
      return success();
    std::string why;
    if (safeDivision(op->getOperand(0), op->getOperand(1), isSigned, why))
      return success();
    return op->emitOpError()
           << "cannot be compiled for the CPU: " << why
           << ", where compiled code would trap (run the module with "
              "--backend interp, which checks every element)";
  }

  LogicalResult checkConstant(Operation *op) {
    auto constant = dyn_cast<arith::ConstantOp>(op);
    if (!constant)
      return success();
    auto type = dyn_cast<ShapedType>(constant.getType());
    if (!type || !type.hasStaticShape())
      return success();
    int64_t bits = type.getElementTypeBitWidth();
    std::optional<int64_t> bytes = ::nova::rt::checkedByteSize(
        std::vector<int64_t>(type.getShape().begin(), type.getShape().end()),
        std::max<int64_t>(1, (bits + 7) / 8));
    if (bytes && *bytes <= maxConstantBytes)
      return success();
    InFlightDiagnostic diag = op->emitOpError()
                              << "cannot be compiled for the CPU: a constant "
                                 "of ";
    if (bytes)
      diag << *bytes << " bytes";
    else
      diag << "more than 2^63 bytes";
    return diag << " is over the limit of " << maxConstantBytes.getValue()
                << " bytes (max-constant-bytes; large tensors are "
                   "parameters or inputs, not constants)";
  }
};

} // namespace
