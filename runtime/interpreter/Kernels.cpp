//===- Kernels.cpp - Reference semantics of the Nova ops ------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Written from the op descriptions, simply: plain loops, double precision
// where the semantics leave precision open, exact f32 emulation (f32()) where
// they prescribe f32 steps, one rounding to the result type.
//
//===----------------------------------------------------------------------===//

#include "runtime/interpreter/Kernels.h"

#include "nova/runtime/Int8Activations.h"
#include "nova/runtime/Philox.h"
#include "nova/runtime/SampleMath.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

using namespace nova;
using namespace nova::interp;

const char *nova::interp::elemName(Elem e) {
  switch (e) {
  case Elem::F32:
    return "f32";
  case Elem::BF16:
    return "bf16";
  case Elem::F16:
    return "f16";
  case Elem::I1:
    return "i1";
  case Elem::I8:
    return "i8";
  case Elem::I32:
    return "i32";
  case Elem::I64:
    return "i64";
  }
  return "?";
}

int64_t nova::interp::minInt(Elem e) {
  switch (e) {
  case Elem::I1:
    // i1 holds 0 and 1 (-1 as signed): 1 / 1 is no overflow.
    return 0;
  case Elem::I8:
    return INT8_MIN;
  case Elem::I32:
    return INT32_MIN;
  default:
    return INT64_MIN;
  }
}

int64_t nova::interp::wrapInt(Elem e, int64_t v) {
  switch (e) {
  case Elem::I1:
    return v & 1;
  case Elem::I8:
    return static_cast<int8_t>(static_cast<uint64_t>(v));
  case Elem::I32:
    return static_cast<int32_t>(static_cast<uint64_t>(v));
  default:
    return v;
  }
}

//===----------------------------------------------------------------------===//
// Quantization (§1)
//===----------------------------------------------------------------------===//

namespace {
/// Index arithmetic for a weight [B..., K, N] and its scales [B..., G, C].
struct ScaleIndexer {
  int64_t k, n, g, c, rowsPerBlock;
  ScaleIndexer(const std::vector<int64_t> &weight,
               const std::vector<int64_t> &scales) {
    size_t r = weight.size();
    k = weight[r - 2];
    n = weight[r - 1];
    g = scales[r - 2];
    c = scales[r - 1];
    rowsPerBlock = k / g;
  }
  /// Scale index of weight element (batch b, row row, column col).
  int64_t operator()(int64_t b, int64_t row, int64_t col) const {
    return (b * g + row / rowsPerBlock) * c + (c == 1 ? 0 : col);
  }
};
} // namespace

/// Calls fn(element index, scale index) for every element of a weight.
template <typename Fn>
static void forEachWeightElement(const Tensor &weight, const Tensor &scales,
                                 Fn fn) {
  ScaleIndexer idx(weight.shape, scales.shape);
  int64_t batch = weight.numElements() / (idx.k * idx.n);
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t r = 0; r < idx.k; ++r)
      for (int64_t c = 0; c < idx.n; ++c)
        fn((b * idx.k + r) * idx.n + c, idx(b, r, c));
}

Tensor nova::interp::quantize(const Tensor &x, const Tensor &scales) {
  Tensor out = Tensor::make(Elem::I8, x.shape);
  forEachWeightElement(x, scales, [&](int64_t e, int64_t s) {
    double v = f32(f32(x.f[e]) / f32(scales.f[s]));
    // NaN quantizes to 0; otherwise round half to even and saturate.
    out.i[e] = std::isnan(v) ? 0
                             : static_cast<int64_t>(std::clamp(
                                   std::nearbyint(v), -128.0, 127.0));
  });
  return out;
}

Tensor nova::interp::dequantize(const Tensor &q, const Tensor &scales,
                                Elem result) {
  Tensor out = Tensor::make(result, q.shape);
  // int8 x (bf16|f16|f32) is exact in double: one rounding.
  forEachWeightElement(q, scales, [&](int64_t e, int64_t s) {
    out.f[e] = roundTo(result, static_cast<double>(q.i[e]) * scales.f[s]);
  });
  return out;
}

//===----------------------------------------------------------------------===//
// Matmuls
//===----------------------------------------------------------------------===//

Tensor nova::interp::matmul(const Tensor &lhs, const Tensor &rhs,
                            bool transposeRhs, Elem result) {
  int64_t k = lhs.shape.back();
  int64_t n = transposeRhs ? rhs.shape[0] : rhs.shape[1];
  int64_t m = lhs.numElements() / k;
  std::vector<int64_t> shape(lhs.shape.begin(), lhs.shape.end() - 1);
  shape.push_back(n);
  Tensor out = Tensor::make(result, shape);
  for (int64_t row = 0; row < m; ++row)
    for (int64_t col = 0; col < n; ++col) {
      double acc = 0;
      for (int64_t kk = 0; kk < k; ++kk)
        acc += lhs.get(row * k + kk) *
               rhs.f[transposeRhs ? col * k + kk : kk * n + col];
      out.f[row * n + col] = roundTo(result, acc);
    }
  return out;
}

Tensor nova::interp::qmatmul(const Tensor &x, const Tensor &q,
                             const Tensor &scales, Elem result) {
  Tensor w = dequantize(q, scales, scales.elem);
  return matmul(x, w, /*transposeRhs=*/false, result);
}

Tensor nova::interp::qmatmulInt8(const Tensor &x, const Tensor &q,
                                 const Tensor &scales, Elem result) {
  ScaleIndexer idx(q.shape, scales.shape);
  int64_t k = idx.k, n = idx.n, m = x.numElements() / k;
  int64_t chunk = rt::int8ChunkRows(idx.rowsPerBlock);
  std::vector<int64_t> shape(x.shape.begin(), x.shape.end() - 1);
  shape.push_back(n);
  Tensor out = Tensor::make(result, shape);
  std::vector<int8_t> xq(k);
  std::vector<float> t(n);
  std::vector<int32_t> sum(n);
  for (int64_t row = 0; row < m; ++row) {
    float a = 0.0f;
    for (int64_t kk = 0; kk < k; ++kk) {
      float v = std::fabs(static_cast<float>(x.get(row * k + kk)));
      a = std::isnan(v) || std::isnan(a)
              ? std::numeric_limits<float>::quiet_NaN()
              : std::max(a, v);
    }
    rt::RowQuantization rq = rt::int8RowQuantization(a);
    for (int64_t kk = 0; kk < k; ++kk)
      xq[kk] =
          rt::int8Activation(static_cast<float>(x.get(row * k + kk)), rq.r);
    std::fill(t.begin(), t.end(), 0.0f);
    for (int64_t c0 = 0; c0 < k; c0 += chunk) {
      std::fill(sum.begin(), sum.end(), 0);
      for (int64_t kk = c0; kk < c0 + chunk; ++kk)
        for (int64_t col = 0; col < n; ++col)
          sum[col] += int32_t(xq[kk]) * int32_t(q.i[kk * n + col]);
      for (int64_t col = 0; col < n; ++col)
        t[col] =
            std::fma(static_cast<float>(sum[col]),
                     static_cast<float>(scales.f[idx(0, c0, col)]), t[col]);
    }
    for (int64_t col = 0; col < n; ++col)
      out.f[row * n + col] = roundTo(result, t[col] * rq.d);
  }
  return out;
}

bool nova::interp::expertQMatmul(const Tensor &x, const Tensor &experts,
                                 const Tensor &q, const Tensor &scales,
                                 Elem result, Tensor &out, std::string &error) {
  int64_t m = experts.shape[0], k = experts.shape[1];
  int64_t numExperts = q.shape[0], kk = q.shape[1], n = q.shape[2];
  bool perSlot = x.shape.size() == 3;
  Tensor w = dequantize(q, scales, scales.elem);
  out = Tensor::make(result, {m, k, n});
  for (int64_t row = 0; row < m; ++row)
    for (int64_t slot = 0; slot < k; ++slot) {
      int64_t e = experts.i[row * k + slot];
      // -1 is no expert: the row stays +0 and its input is not read.
      if (e == -1)
        continue;
      if (e < 0 || e >= numExperts) {
        error = "expert index " + std::to_string(e) + " of token " +
                std::to_string(row) + " slot " + std::to_string(slot) +
                " is neither -1 (no expert) nor in [0, " +
                std::to_string(numExperts) + ")";
        return false;
      }
      int64_t xBase = perSlot ? (row * k + slot) * kk : row * kk;
      for (int64_t col = 0; col < n; ++col) {
        double acc = 0;
        for (int64_t j = 0; j < kk; ++j)
          acc += x.get(xBase + j) * w.f[(e * kk + j) * n + col];
        out.f[(row * k + slot) * n + col] = roundTo(result, acc);
      }
    }
  return true;
}

//===----------------------------------------------------------------------===//
// Mixture of experts (§3)
//===----------------------------------------------------------------------===//

/// Orders (value, index) descending by value, NaN above every number, ties
/// (and NaNs among themselves) by ascending index: JAX lax.top_k's order.
static bool ranksBefore(double a, int64_t ia, double b, int64_t ib) {
  bool na = std::isnan(a), nb = std::isnan(b);
  if (na || nb)
    return na && nb ? ia < ib : na;
  if (a != b)
    return a > b;
  return ia < ib;
}

bool nova::interp::moeRoute(const Tensor &logits, const Tensor *mask,
                            const Tensor *forced, int64_t k, bool renormalize,
                            Tensor &gates, Tensor &indices,
                            std::string &error) {
  int64_t e = logits.shape.back();
  int64_t rows = logits.numElements() / e;
  std::vector<int64_t> shape(logits.shape.begin(), logits.shape.end() - 1);
  shape.push_back(k);
  gates = Tensor::make(Elem::F32, shape);
  indices = Tensor::make(Elem::I32, shape);
  std::vector<double> p(e);
  std::vector<int64_t> order(e);
  for (int64_t r = 0; r < rows; ++r) {
    // A masked token selects no expert: index -1, gate 0 (already 0).
    if (mask && mask->i[r] == 0) {
      std::fill_n(&indices.i[r * k], k, -1);
      continue;
    }
    const double *l = &logits.f[r * e];
    double m = -INFINITY;
    bool anyNaN = false;
    for (int64_t j = 0; j < e; ++j) {
      anyNaN |= std::isnan(l[j]);
      m = std::max(m, l[j]);
    }
    // f32 softmax over the experts (§3.1).
    double sum = 0;
    for (int64_t j = 0; j < e; ++j) {
      p[j] = anyNaN ? NAN : f32(std::exp(f32(l[j] - m)));
      sum += p[j];
    }
    sum = f32(sum);
    for (int64_t j = 0; j < e; ++j)
      p[j] = f32(p[j] / sum);
    if (forced) {
      // Replay: the given experts, in the given order; -1 is no expert.
      for (int64_t j = 0; j < k; ++j) {
        int64_t id = forced->i[r * k + j];
        if (id < -1 || id >= e) {
          error = "forced expert " + std::to_string(id) + " of token " +
                  std::to_string(r) + " slot " + std::to_string(j) +
                  " is neither -1 (no expert) nor in [0, " + std::to_string(e) +
                  ")";
          return false;
        }
        order[j] = id;
      }
    } else {
      std::iota(order.begin(), order.end(), 0);
      std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
        return ranksBefore(p[a], a, p[b], b);
      });
    }
    // The renormalizing sum in slot order, without the slots of no expert.
    double selected = 0;
    for (int64_t j = 0; j < k; ++j)
      if (order[j] >= 0)
        selected += p[order[j]];
    selected = f32(selected);
    for (int64_t j = 0; j < k; ++j) {
      indices.i[r * k + j] = order[j];
      if (order[j] < 0)
        continue; // gate 0
      double g = p[order[j]];
      gates.f[r * k + j] = renormalize ? f32(g / selected) : g;
    }
  }
  return true;
}

Tensor nova::interp::moeCombine(const Tensor &outputs, const Tensor &gates,
                                Elem result) {
  int64_t m = outputs.shape[0], k = outputs.shape[1], d = outputs.shape[2];
  Tensor out = Tensor::make(result, {m, d});
  for (int64_t row = 0; row < m; ++row)
    for (int64_t col = 0; col < d; ++col) {
      // Gate rounded to the result type, f32 product, f32 sum in slot
      // order, one final rounding (§3.3 step 6).
      double acc = 0;
      for (int64_t j = 0; j < k; ++j) {
        double g = roundTo(result, gates.f[row * k + j]);
        acc = f32(acc + f32(g * outputs.get((row * k + j) * d + col)));
      }
      out.f[row * d + col] = roundTo(result, acc);
    }
  return out;
}

//===----------------------------------------------------------------------===//
// Normalization, activations, softmax, embedding
//===----------------------------------------------------------------------===//

Tensor nova::interp::rmsNorm(const Tensor &x, const Tensor &scale, double eps) {
  int64_t d = x.shape.back();
  int64_t rows = x.numElements() / d;
  Tensor out = Tensor::make(x.elem, x.shape);
  for (int64_t r = 0; r < rows; ++r) {
    double ms = 0;
    for (int64_t j = 0; j < d; ++j)
      ms += x.f[r * d + j] * x.f[r * d + j];
    ms /= static_cast<double>(d);
    double inv = 1.0 / std::sqrt(ms + eps);
    for (int64_t j = 0; j < d; ++j)
      out.f[r * d + j] = roundTo(x.elem, scale.f[j] * (x.f[r * d + j] * inv));
  }
  return out;
}

Tensor nova::interp::gelu(const Tensor &x) {
  Tensor out = Tensor::make(x.elem, x.shape);
  const double c = std::sqrt(2.0 / M_PI);
  for (size_t j = 0; j < x.f.size(); ++j) {
    double v = x.f[j];
    out.f[j] = roundTo(
        x.elem, 0.5 * v * (1.0 + std::tanh(c * (v + 0.044715 * v * v * v))));
  }
  return out;
}

Tensor nova::interp::silu(const Tensor &x) {
  Tensor out = Tensor::make(x.elem, x.shape);
  for (size_t j = 0; j < x.f.size(); ++j)
    out.f[j] = roundTo(x.elem, x.f[j] / (1.0 + std::exp(-x.f[j])));
  return out;
}

Tensor nova::interp::softmax(const Tensor &x, int64_t axis) {
  Tensor out = Tensor::make(x.elem, x.shape);
  int64_t n = x.shape[axis];
  int64_t inner = 1;
  for (size_t j = axis + 1; j < x.shape.size(); ++j)
    inner *= x.shape[j];
  int64_t outer = x.numElements() / (n * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t in = 0; in < inner; ++in) {
      auto at = [&](int64_t j) { return (o * n + j) * inner + in; };
      double m = -INFINITY;
      for (int64_t j = 0; j < n; ++j)
        m = std::max(m, x.f[at(j)]);
      double sum = 0;
      for (int64_t j = 0; j < n; ++j)
        sum += std::exp(x.f[at(j)] - m);
      for (int64_t j = 0; j < n; ++j)
        out.f[at(j)] = roundTo(x.elem, std::exp(x.f[at(j)] - m) / sum);
    }
  return out;
}

Tensor nova::interp::embedding(const Tensor &table, const Tensor &ids,
                               Elem result) {
  int64_t v = table.shape[0], d = table.shape[1];
  std::vector<int64_t> shape = ids.shape;
  shape.push_back(d);
  Tensor out = Tensor::make(result, shape);
  for (int64_t t = 0; t < ids.numElements(); ++t) {
    int64_t id = std::clamp<int64_t>(ids.i[t], 0, v - 1);
    for (int64_t j = 0; j < d; ++j)
      out.f[t * d + j] = roundTo(result, table.f[id * d + j]);
  }
  return out;
}

//===----------------------------------------------------------------------===//
// Attention (§0)
//===----------------------------------------------------------------------===//

Tensor nova::interp::rope(const Tensor &x, const Tensor &positions,
                          double base) {
  int64_t b = x.shape[0], t = x.shape[1], h = x.shape[2], dh = x.shape[3];
  int64_t half = dh / 2;
  // Grok-1's f32 pipeline: inv_freq = 1 / base^(2j/Dh), phase = pos * inv.
  std::vector<double> inv(half);
  for (int64_t j = 0; j < half; ++j)
    inv[j] = f32(1.0 / f32(std::pow(base, f32(2.0 * j / dh))));
  Tensor out = Tensor::make(x.elem, x.shape);
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t ti = 0; ti < t; ++ti) {
      double pos = f32(static_cast<double>(positions.i[bi * t + ti]));
      for (int64_t hi = 0; hi < h; ++hi) {
        const double *row = &x.f[((bi * t + ti) * h + hi) * dh];
        double *dst = &out.f[((bi * t + ti) * h + hi) * dh];
        for (int64_t i = 0; i < dh; ++i) {
          double phase = f32(pos * inv[i % half]);
          double c = f32(std::cos(phase)), s = f32(std::sin(phase));
          double rotated = i < half ? -row[i + half] : row[i - half];
          dst[i] = roundTo(x.elem, f32(f32(row[i] * c) + f32(rotated * s)));
        }
      }
    }
  return out;
}

Tensor nova::interp::kvCacheUpdate(const Tensor &cache, const Tensor &update,
                                   const Tensor &positions) {
  Tensor out = cache;
  int64_t b = cache.shape[0], s = cache.shape[1];
  int64_t row = cache.shape[2] * cache.shape[3];
  int64_t t = update.shape[1];
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t ti = 0; ti < t; ++ti) {
      int64_t p = positions.i[bi] + ti;
      if (p < 0 || p >= s)
        continue; // dropped (see the op description)
      std::copy_n(&update.f[(bi * t + ti) * row], row,
                  &out.f[(bi * s + p) * row]);
    }
  return out;
}

Tensor nova::interp::attention(const Tensor &q, const Tensor &k,
                               const Tensor &v, const Tensor &positions,
                               double scale, std::optional<double> cap) {
  int64_t b = q.shape[0], t = q.shape[1], hq = q.shape[2], dh = q.shape[3];
  int64_t s = k.shape[1], hkv = k.shape[2];
  int64_t group = hq / hkv;
  Elem e = q.elem;
  Tensor out = Tensor::make(e, q.shape);
  std::vector<double> logits(s), weights(s);
  const double masked = f32(-1e30);
  for (int64_t bi = 0; bi < b; ++bi)
    for (int64_t ti = 0; ti < t; ++ti) {
      int64_t p = positions.i[bi] + ti;
      for (int64_t h = 0; h < hq; ++h) {
        int64_t kvh = h / group;
        const double *qr = &q.f[((bi * t + ti) * hq + h) * dh];
        double m = -INFINITY;
        for (int64_t si = 0; si < s; ++si) {
          const double *kr = &k.f[((bi * s + si) * hkv + kvh) * dh];
          double dot = 0;
          for (int64_t d = 0; d < dh; ++d)
            dot += qr[d] * kr[d];
          double l = f32(f32(roundTo(e, dot)) * scale);
          if (cap)
            l = f32(*cap * f32(std::tanh(f32(l / *cap))));
          if (si > p)
            l = masked;
          logits[si] = l;
          m = std::max(m, l);
        }
        double sum = 0;
        for (int64_t si = 0; si < s; ++si) {
          weights[si] = f32(std::exp(f32(logits[si] - m)));
          sum += weights[si];
        }
        sum = f32(sum);
        for (int64_t si = 0; si < s; ++si)
          weights[si] = roundTo(e, f32(weights[si] / sum));
        double *dst = &out.f[((bi * t + ti) * hq + h) * dh];
        for (int64_t d = 0; d < dh; ++d) {
          double acc = 0;
          for (int64_t si = 0; si < s; ++si)
            acc += weights[si] * v.f[((bi * s + si) * hkv + kvh) * dh + d];
          dst[d] = roundTo(e, acc);
        }
      }
    }
  return out;
}

//===----------------------------------------------------------------------===//
// Sampling (§4)
//===----------------------------------------------------------------------===//

namespace {
struct FormatBits {
  int mantissa, exponent;
};
FormatBits formatOf(Elem e) {
  switch (e) {
  case Elem::BF16:
    return {7, 8};
  case Elem::F16:
    return {10, 5};
  default:
    return {23, 8};
  }
}

/// The maximum of a row (-inf for an empty one) and whether it holds NaN.
std::pair<double, bool> rowMax(const std::vector<double> &x) {
  double m = -INFINITY;
  bool anyNaN = false;
  for (double v : x) {
    m = std::max(m, v);
    anyNaN |= std::isnan(v);
  }
  return {m, anyNaN};
}

/// Sampling's softmax terms of a row x with a finite maximum m:
/// e_i = sampleExp(f32(x_i - m)). Returns their integer mass Σ sampleMass(e_i),
/// exact, so that no order of the sum is part of the semantics.
uint64_t softmaxTerms(const std::vector<double> &x, double m,
                      std::vector<float> &terms) {
  uint64_t total = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    terms[i] = rt::sampleExp(static_cast<float>(x[i]) - static_cast<float>(m));
    total += rt::sampleMass(terms[i]);
  }
  return total;
}

/// probs_i = round_T(e_i · (1 / (2^-40 · W))) with W the row's integer mass;
/// every probability NaN for a row with NaN or without a finite maximum.
void softmaxRow(const std::vector<double> &x, Elem e, std::vector<double> &p,
                std::vector<float> &terms) {
  auto [m, anyNaN] = rowMax(x);
  if (anyNaN || !std::isfinite(m)) {
    std::fill(p.begin(), p.end(), NAN);
    return;
  }
  uint64_t total = softmaxTerms(x, m, terms);
  double r = 1.0 / std::ldexp(static_cast<double>(total), -rt::kSampleMassBits);
  for (size_t i = 0; i < x.size(); ++i)
    p[i] = roundTo(e, static_cast<double>(terms[i]) * r);
}

/// Step 3's value threshold v* for the scaled, masked row x with
/// p = round_T(top_p); none when nothing is filtered. With the integer
/// masses w_i of the row's softmax terms and N = ceil(round_T(1 - p) · Σ w),
/// v* is the smallest value with Σ_{x_i ≤ v*} w_i ≥ N.
std::optional<double> nucleusThreshold(const std::vector<double> &x, double p,
                                       Elem e, std::vector<float> &terms,
                                       std::vector<int64_t> &order) {
  auto [m, anyNaN] = rowMax(x);
  if (p <= 0) {
    if (anyNaN)
      return std::nullopt;
    return m; // greedy: the maximum and its ties
  }
  if (!(p < 1) || anyNaN || !std::isfinite(m))
    return std::nullopt;
  uint64_t total = softmaxTerms(x, m, terms);
  uint64_t need =
      rt::nucleusNeed(static_cast<float>(roundTo(e, 1.0 - p)), total);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](int64_t a, int64_t c) { return x[a] < x[c]; });
  uint64_t mass = 0;
  int64_t v = static_cast<int64_t>(x.size());
  for (int64_t i = 0; i < v;) {
    int64_t j = i;
    while (j < v && x[order[j]] == x[order[i]])
      mass += rt::sampleMass(terms[order[j++]]);
    if (mass >= need)
      return x[order[i]];
    i = j;
  }
  return std::nullopt; // need ≤ the total: not reached
}

/// nova.top_p_filter of one row x (values of type e) in place, with the
/// unrounded top_p: the one implementation of the filter, for both
/// nova.top_p_filter and step 3 of nova.sample.
void filterRow(std::vector<double> &x, double topP, Elem e,
               std::vector<float> &pi, std::vector<int64_t> &order) {
  std::optional<double> threshold =
      nucleusThreshold(x, roundTo(e, topP), e, pi, order);
  if (!threshold)
    return;
  const double maskValue = roundTo(e, -1e10);
  for (double &v : x)
    if (v < *threshold)
      v = maskValue;
}
} // namespace

Tensor nova::interp::topPFilter(const Tensor &logits, const Tensor &topP) {
  int64_t b = logits.shape[0], v = logits.shape[1];
  Tensor out = Tensor::make(logits.elem, logits.shape);
  std::vector<double> x(v);
  std::vector<float> pi(v);
  std::vector<int64_t> order(v);
  for (int64_t row = 0; row < b; ++row) {
    std::copy_n(&logits.f[row * v], v, x.begin());
    filterRow(x, topP.f[row], logits.elem, pi, order);
    std::copy(x.begin(), x.end(), &out.f[row * v]);
  }
  return out;
}

SampleResult nova::interp::sample(const Tensor &logits,
                                  const Tensor &temperature, const Tensor &topP,
                                  const Tensor *mask, const Tensor *noise,
                                  const Tensor *seed, const Tensor *step,
                                  int64_t topK, const Tensor *rowSeeds,
                                  bool stages) {
  int64_t b = logits.shape[0], v = logits.shape[1];
  Elem e = logits.elem;
  SampleResult r;
  r.token = Tensor::make(Elem::I32, {b});
  r.prob = Tensor::make(e, {b});
  r.topIds = Tensor::make(Elem::I32, {b, topK});
  r.topProbs = Tensor::make(e, {b, topK});
  if (stages)
    r.scaled = r.masked = r.filtered = Tensor::make(e, {b, v});
  // Writes row `row` of a stage result.
  auto record = [&](Tensor &stage, int64_t row, const std::vector<double> &x) {
    if (stages)
      std::copy(x.begin(), x.end(), &stage.f[row * v]);
  };
  const double maskValue = roundTo(e, -1e10);
  FormatBits bits = formatOf(e);
  std::vector<double> x(v), probs(v);
  std::vector<float> pi(v);
  std::vector<int64_t> order(v);
  for (int64_t row = 0; row < b; ++row) {
    // 1. Temperature, in the logits' type (f32 division, then T). A
    // temperature <= 0 in T is greedy decoding: the logits unscaled, no
    // nucleus filter, no noise.
    double t = roundTo(e, temperature.f[row]);
    bool greedy = t <= 0;
    for (int64_t i = 0; i < v; ++i)
      x[i] = greedy ? logits.f[row * v + i]
                    : roundTo(e, f32(logits.f[row * v + i] / t));
    record(r.scaled, row, x);
    // 2. Mask after the temperature, to a finite -1e10.
    if (mask)
      for (int64_t i = 0; i < v; ++i)
        if (mask->i[row * v + i] == 0)
          x[i] = maskValue;
    record(r.masked, row, x);
    // 3. Nucleus filter: nova.top_p_filter of the row.
    if (!greedy)
      filterRow(x, topP.f[row], e, pi, order);
    record(r.filtered, row, x);
    // 4. Gumbel-argmax, first maximum (of x itself when greedy). The row's
    // key is its row_seeds entry (two's-complement bits) or its index.
    uint64_t rowKey = rowSeeds ? static_cast<uint64_t>(rowSeeds->i[row])
                               : static_cast<uint64_t>(row);
    auto noiseAt = [&](int64_t i) -> double {
      if (greedy)
        return 0;
      if (noise)
        return noise->f[row * v + i];
      uint32_t word = rt::sampleWord(static_cast<uint64_t>(seed->i[0]), rowKey,
                                     static_cast<uint32_t>(step->i[0]),
                                     static_cast<uint32_t>(i));
      return rt::gumbelNoise(word, bits.mantissa, bits.exponent);
    };
    int64_t token = 0;
    double best = NAN;
    for (int64_t i = 0; i < v; ++i) {
      double z = roundTo(e, x[i] + noiseAt(i));
      if (std::isnan(z))
        continue;
      if (std::isnan(best) || z > best) {
        best = z;
        token = i;
      }
    }
    // 5. Probabilities of the filtered logits and the top-k.
    softmaxRow(x, e, probs, pi);
    r.token.i[row] = token;
    r.prob.f[row] = probs[token];
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + topK, order.end(),
                      [&](int64_t a, int64_t c) {
                        return ranksBefore(probs[a], a, probs[c], c);
                      });
    for (int64_t j = 0; j < topK; ++j) {
      r.topIds.i[row * topK + j] = order[j];
      r.topProbs.f[row * topK + j] = probs[order[j]];
    }
  }
  return r;
}
