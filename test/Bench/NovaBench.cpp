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
#include <immintrin.h>
#include <map>
#include <numeric>
#include <random>
#include <sstream>
#include <string>
#include <tuple>
#include <unistd.h>
#include <vector>

using namespace nova;
using namespace nova::bench;

namespace {

//===----------------------------------------------------------------------===//
// Shapes and the summary table
//===----------------------------------------------------------------------===//

enum class LimitKind { ReadBandwidth, FmaPeak, Bf16DotPeak };

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

/// The summary as a markdown table.
std::string table() {
  const Limits &l = limits();
  std::ostringstream os;
  os << "Machine limits measured in this run (the better of before and "
        "after the benchmarks; "
     << l.threads << " threads): DRAM read "
     << fmt("%.1f", l.readBytesPerSecond / 1e9) << " GB/s, f32 FMA peak "
     << fmt("%.0f", l.fmaFlopsPerSecond / 1e9) << " GFLOP/s"
     << (l.bf16DotFlopsPerSecond > 0
             ? ", vdpbf16ps peak " +
                   fmt("%.0f", l.bf16DotFlopsPerSecond / 1e9) + " GFLOP/s"
             : std::string())
     << ".\n\nNova's kernels compiled for " << targetDescription() << ".\n\n";
  os << "| shape | Nova (median) | achieved | fraction of limit | peer | peer "
        "(median) | Nova vs peer |\n";
  os << "|---|---|---|---|---|---|---|\n";
  for (const Shape &s : shapes()) {
    if (s.novaSeconds <= 0)
      continue;
    bool memory = s.limit == LimitKind::ReadBandwidth;
    double rate = s.work / s.novaSeconds;
    double limit = memory                              ? l.readBytesPerSecond
                   : s.limit == LimitKind::Bf16DotPeak ? l.bf16DotFlopsPerSecond
                                                       : l.fmaFlopsPerSecond;
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

/// bf16 bits to f32 (exact), as a hand-written loop would do it.
inline float bf16ToF32(uint16_t v) {
  uint32_t bits = uint32_t(v) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// f32 to bf16 bits, round to nearest even (finite values).
inline uint16_t f32ToBf16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  return static_cast<uint16_t>((bits + 0x7fff + ((bits >> 16) & 1)) >> 16);
}

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
        scale[c] = bf16ToF32(s[(r / rowsPerBlock) * n + c]);
    for (int64_t c = 0; c < n; ++c)
      w[r * n + c] = roundBf16(float(q[r * n + c]) * scale[c]);
  }
}

std::string qmatmulModule(int64_t m, int64_t k, int64_t n, int64_t blocks,
                          bool fast) {
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
         y + " {\n  %y = nova.qmatmul %x, %q, %s layout " + layout +
         (fast ? " {int8_activations}" : "") + " : " + x + ", " + q + ", " + s +
         " -> " + y + "\n  return %y : " + y + "\n}\n";
}

/// Copies of a `bytes` weight that together take four times the last-level
/// cache, so that a decode shape cycling through them reads its weights
/// from DRAM on every call, as a model larger than the cache does (some of
/// these machines have a 260 MB L3, which holds a whole 6144 x 32768 int8
/// weight).
int64_t dramCopies(int64_t bytes) {
  long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  if (l3 <= 0)
    l3 = 64l << 20;
  return std::max<int64_t>(1, (4 * int64_t(l3) + bytes - 1) / bytes);
}

/// The int8 weight [K, N] (in `copies` distinct copies, see dramCopies),
/// its bf16 scales [G, N] and (on first use by a prefill peer) its
/// dequantized bf16 copy, shared by every shape with the same N and G.
struct QWeight {
  int64_t k, n, blocks, copies;
  Buffer q, s;
  std::unique_ptr<Buffer> bf16;
  int64_t next = 0;
  QWeight(int64_t k, int64_t n, int64_t blocks)
      : k(k), n(n), blocks(blocks), copies(dramCopies(k * n)),
        q(copies * k * n), s(blocks * n * 2) {
    fillI8(q, 2 + n + blocks);
    fillBf16(s, 3 + n + blocks, 0.01f);
  }
  /// Copy 0 (what the prefill shapes, which are not bandwidth-bound, use).
  const int8_t *qData() const { return static_cast<const int8_t *>(q.data); }
  /// The next copy in turn, for a decode call.
  int8_t *nextCopy() {
    next = (next + 1) % copies;
    return static_cast<int8_t *>(q.data) + next * k * n;
  }
  const uint16_t *sData() const {
    return static_cast<const uint16_t *>(s.data);
  }
  void *dequantizedBf16() {
    if (!bf16) {
      std::vector<float> w(k * n);
      dequantizeF32(qData(), sData(), k, n, blocks, w.data());
      bf16 = std::make_unique<Buffer>(k * n * 2);
      for (int64_t i = 0; i < k * n; ++i)
        static_cast<uint16_t *>(bf16->data)[i] = f32ToBf16(w[i]);
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

void callOrDie(backends::CompiledCpuModule &kernel, const char *entry,
               std::vector<void *> buffers) {
  std::string error;
  if (!kernel.call(entry, buffers, error)) {
    std::fprintf(stderr, "bench: %s\n", error.c_str());
    std::abort();
  }
}

/// oneDNN's int8 matmul for one row of x, quantized on the fly as ggml and
/// oneDNN users do (the peer of --numerics=fast decode): x to s8 with one
/// scale d, s8 x s8 with output scales d · s[n] (the weight's per-column
/// scales; for row-block scales, block 0's, so the peer does less work than
/// Nova there).
struct Int8Peer {
  int64_t k, n;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  std::unique_ptr<dnnl::matmul> matmul;
  std::unique_ptr<dnnl::memory> src, weights, dst, scales;
  std::vector<int8_t> xq;
  std::vector<float> yf, outScales;
  Int8Peer(int64_t k, int64_t n, void *q)
      : k(k), n(n), xq(k), yf(n), outScales(n) {
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;
    dnnl::memory::desc srcMd({1, k}, dt::s8, tag::ab),
        wMd({k, n}, dt::s8, tag::ab), dstMd({1, n}, dt::f32, tag::ab),
        sMd({n}, dt::f32, tag::a);
    dnnl::primitive_attr attr;
    attr.set_output_scales(1 << 1, {DNNL_RUNTIME_F32_VAL});
    matmul = std::make_unique<dnnl::matmul>(dnnl::matmul::primitive_desc(
        dnnl::matmul::desc(srcMd, wMd, dstMd), attr, engine));
    src = std::make_unique<dnnl::memory>(srcMd, engine, xq.data());
    weights = std::make_unique<dnnl::memory>(wMd, engine, q);
    dst = std::make_unique<dnnl::memory>(dstMd, engine, yf.data());
    scales = std::make_unique<dnnl::memory>(sMd, engine, outScales.data());
  }
  void run(const uint16_t *x, int8_t *q, const uint16_t *s, uint16_t *y) {
    weights->set_data_handle(q);
    float a = 0;
    for (int64_t i = 0; i < k; ++i)
      a = std::max(a, std::fabs(bf16ToF32(x[i])));
    float d = a / 127, r = a > 0 ? 127 / a : 0;
    for (int64_t i = 0; i < k; ++i)
      xq[i] = static_cast<int8_t>(std::nearbyint(bf16ToF32(x[i]) * r));
    for (int64_t c = 0; c < n; ++c)
      outScales[c] = d * bf16ToF32(s[c]);
    matmul->execute(stream, {{DNNL_ARG_SRC, *src},
                             {DNNL_ARG_WEIGHTS, *weights},
                             {DNNL_ARG_DST, *dst},
                             {DNNL_ARG_ATTR_OUTPUT_SCALES, *scales}});
    stream.wait();
    for (int64_t c = 0; c < n; ++c)
      y[c] = f32ToBf16(yf[c]);
  }
};

void addQMatmul(int64_t m, int64_t n, int64_t blocks, bool fast = false) {
  const int64_t k = 6144;
  bool prefill = m >= 64;
  // Exact prefill on a tier with AVX512-BF16 takes the paired-row schedule:
  // its limit is the peak of vdpbf16ps.
  bool dot = prefill && !fast && targetHasBf16Dot();
  // Set up on first use, so that a --benchmark_filter run allocates and
  // compiles only what it runs.
  struct State {
    QWeight *w = nullptr;
    std::unique_ptr<Buffer> x, y, xf, yf;
    std::unique_ptr<backends::CompiledCpuModule> kernel;
    std::unique_ptr<dnnl::engine> engine;
    std::unique_ptr<dnnl::stream> stream;
    std::unique_ptr<dnnl::matmul> matmul;
    std::unique_ptr<dnnl::memory> src, weights, dst;
    std::unique_ptr<Int8Peer> int8;
  };
  auto st = std::make_shared<State>();
  auto get = [st, m, n, blocks, fast]() -> State & {
    if (st->w)
      return *st;
    st->w = &qweight(k, n, blocks);
    st->x = std::make_unique<Buffer>(m * k * 2);
    fillBf16(*st->x, 1, 1.0f);
    st->y = std::make_unique<Buffer>(m * n * 2);
    st->xf = std::make_unique<Buffer>(m * k * 4);
    st->yf = std::make_unique<Buffer>(m * n * 4);
    st->kernel = compile(qmatmulModule(m, k, n, blocks, fast));
    return *st;
  };
  std::string layout =
      blocks == 1 ? "per-column" : std::to_string(blocks) + " row-blocks";
  Shape shape{
      "qmatmul M=" + std::to_string(m) + " K=6144 N=" + std::to_string(n) +
          " " + layout + (fast ? ", --numerics=fast" : ""),
      dot       ? LimitKind::Bf16DotPeak
      : prefill ? LimitKind::FmaPeak
                : LimitKind::ReadBandwidth,
      prefill ? 2.0 * m * n * k : double(k * n),
      dot       ? "of vdpbf16ps peak (paired-row schedule)"
      : prefill ? "of f32 FMA peak"
                : "of DRAM read (int8 weights, " +
                      std::to_string(dramCopies(k * n)) + " copies in turn)",
      prefill ? "oneDNN bf16 matmul, weights pre-dequantized"
      : fast  ? "oneDNN s8 matmul, x quantized per call"
              : "dequantize to f32 + OpenBLAS " +
                   std::string(m == 1 ? "sgemv" : "sgemm")};
  auto nova = [get, prefill] {
    State &s = get();
    callOrDie(*s.kernel, "qmatmul",
              {s.x->data, prefill ? s.w->q.data : s.w->nextCopy(), s.w->s.data,
               s.y->data});
  };
  auto peer = [get, k, m, n, blocks, prefill, fast] {
    State &s = get();
    if (fast && !prefill) {
      if (!s.int8)
        s.int8 = std::make_unique<Int8Peer>(k, n, s.w->q.data);
      s.int8->run(static_cast<uint16_t *>(s.x->data), s.w->nextCopy(),
                  s.w->sData(), static_cast<uint16_t *>(s.y->data));
      return;
    }
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
      xf[i] = bf16ToF32(static_cast<uint16_t *>(s.x->data)[i]);
    float *wf = scratchF32(k * n);
    dequantizeF32(s.w->nextCopy(), s.w->sData(), k, n, blocks, wf);
    auto *yf = static_cast<float *>(s.yf->data);
    if (m == 1)
      cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.0f, wf, n, xf, 1, 0.0f, yf,
                  1);
    else
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, xf,
                  k, wf, n, 0.0f, yf, n);
    auto *y = static_cast<uint16_t *>(s.y->data);
    for (int64_t i = 0; i < m * n; ++i)
      y[i] = f32ToBf16(yf[i]);
  };
  addShape(
      std::move(shape), [get] { get(); }, nova, peer);
}

//===----------------------------------------------------------------------===//
// Grok-shaped MoE layer: 8 experts, top-2, D = 6144, F = 32768
//===----------------------------------------------------------------------===//

constexpr int64_t kD = 6144, kF = 32768, kE = 8;

std::string moeModule(int64_t t) {
  auto ty = [](std::vector<int64_t> shape, const char *e) {
    std::string s = "tensor<";
    for (int64_t d : shape)
      s += std::to_string(d) + "x";
    return s + e + ">";
  };
  std::string x = ty({t, kD}, "bf16"), xf = ty({t, kD}, "f32"),
              r = ty({kD, kE}, "f32"), l = ty({t, kE}, "f32"),
              g = ty({t, 2}, "f32"), i = ty({t, 2}, "i32"),
              wu = ty({kE, kD, kF}, "i8"), su = ty({kE, 1, kF}, "bf16"),
              wd = ty({kE, kF, kD}, "i8"), sd = ty({kE, 8, kD}, "bf16"),
              h = ty({t, 2, kF}, "bf16"), hf = ty({t, 2, kF}, "f32"),
              o = ty({t, 2, kD}, "f32");
  return "func.func @moe(%x: " + x + ", %router: " + r + ", %wv: " + wu +
         ", %sv: " + su + ", %wg: " + wu + ", %sg: " + su + ", %w1: " + wd +
         ", %s1: " + sd + ") -> " + x + " {\n" +
         "  %xf = arith.extf %x : " + x + " to " + xf + "\n" +
         "  %logits = nova.matmul %xf, %router : " + xf + ", " + r + " -> " +
         l + "\n" + "  %g, %i = nova.moe_route %logits top 2 : " + l + " -> " +
         g + ", " + i + "\n" +
         "  %hv = nova.expert_qmatmul %x, %i, %wv, %sv layout <per_column> "
         ": " +
         x + ", " + i + ", " + wu + ", " + su + " -> " + h + "\n" +
         "  %hg = nova.expert_qmatmul %x, %i, %wg, %sg layout <per_column> "
         ": " +
         x + ", " + i + ", " + wu + ", " + su + " -> " + h + "\n" +
         "  %hvf = arith.extf %hv : " + h + " to " + hf + "\n" +
         "  %hgf = arith.extf %hg : " + h + " to " + hf + "\n" +
         "  %a = nova.gelu %hgf : " + hf + "\n" +
         "  %z = arith.mulf %hvf, %a : " + hf + "\n" +
         "  %o = nova.expert_qmatmul %z, %i, %w1, %s1 layout <row_blocks = 8> "
         ": " +
         hf + ", " + i + ", " + wd + ", " + sd + " -> " + o + "\n" +
         "  %y = nova.moe_combine %o, %g : " + o + ", " + g + " -> " + x +
         "\n  return %y : " + x + "\n}\n";
}

struct MoeWeights {
  Buffer router, wv, sv, wg, sg, w1, s1;
  MoeWeights()
      : router(kD * kE * 4), wv(kE * kD * kF), sv(kE * kF * 2),
        wg(kE * kD * kF), sg(kE * kF * 2), w1(kE * kF * kD),
        s1(kE * 8 * kD * 2) {
    fillF32(router, 11, 0.05f);
    fillI8(wv, 12);
    fillBf16(sv, 13, 0.01f);
    fillI8(wg, 14);
    fillBf16(sg, 15, 0.01f);
    fillI8(w1, 16);
    fillBf16(s1, 17, 0.01f);
  }
};

MoeWeights &moeWeights() {
  static MoeWeights w;
  return w;
}

float gelu(float v) {
  // Grok-1's tanh approximation.
  return 0.5f * v *
         (1.0f + std::tanh(0.7978845608f * (v + 0.044715f * v * v * v)));
}

/// What a user without Nova would write: route in f32, then per expert that
/// has tokens, dequantize its three weights to f32 and run OpenBLAS sgemm on
/// the gathered rows; combine with the gates.
void moePeer(const uint16_t *x, int64_t t, uint16_t *y) {
  MoeWeights &w = moeWeights();
  std::vector<float> xf(t * kD), logits(t * kE);
  for (int64_t i = 0; i < t * kD; ++i)
    xf[i] = bf16ToF32(x[i]);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, kE, kD, 1.0f,
              xf.data(), kD, static_cast<float *>(w.router.data), kE, 0.0f,
              logits.data(), kE);
  std::vector<std::vector<std::pair<int64_t, float>>> byExpert(kE);
  for (int64_t i = 0; i < t; ++i) {
    float *row = &logits[i * kE];
    float mx = *std::max_element(row, row + kE), sum = 0;
    std::vector<float> p(kE);
    for (int64_t e = 0; e < kE; ++e)
      sum += p[e] = std::exp(row[e] - mx);
    std::vector<int64_t> idx(kE);
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) {
      return p[a] > p[b] || (p[a] == p[b] && a < b);
    });
    for (int j = 0; j < 2; ++j)
      byExpert[idx[j]].push_back({i, p[idx[j]] / sum});
  }
  std::vector<float> out(t * kD, 0.0f);
  float *wf = scratchF32(kD * kF);
  for (int64_t e = 0; e < kE; ++e) {
    auto &slots = byExpert[e];
    int64_t rows = static_cast<int64_t>(slots.size());
    if (rows == 0)
      continue;
    std::vector<float> xe(rows * kD), hv(rows * kF), hg(rows * kF),
        o(rows * kD);
    for (int64_t r = 0; r < rows; ++r)
      std::copy_n(&xf[slots[r].first * kD], kD, &xe[r * kD]);
    auto up = [&](Buffer &q, Buffer &s, std::vector<float> &h) {
      dequantizeF32(static_cast<int8_t *>(q.data) + e * kD * kF,
                    static_cast<uint16_t *>(s.data) + e * kF, kD, kF, 1, wf);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, kF, kD, 1.0f,
                  xe.data(), kD, wf, kF, 0.0f, h.data(), kF);
    };
    up(w.wv, w.sv, hv);
    up(w.wg, w.sg, hg);
    for (int64_t i = 0; i < rows * kF; ++i)
      hv[i] *= gelu(hg[i]);
    dequantizeF32(static_cast<int8_t *>(w.w1.data) + e * kF * kD,
                  static_cast<uint16_t *>(w.s1.data) + e * 8 * kD, kF, kD, 8,
                  wf);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, kD, kF, 1.0f,
                hv.data(), kF, wf, kD, 0.0f, o.data(), kD);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t d = 0; d < kD; ++d)
        out[slots[r].first * kD + d] += slots[r].second * o[r * kD + d];
  }
  for (int64_t i = 0; i < t * kD; ++i)
    y[i] = f32ToBf16(out[i]);
}

void addMoe(int64_t t) {
  struct State {
    std::unique_ptr<Buffer> x, y;
    std::unique_ptr<backends::CompiledCpuModule> kernel;
  };
  auto st = std::make_shared<State>();
  auto get = [st, t]() -> State & {
    if (!st->kernel) {
      moeWeights();
      st->x = std::make_unique<Buffer>(t * kD * 2);
      fillBf16(*st->x, 21, 1.0f);
      st->y = std::make_unique<Buffer>(t * kD * 2);
      st->kernel = compile(moeModule(t));
    }
    return *st;
  };
  // Expert weight bytes read: the selected experts' three matrices (int8).
  // At one token that is two experts; at 64 tokens every expert is
  // (practically) selected, and the layer is compute-bound.
  double expertBytes = 3.0 * kD * kF;
  bool one = t == 1;
  // Many slots take the blocked expert schedule, paired rows (vdpbf16ps)
  // on a BF16 tier.
  bool dot = !one && targetHasBf16Dot();
  Shape shape{"MoE layer T=" + std::to_string(t) +
                  " (8 experts, top-2, D=6144, F=32768)",
              one   ? LimitKind::ReadBandwidth
              : dot ? LimitKind::Bf16DotPeak
                    : LimitKind::FmaPeak,
              one ? 2 * expertBytes : 2.0 * t * 2 * 3 * kD * kF,
              one   ? "of DRAM read (2 selected experts' weights)"
              : dot ? "of vdpbf16ps peak (paired-row schedule)"
                    : "of f32 FMA peak",
              "route + dequantize selected experts + OpenBLAS sgemm"};
  auto nova = [get] {
    State &s = get();
    MoeWeights &w = moeWeights();
    callOrDie(*s.kernel, "moe",
              {s.x->data, w.router.data, w.wv.data, w.sv.data, w.wg.data,
               w.sg.data, w.w1.data, w.s1.data, s.y->data});
  };
  auto peer = [get, t] {
    State &s = get();
    moePeer(static_cast<uint16_t *>(s.x->data), t,
            static_cast<uint16_t *>(s.y->data));
  };
  addShape(
      std::move(shape), [get] { get(); }, nova, peer);
}

//===----------------------------------------------------------------------===//
// Top-p sampling over V = 131072
//===----------------------------------------------------------------------===//

constexpr int64_t kV = 131072;

std::string sampleModule(int64_t b) {
  std::string bs = std::to_string(b), v = std::to_string(kV);
  std::string l = "tensor<" + bs + "x" + v + "xbf16>",
              f = "tensor<" + bs + "xf32>", tok = "tensor<" + bs + "xi32>",
              p = "tensor<" + bs + "xbf16>", ids = "tensor<" + bs + "x8xi32>",
              ps = "tensor<" + bs + "x8xbf16>";
  return "func.func @sample(%l: " + l + ", %t: " + f + ", %p: " + f +
         ", %seed: tensor<i64>, %step: tensor<i32>) -> (" + tok + ", " + p +
         ", " + ids + ", " + ps +
         ") {\n  %tok, %prob, %ids, %probs = nova.sample %l, %t, %p seed "
         "%seed step %step top_k 8 : (" +
         l + ", " + f + ", " + f + ", tensor<i64>, tensor<i32>) -> (" + tok +
         ", " + p + ", " + ids + ", " + ps + ")\n  return %tok, %prob, %ids, " +
         "%probs : " + tok + ", " + p + ", " + ids + ", " + ps + "\n}\n";
}

/// The nucleus sampler a user without Nova would write, at its fastest: one
/// pass for the probabilities, then `std::nth_element` for the top k
/// (k doubling from 256 until the top k hold top_p of the mass), a sort of
/// those k only, the cumulative cut and one draw.
int64_t nthElementSample(const uint16_t *logits, float temperature, float topP,
                         std::mt19937 &rng) {
  std::vector<float> p(kV);
  float mx = -INFINITY, inv = 1.0f / temperature;
  for (int64_t i = 0; i < kV; ++i)
    mx = std::max(mx, p[i] = bf16ToF32(logits[i]) * inv);
  float sum = 0;
  for (float &v : p)
    sum += v = std::exp(v - mx);
  std::vector<int32_t> idx(kV);
  std::iota(idx.begin(), idx.end(), 0);
  auto byProb = [&](int32_t a, int32_t b) { return p[a] > p[b]; };
  float cut = topP * sum;
  for (int64_t k = 256;; k = std::min<int64_t>(2 * k, kV)) {
    std::nth_element(idx.begin(), idx.begin() + (k - 1), idx.end(), byProb);
    std::sort(idx.begin(), idx.begin() + k, byProb);
    float acc = 0;
    int64_t keep = 0;
    while (keep < k && acc < cut)
      acc += p[idx[keep++]];
    if (acc >= cut || k == kV) {
      float u = std::uniform_real_distribution<float>(0, acc)(rng);
      for (int64_t i = 0; i < keep; ++i)
        if ((u -= p[idx[i]]) <= 0)
          return idx[i];
      return idx[keep - 1];
    }
  }
}

/// The floor of any sampler that normalizes: one vectorized pass for the
/// maximum of the scaled logits and one for the sum of exp(x - max), on
/// 16 lanes of AVX-512 (bf16 widened by a shift; exp as 2^n · p(f) with a
/// degree-6 polynomial and vscalefps), the rows staying in L2.
/// 16 bf16 logits widened to f32 and scaled by `inv`.
__attribute__((target("avx512f"))) inline __m512
loadScaled(const uint16_t *logits, __m512 inv) {
  __m512i wide = _mm512_cvtepu16_epi32(
      _mm256_loadu_si256(reinterpret_cast<const __m256i *>(logits)));
  return _mm512_mul_ps(_mm512_castsi512_ps(_mm512_slli_epi32(wide, 16)), inv);
}

__attribute__((target("avx512f"))) float maxSumExp(const uint16_t *logits,
                                                   float temperature) {
  const __m512 inv = _mm512_set1_ps(1.0f / temperature);
  __m512 mx = _mm512_set1_ps(-INFINITY);
  for (int64_t i = 0; i < kV; i += 16)
    mx = _mm512_max_ps(mx, loadScaled(logits + i, inv));
  const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
  const __m512 log2e = _mm512_set1_ps(1.44269504f);
  const float c[] = {1.0f,           0.693147182f,   0.240226507f,
                     0.0555041087f,  0.00961812911f, 0.00133335581f,
                     0.000154035304f};
  __m512 sum = _mm512_setzero_ps();
  for (int64_t i = 0; i < kV; i += 16) {
    __m512 t =
        _mm512_mul_ps(_mm512_sub_ps(loadScaled(logits + i, inv), m), log2e);
    __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT);
    __m512 f = _mm512_sub_ps(t, n);
    __m512 poly = _mm512_set1_ps(c[6]);
    for (int j = 5; j >= 0; --j)
      poly = _mm512_fmadd_ps(poly, f, _mm512_set1_ps(c[j]));
    sum = _mm512_add_ps(sum, _mm512_scalef_ps(poly, n));
  }
  return _mm512_reduce_add_ps(sum);
}

void addSample(int64_t b) {
  struct State {
    std::unique_ptr<Buffer> logits, temperature, topP, seed, step, tok, prob,
        ids, probs;
    std::unique_ptr<backends::CompiledCpuModule> kernel;
    std::mt19937 rng{7};
  };
  auto st = std::make_shared<State>();
  auto get = [st, b]() -> State & {
    if (!st->kernel) {
      st->logits = std::make_unique<Buffer>(b * kV * 2);
      fillBf16(*st->logits, 31, 8.0f);
      st->temperature = std::make_unique<Buffer>(b * 4);
      st->topP = std::make_unique<Buffer>(b * 4);
      for (int64_t i = 0; i < b; ++i) {
        static_cast<float *>(st->temperature->data)[i] = 0.8f;
        static_cast<float *>(st->topP->data)[i] = 0.95f;
      }
      st->seed = std::make_unique<Buffer>(8);
      *static_cast<int64_t *>(st->seed->data) = 42;
      st->step = std::make_unique<Buffer>(4);
      *static_cast<int32_t *>(st->step->data) = 0;
      st->tok = std::make_unique<Buffer>(b * 4);
      st->prob = std::make_unique<Buffer>(b * 2);
      st->ids = std::make_unique<Buffer>(b * 8 * 4);
      st->probs = std::make_unique<Buffer>(b * 8 * 2);
      st->kernel = compile(sampleModule(b));
    }
    return *st;
  };
  Shape shape{"top-p sample V=131072 batch " + std::to_string(b),
              LimitKind::ReadBandwidth, double(b * kV * 2),
              "of DRAM read (logits)",
              "softmax + std::nth_element top-k + cumulative cut"};
  shape.referenceNote = "one vectorized max+sum-exp pass (AVX-512, 1 thread)";
  auto nova = [get] {
    State &s = get();
    callOrDie(*s.kernel, "sample",
              {s.logits->data, s.temperature->data, s.topP->data, s.seed->data,
               s.step->data, s.tok->data, s.prob->data, s.ids->data,
               s.probs->data});
  };
  auto peer = [get, b] {
    State &s = get();
    for (int64_t i = 0; i < b; ++i)
      benchmark::DoNotOptimize(
          nthElementSample(static_cast<uint16_t *>(s.logits->data) + i * kV,
                           0.8f, 0.95f, s.rng));
  };
  auto reference = [get, b] {
    State &s = get();
    for (int64_t i = 0; i < b; ++i)
      benchmark::DoNotOptimize(
          maxSumExp(static_cast<uint16_t *>(s.logits->data) + i * kV, 0.8f));
  };
  bool avx512 = __builtin_cpu_supports("avx512f");
  if (!avx512)
    shape.referenceNote += " not measured: no AVX-512 here";
  addShape(
      std::move(shape), [get] { get(); }, nova, peer,
      avx512 ? std::function<void()>(reference) : nullptr);
}

void registerAll() {
  for (int64_t m : {1, 8, 64, 512})
    for (int64_t n : {6144, 32768})
      for (int64_t blocks : {1, 8})
        addQMatmul(m, n, blocks);
  for (int64_t m : {1, 64})
    for (int64_t n : {6144, 32768})
      for (int64_t blocks : {1, 8})
        addQMatmul(m, n, blocks, /*fast=*/true);
  for (int64_t t : {1, 64})
    addMoe(t);
  for (int64_t b : {1, 32})
    addSample(b);
}

} // namespace

int main(int argc, char **argv) {
  std::string markdown;
  std::vector<char *> args;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i];
    std::string error;
    if (a.rfind("--markdown=", 0) == 0) {
      markdown = a.substr(11);
    } else if (a.rfind("--target-cpu=", 0) == 0) {
      if (!setTargetCpu(a.substr(13), error)) {
        std::fprintf(stderr, "nova-bench: --target-cpu: %s\n", error.c_str());
        return 1;
      }
    } else
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
  MedianReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  remeasureLimits();
  for (Shape &s : shapes()) {
    s.novaSeconds = reporter.median(s.name, "nova");
    s.peerSeconds = reporter.median(s.name, "peer");
    s.referenceSeconds = reporter.median(s.name, "reference");
  }
  if (!printTable(table(), markdown, "nova-bench"))
    return 1;
  // The compiled kernels go before LLVM's statics do.
  benchmark::ClearRegisteredBenchmarks();
  benchmark::Shutdown();
  return 0;
}
