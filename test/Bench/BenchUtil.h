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

#include "runtime/backends/Backends.h"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace nova::bench {

struct Limits {
  double readBytesPerSecond;   // DRAM read, all cores, best of several passes
  double fmaFlopsPerSecond;    // f32 FMA, all cores, register-resident
  double memcpyBytesPerSecond; // memcpy between DRAM buffers, all cores
  // vdpbf16ps (two bf16 products per f32 lane), all cores, register-
  // resident; 0 when the host has no AVX512-BF16.
  double bf16DotFlopsPerSecond;
  int threads;
};

/// Whether the kernels' target tier (setTargetCpu) has AVX512-BF16, so that
/// bf16 prefill matmuls take the paired-row schedule (vdpbf16ps).
bool targetHasBf16Dot();

/// Measured on first use.
const Limits &limits();
/// Measures the limits again and keeps the better of each: a neighbour's
/// load on a shared machine can only lower a measured floor, so the best of
/// a measurement before and after the benchmarks is the closer one.
void remeasureLimits();

/// The CPU tier the benchmarks compile Nova's kernels for: "native" (the
/// host, by default) or an LLVM CPU name the host can run (--target-cpu).
/// Returns false with `error` set for a name the host cannot run.
bool setTargetCpu(const std::string &cpu, std::string &error);
/// "<cpu> (<its vector features>)": what the kernels were compiled for.
std::string targetDescription();

/// JIT-compiles MLIR text for the target CPU; aborts with the diagnostics on
/// error (a benchmark with a broken kernel must not report a time).
std::unique_ptr<backends::CompiledCpuModule>
compile(const std::string &mlirText);

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

/// Google Benchmark's console output, keeping the median real time of every
/// benchmark "<row>/<who>" (e.g. "qmatmul M=1 .../nova") for the tables.
class MedianReporter : public benchmark::ConsoleReporter {
public:
  void ReportRuns(const std::vector<Run> &runs) override;
  /// Median seconds of "<row>/<who>", or 0 when it did not run.
  double median(const std::string &row, const std::string &who) const;

private:
  std::map<std::string, double> medians;
};

/// Prints the markdown `table` and, when `markdown` names a file, writes it
/// there atomically; false (after a message) when the file cannot be written.
bool printTable(const std::string &table, const std::string &markdown,
                const char *tool);

/// printf-style formatting of one number.
std::string fmt(const char *format, double v);
/// "12.34 ms" / "56.7 us"; "-" for a time that was not measured.
std::string formatTime(double seconds);

} // namespace nova::bench

#endif // NOVA_TEST_BENCH_BENCHUTIL_H
