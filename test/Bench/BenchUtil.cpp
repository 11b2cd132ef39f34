//===- BenchUtil.cpp - Machine limits and JIT helpers ---------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "test/Bench/BenchUtil.h"

#include "passes/Pipelines/Emit.h"
#include "passes/Pipelines/Pipelines.h"

#include "nova/runtime/AtomicFile.h"
#include "nova/runtime/Float.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <immintrin.h>
#include <random>
#include <thread>

using namespace nova::bench;

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

/// Runs `work(thread)` on `threads` threads at once; returns the wall time.
template <typename Fn> double timeOnAllThreads(int threads, Fn work) {
  std::vector<std::thread> pool;
  auto start = Clock::now();
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] { work(t); });
  for (std::thread &th : pool)
    th.join();
  return seconds(start, Clock::now());
}

/// Sum of 64-bit words: a pure read stream the compiler vectorizes.
__attribute__((noinline)) uint64_t sumWords(const uint64_t *p, size_t n) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i + 4 <= n; i += 4) {
    a += p[i];
    b += p[i + 1];
    c += p[i + 2];
    d += p[i + 3];
  }
  return a + b + c + d;
}

double measureReadBandwidth(int threads) {
  // 1 GiB: far beyond any cache.
  const size_t bytes = size_t(1) << 30;
  Buffer buffer(bytes);
  std::memset(buffer.data, 1, bytes);
  const size_t words = bytes / 8, perThread = words / threads;
  volatile uint64_t sink = 0;
  double best = 1e30;
  for (int pass = 0; pass < 5; ++pass) {
    double t = timeOnAllThreads(threads, [&](int th) {
      sink = sink + sumWords(static_cast<const uint64_t *>(buffer.data) +
                                 th * perThread,
                             perThread);
    });
    best = std::min(best, t);
  }
  return bytes / best;
}

double measureMemcpyBandwidth(int threads) {
  // 1 GiB to 1 GiB, both pre-faulted: bytes copied per second, which is
  // what reading a file from the page cache into a buffer costs at best.
  const size_t bytes = size_t(1) << 30;
  Buffer src(bytes), dst(bytes);
  std::memset(src.data, 1, bytes);
  std::memset(dst.data, 2, bytes);
  const size_t perThread = bytes / threads;
  double best = 1e30;
  for (int pass = 0; pass < 5; ++pass)
    best = std::min(best, timeOnAllThreads(threads, [&](int th) {
                      std::memcpy(
                          static_cast<char *>(dst.data) + th * perThread,
                          static_cast<const char *>(src.data) + th * perThread,
                          perThread);
                    }));
  return bytes / best;
}

/// 12 independent chains of 16-lane FMAs (two FMA ports, 4-cycle latency):
/// the register-resident f32 peak. The lane count follows the build's
/// -march (the benchmarks are built for the machine they run on).
typedef float V16 __attribute__((vector_size(64)));
__attribute__((noinline)) float fmaChains(long iterations) {
  V16 acc[12], x, y;
  for (int i = 0; i < 16; ++i) {
    x[i] = 1.0f + 1e-7f * i;
    y[i] = 1e-7f;
  }
  for (V16 &a : acc)
    a = y;
  for (long it = 0; it < iterations; ++it)
    for (V16 &a : acc)
      a = __builtin_elementwise_fma(a, x, y);
  float s = 0;
  for (V16 &a : acc)
    for (int i = 0; i < 16; ++i)
      s += a[i];
  return s;
}

/// Flops per second of `chains(iterations)` on every thread, which does
/// `flopsPerIteration` per iteration: the best of three passes.
double chainPeak(int threads, float (*chains)(long), double flopsPerIteration) {
  const long iterations = 20'000'000;
  volatile float sink = 0;
  double best = 1e30;
  for (int pass = 0; pass < 3; ++pass)
    best = std::min(best, timeOnAllThreads(threads, [&](int) {
                      sink = sink + chains(iterations);
                    }));
  return flopsPerIteration * iterations * threads / best;
}

double measureFmaPeak(int threads) {
  return chainPeak(threads, fmaChains, 2.0 * 16 * 12);
}

/// vdpbf16ps on 12 independent accumulators (a dependent chain per
/// register, as fmaChains): 64 flops per instruction.
__attribute__((noinline, target("avx512f,avx512bf16"))) float
bf16DotChains(long iterations) {
  __m512 acc[12];
  for (__m512 &a : acc)
    a = _mm512_set1_ps(1e-7f);
  __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80); // 1.0, 1.0
  __m512bh y = (__m512bh)_mm512_set1_epi32(0x33d633d6); // 1e-7, 1e-7
  for (long it = 0; it < iterations; ++it)
    for (__m512 &a : acc)
      a = _mm512_dpbf16_ps(a, x, y);
  float s = 0;
  for (__m512 &a : acc)
    s += _mm512_reduce_add_ps(a);
  return s;
}

double measureBf16DotPeak(int threads) {
  if (!__builtin_cpu_supports("avx512bf16"))
    return 0;
  return chainPeak(threads, bf16DotChains, 4.0 * 16 * 12);
}

} // namespace

Buffer::Buffer(size_t bytes) : data(nullptr), size(bytes) {
  if (posix_memalign(&data, 64, std::max<size_t>(bytes, 64)) != 0) {
    std::fprintf(stderr, "bench: cannot allocate %zu bytes\n", bytes);
    std::abort();
  }
}

Buffer::~Buffer() { std::free(data); }

void nova::bench::fillI8(Buffer &b, uint64_t seed) {
  // splitmix64, eight bytes per step (GiBs of expert weights fill in
  // seconds); -128 becomes -127 (the symmetric range quantizers produce).
  uint64_t state = seed;
  auto *p = static_cast<int8_t *>(b.data);
  for (size_t i = 0; i < b.size; i += 8) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    for (size_t j = 0; j < 8 && i + j < b.size; ++j) {
      auto v = static_cast<int8_t>(z >> (8 * j));
      p[i + j] = v == -128 ? -127 : v;
    }
  }
}

void nova::bench::fillBf16(Buffer &b, uint64_t seed, float scale) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  auto *p = static_cast<uint16_t *>(b.data);
  for (size_t i = 0; i < b.size / 2; ++i)
    p[i] = rt::floatToBF16Bits(d(rng));
}

void nova::bench::fillF32(Buffer &b, uint64_t seed, float scale) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  auto *p = static_cast<float *>(b.data);
  for (size_t i = 0; i < b.size / 4; ++i)
    p[i] = d(rng);
}

static Limits measureLimits() {
  Limits l;
  // OMP_NUM_THREADS (which Nova's kernels, OpenBLAS and oneDNN honour
  // too) limits the run to fewer cores, and the limits with it.
  l.threads =
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (const char *env = std::getenv("OMP_NUM_THREADS"))
    if (int n = std::atoi(env); n > 0)
      l.threads = std::min(l.threads, n);
  l.readBytesPerSecond = measureReadBandwidth(l.threads);
  l.fmaFlopsPerSecond = measureFmaPeak(l.threads);
  l.memcpyBytesPerSecond = measureMemcpyBandwidth(l.threads);
  l.bf16DotFlopsPerSecond = measureBf16DotPeak(l.threads);
  return l;
}

static Limits &measuredLimits() {
  static Limits measured = measureLimits();
  return measured;
}

const Limits &nova::bench::limits() { return measuredLimits(); }

void nova::bench::remeasureLimits() {
  Limits &l = measuredLimits();
  Limits again = measureLimits();
  l.readBytesPerSecond =
      std::max(l.readBytesPerSecond, again.readBytesPerSecond);
  l.fmaFlopsPerSecond = std::max(l.fmaFlopsPerSecond, again.fmaFlopsPerSecond);
  l.memcpyBytesPerSecond =
      std::max(l.memcpyBytesPerSecond, again.memcpyBytesPerSecond);
  l.bf16DotFlopsPerSecond =
      std::max(l.bf16DotFlopsPerSecond, again.bf16DotFlopsPerSecond);
}

static std::string &targetCpuName() {
  static std::string cpu = "native";
  return cpu;
}

bool nova::bench::setTargetCpu(const std::string &cpu, std::string &error) {
  if (mlir::failed(mlir::nova::checkHostRuns(cpu, error)))
    return false;
  targetCpuName() = cpu;
  return true;
}

bool nova::bench::targetHasBf16Dot() {
  std::string error;
  mlir::FailureOr<std::vector<std::string>> features =
      mlir::nova::cpuFeatures(targetCpuName(), error);
  return mlir::succeeded(features) &&
         llvm::is_contained(*features, "avx512bf16");
}

std::string nova::bench::targetDescription() {
  std::string error, vector;
  mlir::FailureOr<std::vector<std::string>> features =
      mlir::nova::cpuFeatures(targetCpuName(), error);
  mlir::FailureOr<rt::ManifestTarget> target =
      mlir::nova::describeTarget(targetCpuName(), error);
  if (mlir::failed(features) || mlir::failed(target))
    return targetCpuName();
  // The features that choose a kernel path.
  for (const char *f : {"avx2", "fma", "avx512f", "avx512vnni", "avx512bf16",
                        "avx512fp16", "amx-bf16", "amx-int8"})
    if (llvm::is_contained(*features, f))
      vector += (vector.empty() ? "" : " ") + std::string(f);
  return target->cpu + (targetCpuName() == "native" ? " (the host)" : "") +
         ": " + (vector.empty() ? "SSE only" : vector);
}

std::unique_ptr<nova::backends::CompiledCpuModule>
nova::bench::compile(const std::string &text) {
  static mlir::DialectRegistry *registry = [] {
    auto *r = new mlir::DialectRegistry();
    mlir::nova::registerNovaCompilerDialects(*r);
    return r;
  }();
  // The compiled module keeps IR in this context: it lives as long as the
  // process.
  static mlir::MLIRContext *context = new mlir::MLIRContext(*registry);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::parseSourceString<mlir::ModuleOp>(text, context);
  std::string error;
  std::unique_ptr<backends::CompiledCpuModule> compiled;
  backends::BackendOptions options;
  options.targetCpu = targetCpuName();
  if (module)
    compiled = backends::compileForCpu(*module, error, options);
  if (!compiled) {
    std::fprintf(stderr, "bench: cannot compile:\n%s\n%s\n", error.c_str(),
                 text.c_str());
    std::abort();
  }
  return compiled;
}

std::string nova::bench::fmt(const char *f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string nova::bench::formatTime(double s) {
  if (s <= 0)
    return "-";
  if (s < 1e-3)
    return fmt("%.1f us", s * 1e6);
  return fmt("%.2f ms", s * 1e3);
}

void nova::bench::MedianReporter::ReportRuns(const std::vector<Run> &runs) {
  for (const Run &run : runs)
    if (run.aggregate_name == "median") {
      // Names carry suffixes ("/min_time:0.200/repeats:5"): key on the
      // function name, in milliseconds as the benchmarks report.
      medians[run.run_name.function_name] = run.GetAdjustedRealTime() / 1e3;
    }
  ConsoleReporter::ReportRuns(runs);
}

double nova::bench::MedianReporter::median(const std::string &row,
                                           const std::string &who) const {
  auto it = medians.find(row + "/" + who);
  return it == medians.end() ? 0 : it->second;
}

bool nova::bench::printTable(const std::string &table,
                             const std::string &markdown, const char *tool) {
  std::printf("\n%s", table.c_str());
  std::string error;
  if (!markdown.empty() && !rt::writeFileAtomically(markdown, table, error)) {
    std::fprintf(stderr, "%s: %s\n", tool, error.c_str());
    return false;
  }
  return true;
}
