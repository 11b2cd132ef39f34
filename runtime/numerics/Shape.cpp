//===- Shape.cpp - Tensor shapes: formatting and checked sizes ------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/Shape.h"

#include <sstream>

using namespace nova::rt;

std::string nova::rt::formatShape(const std::vector<int64_t> &shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i)
    os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

std::optional<int64_t> nova::rt::checkedMul(int64_t a, int64_t b) {
  int64_t product;
  if (__builtin_mul_overflow(a, b, &product))
    return std::nullopt;
  return product;
}

std::optional<int64_t> nova::rt::checkedAdd(int64_t a, int64_t b) {
  int64_t sum;
  if (__builtin_add_overflow(a, b, &sum))
    return std::nullopt;
  return sum;
}

std::optional<int64_t>
nova::rt::checkedProduct(const std::vector<int64_t> &sizes) {
  // A zero size makes the product 0 however large the others are.
  for (int64_t size : sizes)
    if (size == 0)
      return 0;
  int64_t product = 1;
  for (int64_t size : sizes) {
    std::optional<int64_t> next = checkedMul(product, size);
    if (!next)
      return std::nullopt;
    product = *next;
  }
  return product;
}

std::optional<int64_t>
nova::rt::checkedByteSize(const std::vector<int64_t> &shape, int64_t itemSize) {
  if (itemSize < 0)
    return std::nullopt;
  for (int64_t size : shape)
    if (size < 0)
      return std::nullopt;
  std::optional<int64_t> elements = checkedProduct(shape);
  if (!elements)
    return std::nullopt;
  return checkedMul(*elements, itemSize);
}
