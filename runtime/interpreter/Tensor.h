//===- Tensor.h - The interpreter's value representation --------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_INTERPRETER_TENSOR_H
#define NOVA_RUNTIME_INTERPRETER_TENSOR_H

#include "nova/runtime/Float.h"

#include <cstdint>
#include <string>
#include <vector>

namespace nova::interp {

/// Element types the interpreter computes with.
enum class Elem { F32, BF16, F16, I1, I8, I32, I64 };

inline bool isFloatElem(Elem e) {
  return e == Elem::F32 || e == Elem::BF16 || e == Elem::F16;
}
const char *elemName(Elem e);

/// round_T: the nearest value of element type `e` (ties to even).
inline double roundTo(Elem e, double v) {
  switch (e) {
  case Elem::F32:
    return rt::roundToF32(v);
  case Elem::BF16:
    return rt::roundToBF16(v);
  case Elem::F16:
    return rt::roundToF16(v);
  default:
    return v;
  }
}
inline double f32(double v) { return rt::roundToF32(v); }

/// Two's-complement wrap of `v` to the width of integer type `e`.
int64_t wrapInt(Elem e, int64_t v);
/// The smallest signed value of integer element type `e` (as stored: i1's
/// elements are 0 and 1).
int64_t minInt(Elem e);

/// A dense row-major tensor: floats as exact doubles, integers as int64.
struct Tensor {
  Elem elem = Elem::F32;
  std::vector<int64_t> shape;
  std::vector<double> f;
  std::vector<int64_t> i;

  static Tensor make(Elem elem, std::vector<int64_t> shape) {
    Tensor t;
    t.elem = elem;
    t.shape = std::move(shape);
    int64_t n = t.numElements();
    if (isFloatElem(elem))
      t.f.assign(n, 0.0);
    else
      t.i.assign(n, 0);
    return t;
  }
  int64_t numElements() const {
    int64_t n = 1;
    for (int64_t d : shape)
      n *= d;
    return n;
  }
  bool isFloat() const { return isFloatElem(elem); }
  /// Element `k` as a double whatever the element type.
  double get(int64_t k) const {
    return isFloat() ? f[k] : static_cast<double>(i[k]);
  }
};

} // namespace nova::interp

#endif // NOVA_RUNTIME_INTERPRETER_TENSOR_H
