//===- NovaBench.cpp - Nova's kernels against the machine and the peers ---===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Google Benchmark suite for the compiled CPU kernels. Each shape runs twice:
// as Nova compiles it ("nova") and the way a user would otherwise do it
// ("peer"). Runs are repeated and summarized by their median; at the end a
// table relates each median to this machine's limit measured in the same
// process (BenchUtil.h) and to the peer. `--markdown=FILE` also writes the
// table as docs/benchmarks.md is kept (scripts/bench.sh).
//
//===----------------------------------------------------------------------===//

#include "test/Bench/BenchUtil.h"

#include "nova/runtime/AtomicFile.h"
#include "nova/runtime/Float.h"

#include <benchmark/benchmark.h>
#include <cblas.h>
#include <dnnl.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <numeric>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

using namespace nova;
using namespace nova::bench;

namespace {

//===----------------------------------------------------------------------===//
// Shapes and the summary table
//===----------------------------------------------------------------------===//

enum class LimitKind { ReadBandwidth, FmaPeak };

struct Shape {
  std::string name;
  LimitKind limit;
  double work; // bytes that must be read, or flops that must be done
  std::string limitNote;
  std::string peer;
  // Optional: a reference pass the target is stated against (e.g. one read
  // pass over the logits for sampling).
  std::string referenceNote = "";
  double novaSeconds = 0, peerSeconds = 0, referenceSeconds = 0;
};

std::vector<Shape> &shapes() {
  static std::vector<Shape> all;
  return all;
}

Shape *findShape(const std::string &name) {
  for (Shape &s : shapes())
    if (s.name == name)
      return &s;
  return nullptr;
}

/// Registers "<shape>/nova" and "<shape>/peer"; the functions time one call.
/// `setup` (allocation, compilation) runs before the first timed call.
void addShape(Shape shape, std::function<void()> setup,
              std::function<void()> nova, std::function<void()> peer,
              std::function<void()> reference = nullptr) {
  std::string name = shape.name;
  shapes().push_back(std::move(shape));
  auto reg = [&](const std::string &suffix, std::function<void()> fn) {
    benchmark::RegisterBenchmark((name + "/" + suffix).c_str(),
                                 [setup, fn](benchmark::State &state) {
                                   setup();
                                   fn(); // warm: first-touch, caches
                                   for (auto _ : state)
                                     fn();
                                 })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond)
        ->Repetitions(5)
        ->ReportAggregatesOnly(true)
        ->MinTime(0.2);
  };
  reg("nova", std::move(nova));
  reg("peer", std::move(peer));
  if (reference)
    reg("reference", std::move(reference));
}

class TableReporter : public benchmark::ConsoleReporter {
public:
  void ReportRuns(const std::vector<Run> &runs) override {
    for (const Run &run : runs) {
      if (run.aggregate_name != "median")
        continue;
      std::string full = run.run_name.function_name;
      size_t slash = full.rfind('/');
      Shape *shape = findShape(full.substr(0, slash));
      if (!shape)
        continue;
      double secs = run.GetAdjustedRealTime() / 1e3; // reported in ms
      std::string who = full.substr(slash + 1);
      if (who == "nova")
        shape->novaSeconds = secs;
      else if (who == "peer")
        shape->peerSeconds = secs;
      else
        shape->referenceSeconds = secs;
    }
    ConsoleReporter::ReportRuns(runs);
  }
};

std::string fmt(const char *f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string formatTime(double s) {
  if (s <= 0)
    return "-";
  if (s < 1e-3)
    return fmt("%.1f us", s * 1e6);
  return fmt("%.2f ms", s * 1e3);
}

/// The summary as a markdown table.
std::string table() {
  const Limits &l = limits();
  std::ostringstream os;
  os << "Machine limits measured in this run (" << l.threads
     << " threads): DRAM read " << fmt("%.1f", l.readBytesPerSecond / 1e9)
     << " GB/s, f32 FMA peak " << fmt("%.0f", l.fmaFlopsPerSecond / 1e9)
     << " GFLOP/s.\n\n";
  os << "| shape | Nova (median) | achieved | fraction of limit | peer | peer "
        "(median) | Nova vs peer |\n";
  os << "|---|---|---|---|---|---|---|\n";
  for (const Shape &s : shapes()) {
    if (s.novaSeconds <= 0)
      continue;
    bool memory = s.limit == LimitKind::ReadBandwidth;
    double rate = s.work / s.novaSeconds;
    double limit = memory ? l.readBytesPerSecond : l.fmaFlopsPerSecond;
    os << "| " << s.name << " | " << formatTime(s.novaSeconds) << " | "
       << (memory ? fmt("%.1f GB/s", rate / 1e9)
                  : fmt("%.1f GFLOP/s", rate / 1e9))
       << " | " << fmt("%.0f%%", 100 * rate / limit)
       << (s.limitNote.empty() ? "" : " " + s.limitNote);
    if (s.referenceSeconds > 0)
      os << "; " << fmt("%.2f", s.novaSeconds / s.referenceSeconds) << "x "
         << s.referenceNote << " (" << formatTime(s.referenceSeconds) << ")";
    os << " | " << s.peer << " | " << formatTime(s.peerSeconds) << " | "
       << (s.peerSeconds > 0 ? fmt("%.2fx", s.peerSeconds / s.novaSeconds)
                             : std::string("-"))
       << " |\n";
  }
  return os.str();
}

//===----------------------------------------------------------------------===//
// Quantized matmul
//===----------------------------------------------------------------------===//

/// f32 -> bf16 -> f32 with round-to-nearest-even (finite values), the way
/// a hand-written dequantization loop would do it (vectorizable).
inline float roundBf16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  bits = (bits + 0x7fff + ((bits >> 16) & 1)) & 0xffff0000u;
  std::memcpy(&v, &bits, 4);
  return v;
}

/// Dequantizes (bf16 RNE, as nova.dequantize) into f32 `w`.
void dequantizeF32(const int8_t *q, const uint16_t *s, int64_t k, int64_t n,
                   int64_t blocks, float *w) {
  int64_t rowsPerBlock = k / blocks;
  std::vector<float> scale(n);
  for (int64_t r = 0; r < k; ++r) {
    if (r % rowsPerBlock == 0)
      for (int64_t c = 0; c < n; ++c)
        scale[c] = rt::bf16BitsToFloat(s[(r / rowsPerBlock) * n + c]);
    for (int64_t c = 0; c < n; ++c)
      w[r * n + c] = roundBf16(float(q[r * n + c]) * scale[c]);
  }
}

std::string qmatmulModule(int64_t m, int64_t k, int64_t n, int64_t blocks) {
  std::string layout = blocks == 1
                           ? "<per_column>"
                           : "<row_blocks = " + std::to_string(blocks) + ">";
  auto t = [](int64_t a, int64_t b, const char *e) {
    return "tensor<" + std::to_string(a) + "x" + std::to_string(b) + "x" + e +
           ">";
  };
  std::string x = t(m, k, "bf16"), q = t(k, n, "i8"), s = t(blocks, n, "bf16"),
              y = t(m, n, "bf16");
  return "func.func @qmatmul(%x: " + x + ", %q: " + q + ", %s: " + s + ") -> " +
         y + " {\n  %y = nova.qmatmul %x, %q, %s layout " + layout + " : " + x +
         ", " + q + ", " + s + " -> " + y + "\n  return %y : " + y + "\n}\n";
}

/// The int8 weight [K, N], its bf16 scales [G, N] and (on first use by a
/// prefill peer) its dequantized bf16 copy, shared by every shape with the
/// same N and G.
struct QWeight {
  int64_t k, n, blocks;
  Buffer q, s;
  std::unique_ptr<Buffer> bf16;
  QWeight(int64_t k, int64_t n, int64_t blocks)
      : k(k), n(n), blocks(blocks), q(k * n), s(blocks * n * 2) {
    fillI8(q, 2 + n + blocks);
    fillBf16(s, 3 + n + blocks, 0.01f);
  }
  const int8_t *qData() const { return static_cast<const int8_t *>(q.data); }
  const uint16_t *sData() const {
    return static_cast<const uint16_t *>(s.data);
  }
  void *dequantizedBf16() {
    if (!bf16) {
      std::vector<float> w(k * n);
      dequantizeF32(qData(), sData(), k, n, blocks, w.data());
      bf16 = std::make_unique<Buffer>(k * n * 2);
      for (int64_t i = 0; i < k * n; ++i)
        static_cast<uint16_t *>(bf16->data)[i] = rt::floatToBF16Bits(w[i]);
    }
    return bf16->data;
  }
};

QWeight &qweight(int64_t k, int64_t n, int64_t blocks) {
  static std::map<std::tuple<int64_t, int64_t, int64_t>,
                  std::unique_ptr<QWeight>>
      cache;
  auto &slot = cache[{k, n, blocks}];
  if (!slot)
    slot = std::make_unique<QWeight>(k, n, blocks);
  return *slot;
}

/// Scratch for the peers' dequantized f32 weights, grown on demand.
float *scratchF32(size_t elements) {
  static std::unique_ptr<Buffer> buffer;
  if (!buffer || buffer->size < elements * 4)
    buffer = std::make_unique<Buffer>(elements * 4);
  return static_cast<float *>(buffer->data);
}

void callOrDie(run::CompiledCpuModule &kernel, const char *entry,
               std::vector<void *> buffers) {
  std::string error;
  if (!kernel.call(entry, buffers, error)) {
    std::fprintf(stderr, "bench: %s\n", error.c_str());
    std::abort();
  }
}

void addQMatmul(int64_t m, int64_t n, int64_t blocks) {
  const int64_t k = 6144;
  bool prefill = m >= 64;
  // Set up on first use, so that a --benchmark_filter run allocates and
  // compiles only what it runs.
  struct State {
    QWeight *w = nullptr;
    std::unique_ptr<Buffer> x, y, xf, yf;
    std::unique_ptr<run::CompiledCpuModule> kernel;
    std::unique_ptr<dnnl::engine> engine;
    std::unique_ptr<dnnl::stream> stream;
    std::unique_ptr<dnnl::matmul> matmul;
    std::unique_ptr<dnnl::memory> src, weights, dst;
  };
  auto st = std::make_shared<State>();
  auto get = [st, m, n, blocks]() -> State & {
    if (st->w)
      return *st;
    st->w = &qweight(k, n, blocks);
    st->x = std::make_unique<Buffer>(m * k * 2);
    fillBf16(*st->x, 1, 1.0f);
    st->y = std::make_unique<Buffer>(m * n * 2);
    st->xf = std::make_unique<Buffer>(m * k * 4);
    st->yf = std::make_unique<Buffer>(m * n * 4);
    st->kernel = compile(qmatmulModule(m, k, n, blocks));
    return *st;
  };
  std::string layout =
      blocks == 1 ? "per-column" : std::to_string(blocks) + " row-blocks";
  Shape shape{"qmatmul M=" + std::to_string(m) +
                  " K=6144 N=" + std::to_string(n) + " " + layout,
              prefill ? LimitKind::FmaPeak : LimitKind::ReadBandwidth,
              prefill ? 2.0 * m * n * k : double(k * n),
              prefill ? "of f32 FMA peak" : "of DRAM read (int8 weights)",
              prefill ? "oneDNN bf16 matmul, weights pre-dequantized"
                      : "dequantize to f32 + OpenBLAS " +
                            std::string(m == 1 ? "sgemv" : "sgemm")};
  auto nova = [get] {
    State &s = get();
    callOrDie(*s.kernel, "qmatmul",
              {s.x->data, s.w->q.data, s.w->s.data, s.y->data});
  };
  auto peer = [get, m, n, blocks, prefill] {
    State &s = get();
    if (prefill) {
      if (!s.matmul) {
        // oneDNN on bf16 weights dequantized once, outside the timing.
        using tag = dnnl::memory::format_tag;
        using dt = dnnl::memory::data_type;
        s.engine = std::make_unique<dnnl::engine>(dnnl::engine::kind::cpu, 0);
        s.stream = std::make_unique<dnnl::stream>(*s.engine);
        dnnl::memory::desc srcMd({m, k}, dt::bf16, tag::ab),
            wMd({k, n}, dt::bf16, tag::ab), dstMd({m, n}, dt::bf16, tag::ab);
        s.src = std::make_unique<dnnl::memory>(srcMd, *s.engine, s.x->data);
        s.weights = std::make_unique<dnnl::memory>(wMd, *s.engine,
                                                   s.w->dequantizedBf16());
        s.dst = std::make_unique<dnnl::memory>(dstMd, *s.engine, s.y->data);
        s.matmul = std::make_unique<dnnl::matmul>(dnnl::matmul::primitive_desc(
            dnnl::matmul::desc(srcMd, wMd, dstMd), *s.engine));
      }
      s.matmul->execute(*s.stream, {{DNNL_ARG_SRC, *s.src},
                                    {DNNL_ARG_WEIGHTS, *s.weights},
                                    {DNNL_ARG_DST, *s.dst}});
      s.stream->wait();
      return;
    }
    auto *xf = static_cast<float *>(s.xf->data);
    for (int64_t i = 0; i < m * k; ++i)
      xf[i] = rt::bf16BitsToFloat(static_cast<uint16_t *>(s.x->data)[i]);
    float *wf = scratchF32(k * n);
    dequantizeF32(s.w->qData(), s.w->sData(), k, n, blocks, wf);
    auto *yf = static_cast<float *>(s.yf->data);
    if (m == 1)
      cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.0f, wf, n, xf, 1, 0.0f, yf,
                  1);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, xf,
                  k, wf, n, 0.0f, yf, n);
    auto *y = static_cast<uint16_t *>(s.y->data);
    for (int64_t i = 0; i < m * n; ++i)
      y[i] = rt::floatToBF16Bits(yf[i]);
  };
  addShape(
      std::move(shape), [get] { get(); }, nova, peer);
}

void registerAll() {
  for (int64_t m : {1, 8, 64, 512})
    for (int64_t n : {6144, 32768})
      for (int64_t blocks : {1, 8})
        addQMatmul(m, n, blocks);
}

} // namespace

int main(int argc, char **argv) {
  std::string markdown;
  std::vector<char *> args;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--markdown=", 0) == 0)
      markdown = a.substr(11);
    else
      args.push_back(argv[i]);
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data()))
    return 1;
  const Limits &l = limits();
  benchmark::AddCustomContext("nova_dram_read_GBps",
                              fmt("%.1f", l.readBytesPerSecond / 1e9));
  benchmark::AddCustomContext("nova_f32_fma_peak_GFLOPs",
                              fmt("%.0f", l.fmaFlopsPerSecond / 1e9));
  registerAll();
  TableReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::string summary = table();
  std::printf("\n%s", summary.c_str());
  if (!markdown.empty()) {
    std::string error;
    if (!rt::writeFileAtomically(markdown, summary, error)) {
      std::fprintf(stderr, "nova-bench: %s\n", error.c_str());
      return 1;
    }
  }
  // The compiled kernels go before LLVM's statics do.
  benchmark::ClearRegisteredBenchmarks();
  benchmark::Shutdown();
  return 0;
}
