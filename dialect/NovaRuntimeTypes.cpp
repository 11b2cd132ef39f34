//===- NovaRuntimeTypes.cpp - MLIR tensor types as runtime dtypes ---------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "dialect/NovaRuntimeTypes.h"

#include "mlir/IR/Builders.h"

using namespace mlir;
using namespace mlir::nova;
namespace rt = ::nova::rt;

std::optional<rt::DType>
mlir::nova::runtimeTypeOf(Type type, std::vector<int64_t> &shape) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  if (!tensor || !tensor.hasStaticShape())
    return std::nullopt;
  Type e = tensor.getElementType();
  std::optional<rt::DType> dtype;
  if (e.isF32())
    dtype = rt::DType::F32;
  else if (e.isBF16())
    dtype = rt::DType::BF16;
  else if (e.isF16())
    dtype = rt::DType::F16;
  else if (e.isInteger(8))
    dtype = rt::DType::I8;
  else if (e.isInteger(32))
    dtype = rt::DType::I32;
  else if (e.isInteger(64))
    dtype = rt::DType::I64;
  else if (e.isInteger(1))
    dtype = rt::DType::Bool;
  if (dtype)
    shape.assign(tensor.getShape().begin(), tensor.getShape().end());
  return dtype;
}

Type mlir::nova::elementTypeOf(MLIRContext *context, rt::DType dtype) {
  Builder b(context);
  switch (dtype) {
  case rt::DType::F32:
    return b.getF32Type();
  case rt::DType::BF16:
    return b.getBF16Type();
  case rt::DType::F16:
    return b.getF16Type();
  case rt::DType::I8:
    return b.getI8Type();
  case rt::DType::I32:
    return b.getI32Type();
  case rt::DType::I64:
    return b.getI64Type();
  case rt::DType::Bool:
    return b.getI1Type();
  }
  return Type();
}
