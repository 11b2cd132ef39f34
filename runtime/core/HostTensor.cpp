//===- HostTensor.cpp - A dense tensor in host memory ---------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "nova/runtime/HostTensor.h"
#include "nova/runtime/Float.h"
#include "nova/runtime/Shape.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/mman.h>

using namespace nova::rt;

int64_t HostTensor::numElements() const {
  // uninitialized() refuses shapes whose byte size overflows, so every
  // tensor that holds data has a representable count.
  std::optional<int64_t> n = checkedProduct(dims);
  return n ? *n : 0;
}

HostTensor HostTensor::uninitialized(DType dtype, std::vector<int64_t> shape) {
  HostTensor t;
  t.type = dtype;
  std::optional<int64_t> checked =
      checkedByteSize(shape, static_cast<int64_t>(dtypeSize(dtype)));
  if (!checked)
    return HostTensor(); // empty(): the caller reports the failure
  t.dims = std::move(shape);
  size_t bytes = static_cast<size_t>(*checked);
  // 64-byte alignment for vector loads; never a zero-size allocation.
  size_t rounded = ((bytes + 63) / 64) * 64;
  // Large tensors (checkpoint weights) are 2 MiB aligned and backed by
  // transparent huge pages where the kernel allows it: 512x fewer page
  // faults when a loader first touches them.
  constexpr size_t kHuge = size_t(2) << 20;
  bool huge = rounded >= 2 * kHuge;
  if (huge)
    rounded = (rounded + kHuge - 1) / kHuge * kHuge;
  void *p = std::aligned_alloc(huge ? kHuge : 64, rounded ? rounded : 64);
  if (!p)
    return HostTensor(); // empty(): the caller reports the failure
  if (huge)
    ::madvise(p, rounded, MADV_HUGEPAGE);
  t.owner = std::shared_ptr<void>(p, [](void *q) { std::free(q); });
  t.data = static_cast<uint8_t *>(p);
  t.writable = true;
  return t;
}

HostTensor HostTensor::zeros(DType dtype, std::vector<int64_t> shape) {
  HostTensor t = uninitialized(dtype, std::move(shape));
  if (t.empty()) {
    std::fprintf(stderr, "nova: out of memory allocating a tensor\n");
    std::abort();
  }
  std::memset(t.data, 0, std::max<size_t>(t.sizeInBytes(), 1));
  return t;
}

HostTensor HostTensor::view(DType dtype, std::vector<int64_t> shape,
                            const void *data,
                            std::shared_ptr<const void> owner) {
  HostTensor t;
  t.type = dtype;
  t.dims = std::move(shape);
  t.owner = std::move(owner);
  t.data = const_cast<uint8_t *>(static_cast<const uint8_t *>(data));
  t.writable = false;
  return t;
}

uint8_t *HostTensor::mutableBytes() {
  if (!writable) {
    HostTensor copy = zeros(type, dims);
    if (data)
      std::memcpy(copy.data, data, sizeInBytes());
    *this = std::move(copy);
  }
  return data;
}

double HostTensor::floatAt(int64_t i) const {
  switch (type) {
  case DType::F32: {
    float f;
    std::memcpy(&f, data + 4 * i, 4);
    return f;
  }
  case DType::BF16: {
    uint16_t b;
    std::memcpy(&b, data + 2 * i, 2);
    return decodeFloat(b, kBF16Format);
  }
  case DType::F16: {
    uint16_t b;
    std::memcpy(&b, data + 2 * i, 2);
    return decodeFloat(b, kF16Format);
  }
  default:
    return static_cast<double>(intAt(i));
  }
}

int64_t HostTensor::intAt(int64_t i) const {
  switch (type) {
  case DType::I8:
    return static_cast<int8_t>(data[i]);
  case DType::Bool:
    return data[i] != 0;
  case DType::I32: {
    int32_t v;
    std::memcpy(&v, data + 4 * i, 4);
    return v;
  }
  case DType::I64: {
    int64_t v;
    std::memcpy(&v, data + 8 * i, 8);
    return v;
  }
  default:
    return static_cast<int64_t>(floatAt(i));
  }
}

void HostTensor::setFloatAt(int64_t i, double v) {
  uint8_t *out = mutableBytes() + i * dtypeSize(type);
  uint32_t bits;
  switch (type) {
  case DType::F32:
    bits = encodeFloat(v, kF32Format);
    std::memcpy(out, &bits, 4);
    return;
  case DType::BF16:
    bits = encodeFloat(v, kBF16Format);
    std::memcpy(out, &bits, 2); // little-endian low half
    return;
  case DType::F16:
    bits = encodeFloat(v, kF16Format);
    std::memcpy(out, &bits, 2);
    return;
  default:
    setIntAt(i, static_cast<int64_t>(v));
  }
}

void HostTensor::setIntAt(int64_t i, int64_t v) {
  if (isFloat(type)) {
    setFloatAt(i, static_cast<double>(v));
    return;
  }
  uint8_t *out = mutableBytes() + i * dtypeSize(type);
  if (type == DType::Bool)
    v = v != 0;
  std::memcpy(out, &v, dtypeSize(type)); // little-endian low bytes
}

std::string HostTensor::describe() const {
  return std::string(dtypeName(type)) + formatShape(dims);
}
