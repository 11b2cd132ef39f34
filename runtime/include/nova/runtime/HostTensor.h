//===- HostTensor.h - A dense tensor in host memory -------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Row-major, little-endian, densely packed. Owns its bytes, or is a
// read-only view into memory kept alive by an owner (e.g. an mmap'ed
// checkpoint), so loading can be zero-copy.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_HOSTTENSOR_H
#define NOVA_RUNTIME_HOSTTENSOR_H

#include "nova/runtime/DType.h"
#include "nova/runtime/Shape.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nova::rt {

class HostTensor {
public:
  HostTensor() = default;

  /// A zero-filled tensor (64-byte aligned storage).
  static HostTensor zeros(DType dtype, std::vector<int64_t> shape);
  /// Storage as zeros() gives, left uninitialized (for loaders that write
  /// every byte, so pages are first touched by the threads that fill them);
  /// empty() when the allocation fails.
  static HostTensor uninitialized(DType dtype, std::vector<int64_t> shape);
  /// A read-only view of `data`, which `owner` keeps alive.
  static HostTensor view(DType dtype, std::vector<int64_t> shape,
                         const void *data, std::shared_ptr<const void> owner);

  DType dtype() const { return type; }
  const std::vector<int64_t> &shape() const { return dims; }
  int64_t rank() const { return static_cast<int64_t>(dims.size()); }
  int64_t numElements() const;
  size_t sizeInBytes() const { return numElements() * dtypeSize(type); }
  bool isView() const { return !writable; }
  bool empty() const { return !data; }

  const uint8_t *bytes() const { return data; }
  /// Writable bytes; a view is copied into owned storage first.
  uint8_t *mutableBytes();

  template <typename T> const T *as() const {
    return reinterpret_cast<const T *>(data);
  }
  template <typename T> T *mutableAs() {
    return reinterpret_cast<T *>(mutableBytes());
  }

  /// Element `i` (row-major) of a float tensor as a double, exactly.
  double floatAt(int64_t i) const;
  /// Element `i` of an integer or bool tensor.
  int64_t intAt(int64_t i) const;
  /// Sets element `i` of a float tensor to `v` rounded to its dtype
  /// (nearest, ties to even); of an integer tensor, to `v` truncated.
  void setFloatAt(int64_t i, double v);
  /// Sets element `i` to the integer `v` (two's-complement truncation to the
  /// dtype's width; converted exactly-or-rounded for float dtypes).
  void setIntAt(int64_t i, int64_t v);

  /// "bf16[2, 3]".
  std::string describe() const;

private:
  DType type = DType::F32;
  std::vector<int64_t> dims;
  std::shared_ptr<const void> owner;
  uint8_t *data = nullptr;
  bool writable = false;
};

} // namespace nova::rt

#endif // NOVA_RUNTIME_HOSTTENSOR_H
