//===- DType.cpp - Element types of runtime tensors -----------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/DType.h"

using namespace nova::rt;

size_t nova::rt::dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::BF16:
  case DType::F16:
    return 2;
  case DType::I8:
  case DType::Bool:
    return 1;
  case DType::I64:
    return 8;
  }
  return 0;
}

std::string_view nova::rt::dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "f32";
  case DType::BF16:
    return "bf16";
  case DType::F16:
    return "f16";
  case DType::I8:
    return "i8";
  case DType::I32:
    return "i32";
  case DType::I64:
    return "i64";
  case DType::Bool:
    return "bool";
  }
  return "?";
}

std::optional<DType> nova::rt::parseDType(std::string_view name) {
  for (DType d : {DType::F32, DType::BF16, DType::F16, DType::I8, DType::I32,
                  DType::I64, DType::Bool})
    if (dtypeName(d) == name)
      return d;
  return std::nullopt;
}

bool nova::rt::isFloat(DType dtype) {
  return dtype == DType::F32 || dtype == DType::BF16 || dtype == DType::F16;
}
