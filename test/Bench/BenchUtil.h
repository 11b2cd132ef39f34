//===- BenchUtil.h - Machine limits and JIT helpers for benchmarks -*- C++ -*-//
//
// SPDX-License-Identifier: Apache-2.0
//
// Every Nova benchmark reports its time against a limit of this machine
// measured in the same process: the DRAM read bandwidth (all cores) for
// memory-bound kernels, the f32 FMA peak (all cores) for compute-bound ones.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_TEST_BENCH_BENCHUTIL_H
#define NOVA_TEST_BENCH_BENCHUTIL_H

#include "tools/nova-run/Backends.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace nova::bench {

struct Limits {
  double readBytesPerSecond; // DRAM read, all cores, best of several passes
  double fmaFlopsPerSecond;  // f32 FMA, all cores, register-resident
  int threads;
};

/// Measured once, on first use.
const Limits &limits();

/// JIT-compiles MLIR text for the host CPU; aborts with the diagnostics on
/// error (a benchmark with a broken kernel must not report a time).
std::unique_ptr<run::CompiledCpuModule> compile(const std::string &mlirText);

/// A 64-byte aligned buffer.
struct Buffer {
  explicit Buffer(size_t bytes);
  ~Buffer();
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  void *data;
  size_t size;
};

/// Fills with a deterministic pattern: int8 in [-127, 127], or bf16/f32
/// values of magnitude about `scale`.
void fillI8(Buffer &b, uint64_t seed);
void fillBf16(Buffer &b, uint64_t seed, float scale);
void fillF32(Buffer &b, uint64_t seed, float scale);

} // namespace nova::bench

#endif // NOVA_TEST_BENCH_BENCHUTIL_H
