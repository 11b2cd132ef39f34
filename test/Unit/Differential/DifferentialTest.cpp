//===- DifferentialTest.cpp - Compiled CPU code vs the interpreter --------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Random cases for every Nova op (random shapes, odd and prime sizes, K not
// a multiple of the vector width; random inputs), each compiled through
// nova-cpu-pipeline + the JIT and run on the reference interpreter; results
// must agree within docs/tolerance.md: integers, tokens, expert indices and
// top-k ids exactly, floats within a few ulps of their type plus an f32
// accumulation bound that grows with the reduction length.
//
// NOVA_DIFF_SCALE=N runs N times as many cases (the long mode); the default
// runs 1,315 cases (16 op families, sampling's non-finite and extreme
// inputs, whole small MoE models, padding masks, expert -1 and routing
// replay, nova.top_p_filter, sample stages and batch-independent row
// seeds). Some families also check a property on each backend's outputs
// alone (Case::invariant).
// NOVA_DIFF_SEED changes the random stream.
//
//===----------------------------------------------------------------------===//

#include "runtime/backends/Backends.h"

#include "passes/Passes.h"
#include "passes/Pipelines/Emit.h"

#include "nova/runtime/AtomicFile.h"
#include "nova/runtime/Float.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iomanip>
#include <numeric>
#include <optional>
#include <random>
#include <sstream>
#include <tuple>

using namespace mlir;
namespace rt = ::nova::rt;
using rt::DType;
using rt::HostTensor;

namespace {

//===----------------------------------------------------------------------===//
// Case generation
//===----------------------------------------------------------------------===//

int mantissaBits(DType d);

struct Case {
  std::string name;
  std::string text = ""; // one func.func
  std::vector<HostTensor> inputs = {};
  /// Longest reduction feeding the outputs (for the f32 accumulation bound).
  double reduction = 1;
  /// An extra absolute tolerance for documented approximations (see the
  /// attention case).
  double extra = 0;
  /// Every float output bit-identical to the interpreter's (sampling: its
  /// softmax is defined to the bit, nova/runtime/SampleMath.h).
  bool exact = false;
  /// A property each backend's outputs must have on their own (the zero
  /// rows of expert -1, routing replay, batch-independent row seeds):
  /// empty, or a description of the first violation.
  std::function<std::string(const std::vector<HostTensor> &)> invariant =
      nullptr;
  /// The invariant is a property of the CPU schedules (a sum's order), not
  /// of the op: it is checked on the CPU backend's outputs only.
  bool cpuInvariant = false;
};

std::string typeName(DType d) {
  return std::string(rt::dtypeName(d) == "bool" ? "i1" : rt::dtypeName(d));
}

std::string tensorType(const std::vector<int64_t> &shape, DType d) {
  std::string s = "tensor<";
  for (int64_t x : shape)
    s += std::to_string(x) + "x";
  return s + typeName(d) + ">";
}

class Gen {
public:
  explicit Gen(uint64_t seed) : rng(seed) {}

  int64_t pick(std::initializer_list<int64_t> values) {
    std::vector<int64_t> v(values);
    return v[rng() % v.size()];
  }
  int64_t uniform(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(rng() % (hi - lo + 1));
  }
  double real(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(rng);
  }
  DType floatType() {
    return static_cast<DType>(pick({0, 1, 1, 2})); // F32, BF16 (x2), F16
  }
  /// Sizes that defeat vector widths: 1, primes, odd, powers of two.
  int64_t size(int64_t max = 67) {
    int64_t s = pick({1, 2, 3, 5, 7, 8, 13, 16, 17, 31, 32, 37, 64, 67});
    return std::min(s, max);
  }
  /// (k, n) of a contraction: mostly small, one in four large enough to be
  /// split into column tiles across threads (n a multiple of 16 or 64, and
  /// odd or prime k).
  std::pair<int64_t, int64_t> contractionSize() {
    if (rng() % 4 != 0)
      return {size(), size()};
    return {pick({509, 1031, 1536}), pick({256, 528, 1024, 1040})};
  }

  HostTensor floats(DType d, std::vector<int64_t> shape, double scale = 1.0) {
    HostTensor t = HostTensor::zeros(d, shape);
    std::normal_distribution<double> n(0, scale);
    for (int64_t i = 0; i < t.numElements(); ++i)
      t.setFloatAt(i, n(rng));
    return t;
  }
  HostTensor positive(DType d, std::vector<int64_t> shape, double lo,
                      double hi) {
    HostTensor t = HostTensor::zeros(d, shape);
    for (int64_t i = 0; i < t.numElements(); ++i)
      t.setFloatAt(i, real(lo, hi));
    return t;
  }
  HostTensor ints(DType d, std::vector<int64_t> shape, int64_t lo, int64_t hi) {
    HostTensor t = HostTensor::zeros(d, shape);
    for (int64_t i = 0; i < t.numElements(); ++i)
      t.setIntAt(i, uniform(lo, hi));
    return t;
  }

  std::mt19937_64 rng;
};

/// A scale layout and its scales shape for a weight [B..., K, N].
struct Layout {
  std::string attr;
  std::vector<int64_t> scales;
};
Layout randomLayout(Gen &g, std::vector<int64_t> weight) {
  int64_t k = weight[weight.size() - 2], n = weight.back();
  std::vector<int64_t> s(weight.begin(), weight.end() - 2);
  std::vector<int64_t> divisors;
  for (int64_t d = 1; d <= k; ++d)
    if (k % d == 0)
      divisors.push_back(d);
  int64_t d = divisors[g.rng() % divisors.size()];
  switch (g.rng() % 4) {
  case 0:
    s.insert(s.end(), {1, 1});
    return {"<per_tensor>", s};
  case 1:
    s.insert(s.end(), {1, n});
    return {"<per_column>", s};
  case 2:
    // Every third row-block case takes one scalar per block instead ([G,
    // 1]); chosen without a draw so the other cases stay as they were.
    if ((d + n) % 3 == 0) {
      s.insert(s.end(), {d, 1});
      return {"<row_block_scalars = " + std::to_string(d) + ">", s};
    }
    s.insert(s.end(), {d, n});
    return {"<row_blocks = " + std::to_string(d) + ">", s};
  default:
    s.insert(s.end(), {k / d, n});
    return {"<group = " + std::to_string(d) + ">", s};
  }
}

/// Builds "func.func @name(args) -> (results) { body }".
std::string func(const std::string &name,
                 const std::vector<std::string> &argTypes,
                 const std::vector<std::string> &resultTypes,
                 const std::string &body) {
  std::string s = "func.func @" + name + "(";
  for (size_t i = 0; i < argTypes.size(); ++i)
    s += (i ? ", %a" : "%a") + std::to_string(i) + ": " + argTypes[i];
  s += ") -> (" + llvm::join(resultTypes, ", ") + ") {\n" + body + "\n}\n";
  return s;
}

using Family = std::function<Case(Gen &, const std::string &)>;

Case dequantizeCase(Gen &g, const std::string &name) {
  std::vector<int64_t> w = {g.size(), g.size()};
  if (g.rng() % 3 == 0)
    w.insert(w.begin(), g.size(5));
  Layout l = randomLayout(g, w);
  DType st = g.floatType();
  Case c{name};
  c.inputs = {g.ints(DType::I8, w, -128, 127),
              g.positive(st, l.scales, 1e-3, 0.1)};
  std::string wt = tensorType(w, DType::I8), sty = tensorType(l.scales, st);
  std::string rt = tensorType(w, st);
  c.text = func(name, {wt, sty}, {rt},
                "  %0 = nova.dequantize %a0, %a1 layout " + l.attr + " : " +
                    wt + ", " + sty + " -> " + rt + "\n  return %0 : " + rt);
  return c;
}

Case quantizeCase(Gen &g, const std::string &name) {
  std::vector<int64_t> w = {g.size(), g.size()};
  Layout l = randomLayout(g, w);
  DType xt = g.floatType(), st = g.floatType();
  Case c{name};
  // Values around the rounding boundaries and beyond the int8 range.
  c.inputs = {g.floats(xt, w, 40.0), g.positive(st, l.scales, 0.25, 2.0)};
  std::string xty = tensorType(w, xt), sty = tensorType(l.scales, st);
  std::string rty = tensorType(w, DType::I8);
  c.text = func(name, {xty, sty}, {rty},
                "  %0 = nova.quantize %a0, %a1 layout " + l.attr + " : " + xty +
                    ", " + sty + " -> " + rty + "\n  return %0 : " + rty);
  return c;
}

Case matmulCase(Gen &g, const std::string &name) {
  int64_t m = g.size(9);
  auto [k, n] = g.contractionSize();
  bool transpose = g.rng() % 2;
  std::vector<int64_t> x = {m, k};
  if (g.rng() % 3 == 0)
    x.insert(x.begin(), g.size(4));
  std::vector<int64_t> w =
      transpose ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n};
  DType xt = g.floatType(), wt = g.floatType(), rtp = g.floatType();
  std::vector<int64_t> r(x.begin(), x.end() - 1);
  r.push_back(n);
  Case c{name};
  c.inputs = {g.floats(xt, x), g.floats(wt, w)};
  c.reduction = static_cast<double>(k);
  std::string xty = tensorType(x, xt), wty = tensorType(w, wt),
              rty = tensorType(r, rtp);
  c.text = func(name, {xty, wty}, {rty},
                "  %0 = nova.matmul %a0, %a1" +
                    std::string(transpose ? " transpose_rhs" : "") + " : " +
                    xty + ", " + wty + " -> " + rty + "\n  return %0 : " + rty);
  return c;
}

/// "func.func @name(x, q, s) -> y" computing one nova.qmatmul.
std::string qmatmulFunc(const std::string &name, const std::string &xty,
                        const std::string &qty, const std::string &sty,
                        const std::string &rty, const std::string &layout) {
  return func(name, {xty, qty, sty}, {rty},
              "  %0 = nova.qmatmul %a0, %a1, %a2 layout " + layout + " : " +
                  xty + ", " + qty + ", " + sty + " -> " + rty +
                  "\n  return %0 : " + rty);
}

/// "func.func @name(x, ids, q, s) -> y" computing one nova.expert_qmatmul.
std::string expertQmatmulFunc(const std::string &name, const std::string &xty,
                              const std::string &ety, const std::string &qty,
                              const std::string &sty, const std::string &rty,
                              const std::string &layout) {
  return func(name, {xty, ety, qty, sty}, {rty},
              "  %0 = nova.expert_qmatmul %a0, %a1, %a2, %a3 layout " + layout +
                  " : " + xty + ", " + ety + ", " + qty + ", " + sty + " -> " +
                  rty + "\n  return %0 : " + rty);
}

Case qmatmulCase(Gen &g, const std::string &name) {
  int64_t m = g.size(9);
  auto [k, n] = g.contractionSize();
  std::vector<int64_t> w = {k, n};
  Layout l = randomLayout(g, w);
  DType xt = g.floatType(), st = g.floatType(), rtp = g.floatType();
  Case c{name};
  c.inputs = {g.floats(xt, {m, k}), g.ints(DType::I8, w, -127, 127),
              g.positive(st, l.scales, 1e-3, 2e-2)};
  c.reduction = static_cast<double>(k);
  std::string xty = tensorType({m, k}, xt), qty = tensorType(w, DType::I8),
              sty = tensorType(l.scales, st), rty = tensorType({m, n}, rtp);
  c.text = qmatmulFunc(name, xty, qty, sty, rty, l.attr);
  return c;
}

Case expertCase(Gen &g, const std::string &name) {
  // One case in four is a prefill: enough slots for the blocked schedule,
  // some experts with more than one block of 64 slots.
  bool prefill = g.rng() % 4 == 0;
  int64_t m = prefill ? g.uniform(40, 90) : g.size(9),
          k = prefill ? 2 : g.pick({1, 2, 3}),
          e = prefill ? g.pick({2, 4}) : g.pick({2, 3, 4, 8});
  k = std::min(k, e);
  auto [kk, n] = prefill ? std::make_pair(g.uniform(1, 37), g.uniform(1, 70))
                         : g.contractionSize();
  std::vector<int64_t> w = {e, kk, n};
  Layout l = randomLayout(g, w);
  DType xt = g.floatType(), st = g.floatType(), rtp = g.floatType();
  bool perSlot = g.rng() % 2;
  std::vector<int64_t> x =
      perSlot ? std::vector<int64_t>{m, k, kk} : std::vector<int64_t>{m, kk};
  Case c{name};
  c.inputs = {g.floats(xt, x), g.ints(DType::I32, {m, k}, 0, e - 1),
              g.ints(DType::I8, w, -127, 127),
              g.positive(st, l.scales, 1e-3, 2e-2)};
  c.reduction = static_cast<double>(kk);
  std::string xty = tensorType(x, xt), ety = tensorType({m, k}, DType::I32),
              qty = tensorType(w, DType::I8), sty = tensorType(l.scales, st),
              rty = tensorType({m, k, n}, rtp);
  c.text = expertQmatmulFunc(name, xty, ety, qty, sty, rty, l.attr);
  return c;
}

Case routeCase(Gen &g, const std::string &name) {
  int64_t m = g.size(17), e = g.pick({2, 3, 4, 8, 16});
  int64_t k = g.uniform(1, std::min<int64_t>(e, 4));
  bool renormalize = g.rng() % 2;
  std::vector<int64_t> shape = {m, e};
  if (g.rng() % 3 == 0)
    shape.insert(shape.begin(), g.size(3));
  std::vector<int64_t> r(shape.begin(), shape.end() - 1);
  r.push_back(k);
  Case c{name};
  HostTensor logits = g.floats(DType::F32, shape, 2.0);
  // Exact ties (the lower index must win) in a third of the rows.
  for (int64_t i = 0; i + 1 < logits.numElements(); i += 3)
    logits.setFloatAt(i + 1, logits.floatAt(i));
  c.inputs = {logits};
  std::string lty = tensorType(shape, DType::F32),
              gty = tensorType(r, DType::F32), ity = tensorType(r, DType::I32);
  c.text =
      func(name, {lty}, {gty, ity},
           "  %0, %1 = nova.moe_route %a0 top " + std::to_string(k) +
               (renormalize ? " renormalize" : "") + " : " + lty + " -> " +
               gty + ", " + ity + "\n  return %0, %1 : " + gty + ", " + ity);
  return c;
}

Case combineCase(Gen &g, const std::string &name) {
  int64_t m = g.size(9), k = g.pick({1, 2, 3}), d = g.size();
  DType ot = g.floatType(), rtp = g.floatType();
  Case c{name};
  c.inputs = {g.floats(ot, {m, k, d}), g.positive(DType::F32, {m, k}, 0, 1)};
  c.reduction = static_cast<double>(k);
  std::string oty = tensorType({m, k, d}, ot),
              gty = tensorType({m, k}, DType::F32),
              rty = tensorType({m, d}, rtp);
  c.text = func(name, {oty, gty}, {rty},
                "  %0 = nova.moe_combine %a0, %a1 : " + oty + ", " + gty +
                    " -> " + rty + "\n  return %0 : " + rty);
  return c;
}

Case normCase(Gen &g, const std::string &name) {
  std::vector<int64_t> shape = {g.size(9), g.size()};
  if (g.rng() % 2)
    shape.insert(shape.begin(), g.size(4));
  DType t = g.floatType();
  Case c{name};
  c.inputs = {g.floats(t, shape, 3.0),
              g.floats(DType::F32, {shape.back()}, 1.0)};
  c.reduction = static_cast<double>(shape.back());
  std::string xty = tensorType(shape, t),
              sty = tensorType({shape.back()}, DType::F32);
  c.text = func(name, {xty, sty}, {xty},
                "  %0 = nova.rms_norm %a0, %a1 eps 1.0e-5 : " + xty + ", " +
                    sty + " -> " + xty + "\n  return %0 : " + xty);
  return c;
}

Case activationCase(Gen &g, const std::string &name) {
  std::vector<int64_t> shape = {g.size(9), g.size()};
  DType t = g.floatType();
  std::string op = g.rng() % 2 ? "nova.gelu" : "nova.silu";
  Case c{name};
  c.inputs = {g.floats(t, shape, 4.0)};
  std::string ty = tensorType(shape, t);
  c.text = func(name, {ty}, {ty},
                "  %0 = " + op + " %a0 : " + ty + "\n  return %0 : " + ty);
  return c;
}

Case softmaxCase(Gen &g, const std::string &name) {
  std::vector<int64_t> shape = {g.size(9), g.size(), g.size(5)};
  int64_t axis = g.uniform(0, 2);
  DType t = g.floatType();
  Case c{name};
  c.inputs = {g.floats(t, shape, 3.0)};
  c.reduction = static_cast<double>(shape[axis]);
  std::string ty = tensorType(shape, t);
  c.text = func(name, {ty}, {ty},
                "  %0 = nova.softmax %a0 axis " + std::to_string(axis) + " : " +
                    ty + "\n  return %0 : " + ty);
  return c;
}

Case embeddingCase(Gen &g, const std::string &name) {
  int64_t v = g.size(), d = g.size();
  std::vector<int64_t> ids = {g.size(5), g.size(9)};
  DType tt = g.floatType(), rtp = g.floatType();
  std::vector<int64_t> r = ids;
  r.push_back(d);
  Case c{name};
  // Some ids out of range: they are clamped.
  c.inputs = {g.floats(tt, {v, d}), g.ints(DType::I32, ids, -2, v + 2)};
  std::string tty = tensorType({v, d}, tt), ity = tensorType(ids, DType::I32),
              rty = tensorType(r, rtp);
  c.text = func(name, {tty, ity}, {rty},
                "  %0 = nova.embedding %a0[%a1] : " + tty + ", " + ity +
                    " -> " + rty + "\n  return %0 : " + rty);
  return c;
}

Case ropeCase(Gen &g, const std::string &name) {
  int64_t b = g.size(3), t = g.size(9), h = g.size(5),
          dh = 2 * g.pick({1, 2, 4, 8, 32, 64});
  DType ty = g.floatType();
  Case c{name};
  c.inputs = {g.floats(ty, {b, t, h, dh}),
              g.ints(DType::I32, {b, t}, 0, g.pick({16, 1000, 8191}))};
  std::string xty = tensorType({b, t, h, dh}, ty),
              pty = tensorType({b, t}, DType::I32);
  std::string base = g.rng() % 2 ? "1.000000e+04" : "5.000000e+05";
  c.text = func(name, {xty, pty}, {xty},
                "  %0 = nova.rope %a0, %a1 base " + base + " : " + xty + ", " +
                    pty + " -> " + xty + "\n  return %0 : " + xty);
  return c;
}

Case kvCase(Gen &g, const std::string &name) {
  int64_t b = g.size(3), s = g.size(33), h = g.size(3), dh = g.size(9);
  int64_t t = g.uniform(1, s);
  DType ty = g.floatType();
  Case c{name};
  // Offsets anywhere, including past the end and negative (dropped rows).
  c.inputs = {g.floats(ty, {b, s, h, dh}), g.floats(ty, {b, t, h, dh}),
              g.ints(DType::I32, {b}, -t, s)};
  std::string cty = tensorType({b, s, h, dh}, ty),
              uty = tensorType({b, t, h, dh}, ty),
              pty = tensorType({b}, DType::I32);
  c.text = func(name, {cty, uty, pty}, {cty},
                "  %0 = nova.kv_cache_update %a0, %a1, %a2 : " + cty + ", " +
                    uty + ", " + pty + " -> " + cty + "\n  return %0 : " + cty);
  return c;
}

Case attentionCase(Gen &g, const std::string &name) {
  int64_t b = g.size(2), t = g.size(5), hkv = g.pick({1, 2}),
          group = g.pick({1, 2, 3}), dh = g.size(17), s = g.size(33);
  int64_t hq = hkv * group;
  DType ty = g.floatType();
  bool cap = g.rng() % 2;
  Case c{name};
  c.inputs = {g.floats(ty, {b, t, hq, dh}), g.floats(ty, {b, s, hkv, dh}),
              g.floats(ty, {b, s, hkv, dh}),
              g.ints(DType::I32, {b}, -1, s - 1)};
  c.reduction = static_cast<double>(std::max(dh, s));
  // The compiled kernel normalizes once at the end (online softmax), so it
  // does not round each softmax weight to T before the weighted sum as the
  // reference does: |Δ| ≤ Σ_s |Δw_s|·|v_s| ≤ 2^-m · max|v| (docs/tolerance.md).
  double maxV = 0;
  for (int64_t i = 0; i < c.inputs[2].numElements(); ++i)
    maxV = std::max(maxV, std::fabs(c.inputs[2].floatAt(i)));
  c.extra = std::ldexp(maxV, -mantissaBits(ty));
  std::string qty = tensorType({b, t, hq, dh}, ty),
              kty = tensorType({b, s, hkv, dh}, ty),
              pty = tensorType({b}, DType::I32);
  double scale = 1.0 / std::sqrt(static_cast<double>(dh));
  std::ostringstream body;
  body << std::scientific << std::setprecision(9);
  body << "  %0 = nova.attention %a0, %a1, %a2, %a3 scale " << scale
       << (cap ? " cap 3.000000e+01" : "") << " : " << qty << ", " << kty
       << ", " << kty << ", " << pty << " -> " << qty
       << "\n  return %0 : " << qty;
  c.text = func(name, {qty, kty, kty, pty}, {qty}, body.str());
  return c;
}

/// The optional operands of a nova.sample case.
struct SampleOperands {
  std::optional<HostTensor> mask = std::nullopt, noise = std::nullopt;
  /// Without noise: the scalar seed and step.
  int64_t seed = 0, step = 0;
};

/// Appends nova.sample's operands (logits, temperature, top_p and `extra`)
/// to the inputs of `c` and their types to `args`; returns the operand
/// list of the op's assembly ("%a0, %a1, %a2 mask %a3 ...").
std::string sampleInputs(Case &c, std::vector<std::string> &args,
                         const HostTensor &logits, const HostTensor &temp,
                         const HostTensor &topP, const SampleOperands &extra) {
  int64_t b = logits.shape()[0], v = logits.shape()[1];
  std::string lty = tensorType({b, v}, logits.dtype()),
              fty = tensorType({b}, DType::F32);
  int next = static_cast<int>(c.inputs.size());
  auto arg = [&](const HostTensor &t, const std::string &type) {
    c.inputs.push_back(t);
    args.push_back(type);
    return "%a" + std::to_string(next++);
  };
  std::string operands = arg(logits, lty);
  operands += ", " + arg(temp, fty);
  operands += ", " + arg(topP, fty);
  if (extra.mask)
    operands += " mask " + arg(*extra.mask, tensorType({b, v}, DType::I32));
  if (extra.noise) {
    operands += " noise " + arg(*extra.noise, lty);
  } else {
    HostTensor seed = HostTensor::zeros(DType::I64, {});
    seed.setIntAt(0, extra.seed);
    HostTensor step = HostTensor::zeros(DType::I32, {});
    step.setIntAt(0, extra.step);
    operands += " seed " + arg(seed, "tensor<i64>");
    operands += " step " + arg(step, "tensor<i32>");
  }
  return operands;
}

/// nova.sample's four results for logits [b, V] of type t, top_k topK.
std::vector<std::string> sampleResultTypes(int64_t b, DType t, int64_t topK) {
  return {tensorType({b}, DType::I32), tensorType({b}, t),
          tensorType({b, topK}, DType::I32), tensorType({b, topK}, t)};
}

/// nova.sample on (logits, temperature, top_p) and `extra` as one case.
Case sampleOpCase(const std::string &name, const HostTensor &logits,
                  const HostTensor &temp, const HostTensor &topP,
                  const SampleOperands &extra, int64_t topK) {
  Case c{name};
  c.exact = true;
  std::vector<std::string> args;
  std::string operands = sampleInputs(c, args, logits, temp, topP, extra);
  std::vector<std::string> rty =
      sampleResultTypes(logits.shape()[0], logits.dtype(), topK);
  std::string results = llvm::join(rty, ", ");
  c.text =
      func(name, args, rty,
           "  %0, %1, %2, %3 = nova.sample " + operands + " top_k " +
               std::to_string(topK) + " : (" + llvm::join(args, ", ") +
               ") -> (" + results + ")\n  return %0, %1, %2, %3 : " + results);
  return c;
}

Case sampleCase(Gen &g, const std::string &name) {
  // One case in five is wide enough for rows to run in parallel.
  bool wide = g.rng() % 5 == 0;
  int64_t b = wide ? g.uniform(4, 6) : g.size(4),
          v = wide ? g.pick({8192, 16411})
                   : g.pick({8, 13, 64, 100, 257, 1000});
  int64_t topK = g.pick({1, 3, 8});
  DType t = static_cast<DType>(g.pick({0, 1, 1})); // f32 or bf16
  bool useNoise = g.rng() % 3 == 0, useMask = g.rng() % 2;
  HostTensor logits = g.floats(t, {b, v}, g.pick({1, 4}) * 1.0);
  // Ties in logits for some tokens.
  for (int64_t i = 0; i + 3 < logits.numElements(); i += 7)
    logits.setFloatAt(i + 3, logits.floatAt(i));
  HostTensor temp = HostTensor::zeros(DType::F32, {b});
  HostTensor topP = HostTensor::zeros(DType::F32, {b});
  for (int64_t i = 0; i < b; ++i) {
    temp.setFloatAt(i,
                    static_cast<double>(g.pick({1, 2, 5, 7, 10, 100})) / 10.0);
    topP.setFloatAt(i, static_cast<double>(g.pick(
                           {0, 1, 50, 80, 90, 95, 99, 999, 1000, 1500})) /
                           1000.0);
  }
  SampleOperands extra;
  if (useMask)
    extra.mask = g.ints(DType::I32, {b, v}, 0, 3); // ~1/4 masked
  if (useNoise) {
    extra.noise = g.floats(t, {b, v}, 1.5);
  } else {
    extra.seed = static_cast<int64_t>(g.rng() >> 1);
    extra.step = g.uniform(0, 100);
  }
  return sampleOpCase(name, logits, temp, topP, extra, topK);
}

/// One row of a sampling edge case: its logits (set in place), temperature
/// and top_p.
void sampleEdgeRow(Gen &g, HostTensor &logits, int64_t row, double &temp) {
  int64_t v = logits.shape()[1];
  const double inf = INFINITY, nan = NAN;
  auto set = [&](int64_t i, double x) { logits.setFloatAt(row * v + i, x); };
  // `x` at up to `count` random positions.
  auto some = [&](double x, int64_t count) {
    for (int64_t j = 0; j < count; ++j)
      set(g.uniform(0, v - 1), x);
  };
  temp = g.pick({5, 10, 20}) / 10.0;
  switch (g.uniform(0, 11)) {
  case 0:
    some(inf, g.uniform(1, 3));
    break;
  case 1:
    some(-inf, g.uniform(1, v));
    break;
  case 2:
    some(nan, g.uniform(1, 3));
    break;
  case 3: // no finite logit
    for (int64_t i = 0; i < v; ++i)
      set(i, -inf);
    break;
  case 4:
    some(inf, g.uniform(1, 3));
    some(-inf, g.uniform(1, v));
    break;
  case 5: // huge logits with a small temperature: some overflow to inf
    for (int64_t i = 0; i < v; ++i)
      set(i, logits.floatAt(row * v + i) * 1e36);
    temp = g.pick({1, 5, 20}) / 1000.0;
    break;
  case 6: // tiny temperatures (the last two are f32 subnormals)
    temp = std::array<double, 4>{1e-30, 1e-38, 1e-40, 1e-45}[g.uniform(0, 3)];
    break;
  case 7: // huge temperatures
    temp = std::array<double, 3>{1e30, 3e38, inf}[g.uniform(0, 2)];
    break;
  case 8: // greedy: zero, negative, or rounding to zero in the logits' type
    temp = std::array<double, 5>{0.0, -0.0, -1.0, -inf, 1e-8}[g.uniform(0, 4)];
    if (g.rng() % 2)
      some(logits.floatAt(row * v), g.uniform(1, 3)); // ties with token 0
    break;
  case 9:
    temp = nan;
    break;
  case 10: // a flat row: the largest noise value ties across blocks and
           // chunks, and the first entry holding it must win
    for (int64_t i = 0; i < v; ++i)
      set(i, logits.floatAt(row * v));
    break;
  default: // logits at the type's limits: both signs overflow
    for (int64_t i = 0; i < v; ++i)
      set(i, logits.floatAt(row * v + i) > 0 ? 3e38 : -3e38);
    break;
  }
}

/// nova.sample with non-finite logits, extreme and non-positive
/// temperatures, and top_p at and beyond its limits (docs/semantics.md):
/// the tokens must agree exactly and the probabilities be NaN exactly where
/// the reference's are.
Case sampleEdgeCase(Gen &g, const std::string &name) {
  int64_t b = g.uniform(1, 4), v = g.pick({8, 13, 64, 257, 1000, 4099});
  int64_t topK = g.pick({1, 3, 8});
  DType t = static_cast<DType>(g.pick({0, 1, 1, 2})); // f32, bf16, f16
  HostTensor logits = g.floats(t, {b, v}, 2.0);
  HostTensor temp = HostTensor::zeros(DType::F32, {b});
  HostTensor topP = HostTensor::zeros(DType::F32, {b});
  for (int64_t row = 0; row < b; ++row) {
    double tr = 1;
    sampleEdgeRow(g, logits, row, tr);
    temp.setFloatAt(row, tr);
    topP.setFloatAt(row, std::array<double, 8>{0.0, 1.0, NAN, 0.5, 0.9, -1.0,
                                               2.0, 1e-4}[g.uniform(0, 7)]);
  }
  SampleOperands extra;
  if (g.rng() % 3 == 0)
    extra.mask = g.ints(DType::I32, {b, v}, 0, 3);
  if (g.rng() % 3 == 0) {
    extra.noise = g.floats(t, {b, v}, 1.5);
    // Non-finite noise in half of them: inf + -inf and NaN make z NaN.
    if (g.rng() % 2)
      for (double x : {INFINITY, -INFINITY, NAN})
        for (int64_t j = 0; j < b; ++j)
          extra.noise->setFloatAt(g.uniform(0, b * v - 1), x);
    // A row of NaN noise: every z is NaN, the token is 0.
    if (g.rng() % 4 == 0) {
      int64_t row = g.uniform(0, b - 1);
      for (int64_t i = 0; i < v; ++i)
        extra.noise->setFloatAt(row * v + i, NAN);
    }
  } else {
    extra.seed = static_cast<int64_t>(g.rng() >> 1);
    extra.step = g.uniform(0, 100);
  }
  return sampleOpCase(name, logits, temp, topP, extra, topK);
}

//===----------------------------------------------------------------------===//
// Padding masks, expert -1, routing replay
//===----------------------------------------------------------------------===//

/// A per-token mask of `shape` (i1 or i32, about a third of the tokens
/// masked; i32 entries take any non-zero value for a real token).
HostTensor tokenMask(Gen &g, DType d, const std::vector<int64_t> &shape) {
  HostTensor m = HostTensor::zeros(d, shape);
  for (int64_t i = 0; i < m.numElements(); ++i)
    m.setIntAt(i,
               g.rng() % 3 == 0 ? 0 : (d == DType::Bool ? 1 : g.uniform(1, 5)));
  return m;
}

/// Every element of `t` at `index` is exactly `value` (+0 has its sign
/// checked); empty or a description of the first that is not.
std::string expectExactly(const HostTensor &t, int64_t index, double value,
                          const std::string &what) {
  double x = rt::isFloat(t.dtype()) ? t.floatAt(index)
                                    : static_cast<double>(t.intAt(index));
  if (x == value && std::signbit(x) == std::signbit(value))
    return "";
  return what + " element " + std::to_string(index) + ": " + std::to_string(x) +
         ", expected exactly " + std::to_string(value);
}

/// The gates and indices of a moe_route output pair for masked tokens:
/// -1 and +0 in every slot of each token `mask` zeroes.
std::string maskedRoutes(const HostTensor &mask, const HostTensor &gates,
                         const HostTensor &indices, int64_t k) {
  for (int64_t t = 0; t < mask.numElements(); ++t) {
    if (mask.intAt(t) != 0)
      continue;
    for (int64_t j = 0; j < k; ++j) {
      std::string problem = expectExactly(indices, t * k + j, -1, "indices");
      if (problem.empty())
        problem = expectExactly(gates, t * k + j, 0.0, "gates");
      if (!problem.empty())
        return "masked token " + std::to_string(t) + ": " + problem;
    }
  }
  return "";
}

/// nova.moe_route with a padding mask (i1 or i32; NaN logits on some
/// masked tokens) and, in half the cases, forced routes (ids in [-1, E),
/// duplicates included), renormalized or not.
Case routeMaskedCase(Gen &g, const std::string &name) {
  int64_t m = g.size(17), e = g.pick({2, 3, 4, 8, 16});
  int64_t k = g.uniform(1, std::min<int64_t>(e, 4));
  bool renormalize = g.rng() % 2, forced = g.rng() % 2;
  std::vector<int64_t> tokens = {m};
  if (g.rng() % 3 == 0)
    tokens.insert(tokens.begin(), g.size(3));
  if (g.rng() % 8 == 0)
    tokens.clear(); // one token: logits [E], mask a scalar
  std::vector<int64_t> shape = tokens, r = tokens;
  shape.push_back(e);
  r.push_back(k);
  DType maskType = g.rng() % 2 ? DType::Bool : DType::I32;
  HostTensor logits = g.floats(DType::F32, shape, 2.0);
  for (int64_t i = 0; i + 1 < logits.numElements(); i += 3)
    logits.setFloatAt(i + 1, logits.floatAt(i));
  HostTensor mask = tokenMask(g, maskType, tokens);
  for (int64_t t = 0; t < mask.numElements(); ++t)
    if (mask.intAt(t) == 0 && g.rng() % 2)
      logits.setFloatAt(t * e + g.uniform(0, e - 1), NAN);
  Case c{name};
  c.inputs = {logits, mask};
  std::string lty = tensorType(shape, DType::F32),
              mty = tensorType(tokens, maskType),
              gty = tensorType(r, DType::F32), ity = tensorType(r, DType::I32);
  std::vector<std::string> args = {lty, mty};
  std::string operands = " mask(%a1 : " + mty + ")";
  if (forced) {
    c.inputs.push_back(g.ints(DType::I32, r, -1, e - 1));
    args.push_back(ity);
    operands += " forced(%a2 : " + ity + ")";
  }
  c.text =
      func(name, args, {gty, ity},
           "  %0, %1 = nova.moe_route %a0 top " + std::to_string(k) + operands +
               (renormalize ? " renormalize" : "") + " : " + lty + " -> " +
               gty + ", " + ity + "\n  return %0, %1 : " + gty + ", " + ity);
  c.invariant = [mask, k](const std::vector<HostTensor> &out) {
    return maskedRoutes(mask, out[0], out[1], k);
  };
  return c;
}

/// Routing record and replay: the rollout's route of logits A records its
/// experts; replaying them on A reproduces gates and indices bit for bit,
/// and on another engine's logits B gives B's probabilities of the
/// recorded experts (a padding mask in half the cases, both times).
Case routeReplayCase(Gen &g, const std::string &name) {
  int64_t m = g.size(17), e = g.pick({2, 4, 8});
  int64_t k = g.uniform(1, std::min<int64_t>(e, 2));
  bool renormalize = g.rng() % 2, masked = g.rng() % 2;
  std::vector<int64_t> shape = {m, e}, r = {m, k};
  HostTensor a = g.floats(DType::F32, shape, 2.0);
  // B: A perturbed, as a second engine's router that disagrees sometimes.
  HostTensor b = a;
  for (int64_t i = 0; i < b.numElements(); ++i)
    b.setFloatAt(i, b.floatAt(i) + g.real(-0.3, 0.3));
  Case c{name};
  c.inputs = {a, b};
  std::string lty = tensorType(shape, DType::F32),
              gty = tensorType(r, DType::F32), ity = tensorType(r, DType::I32),
              mty = tensorType({m}, DType::I32);
  std::vector<std::string> args = {lty, lty};
  std::string maskOperand;
  HostTensor mask;
  if (masked) {
    mask = tokenMask(g, DType::I32, {m});
    c.inputs.push_back(mask);
    args.push_back(mty);
    maskOperand = " mask(%a2 : " + mty + ")";
  }
  std::string top = " top " + std::to_string(k) + maskOperand,
              re = renormalize ? " renormalize" : "",
              sig = " : " + lty + " -> " + gty + ", " + ity;
  std::string body = "  %g, %i = nova.moe_route %a0" + top + re + sig +
                     "\n  %g2, %i2 = nova.moe_route %a0" + top +
                     " forced(%i : " + ity + ")" + re + sig +
                     "\n  %g3, %i3 = nova.moe_route %a1" + top +
                     " forced(%i : " + ity + ")" + re + sig +
                     "\n  return %g, %i, %g2, %i2, %g3, %i3 : " + gty + ", " +
                     ity + ", " + gty + ", " + ity + ", " + gty + ", " + ity;
  c.text = func(name, args, {gty, ity, gty, ity, gty, ity}, body);
  c.invariant = [](const std::vector<HostTensor> &out) -> std::string {
    for (int64_t i = 0; i < out[1].numElements(); ++i) {
      if (out[3].intAt(i) != out[1].intAt(i) ||
          out[5].intAt(i) != out[1].intAt(i))
        return "replayed indices differ from the record at " +
               std::to_string(i);
      double rec = out[0].floatAt(i), rep = out[2].floatAt(i);
      if (!(rec == rep || (std::isnan(rec) && std::isnan(rep))))
        return "replayed gate " + std::to_string(i) + " " +
               std::to_string(rep) + " differs from the recorded " +
               std::to_string(rec);
    }
    return "";
  };
  return c;
}

/// nova.expert_qmatmul with expert -1 (no expert) in about a quarter of the
/// slots and NaN or inf in the input rows only those slots read: their rows
/// of the result are exactly +0 on every backend.
Case expertNoneCase(Gen &g, const std::string &name) {
  bool prefill = g.rng() % 4 == 0;
  int64_t m = prefill ? g.uniform(40, 90) : g.size(9),
          k = prefill ? 2 : g.pick({1, 2, 3}),
          e = prefill ? g.pick({2, 4}) : g.pick({2, 3, 4, 8});
  k = std::min(k, e);
  int64_t kk, n;
  std::tie(kk, n) = prefill ? std::make_pair(g.uniform(1, 37), g.uniform(1, 70))
                            : g.contractionSize();
  std::vector<int64_t> w = {e, kk, n};
  Layout l = randomLayout(g, w);
  DType xt = g.floatType(), st = g.floatType(), rtp = g.floatType();
  bool perSlot = g.rng() % 2;
  std::vector<int64_t> x =
      perSlot ? std::vector<int64_t>{m, k, kk} : std::vector<int64_t>{m, kk};
  HostTensor experts = g.ints(DType::I32, {m, k}, 0, e - 1);
  for (int64_t i = 0; i < m * k; ++i)
    if (g.rng() % 4 == 0)
      experts.setIntAt(i, -1);
  // A whole token without experts in some cases (a masked token).
  if (g.rng() % 2)
    for (int64_t j = 0; j < k; ++j)
      experts.setIntAt(g.uniform(0, m - 1) * k + j, -1);
  HostTensor input = g.floats(xt, x);
  for (int64_t t = 0; t < m; ++t)
    for (int64_t j = 0; j < k; ++j) {
      bool none = true;
      for (int64_t jj = 0; jj < k; ++jj)
        none &= experts.intAt(t * k + jj) == -1;
      // Rows only slots of no expert read: poison them.
      bool unread = perSlot ? experts.intAt(t * k + j) == -1 : none;
      if (!unread)
        continue;
      int64_t base = perSlot ? (t * k + j) * kk : t * kk;
      for (int64_t q = 0; q < kk; ++q)
        input.setFloatAt(base + q, q % 2 ? NAN : INFINITY);
    }
  Case c{name};
  c.inputs = {input, experts, g.ints(DType::I8, w, -127, 127),
              g.positive(st, l.scales, 1e-3, 2e-2)};
  c.reduction = static_cast<double>(kk);
  std::string xty = tensorType(x, xt), ety = tensorType({m, k}, DType::I32),
              qty = tensorType(w, DType::I8), sty = tensorType(l.scales, st),
              rty = tensorType({m, k, n}, rtp);
  c.text = expertQmatmulFunc(name, xty, ety, qty, sty, rty, l.attr);
  c.invariant = [experts, n](const std::vector<HostTensor> &out) {
    for (int64_t slot = 0; slot < experts.numElements(); ++slot) {
      if (experts.intAt(slot) != -1)
        continue;
      for (int64_t col = 0; col < n; ++col) {
        std::string problem =
            expectExactly(out[0], slot * n + col, 0.0, "result");
        if (!problem.empty())
          return "slot " + std::to_string(slot) + " of expert -1: " + problem;
      }
    }
    return std::string();
  };
  return c;
}

/// bf16(q · s), the dequantized weight element of §1.3 for a bf16 scale
/// given as its bits: the exact product rounded to nearest-even.
float dequantizedBf16(int64_t q, uint16_t scaleBits) {
  // The product is exact in f32 (8 x 8 significant bits), so rounding it
  // from double is the one rounding of §1.3.
  return float(rt::roundToBF16(double(q) * rt::bf16BitsToFloat(scaleBits)));
}

/// The split rounding of the decode schedule (splitDequantize: γ = q · s ·
/// (2^16 + 1), δ = fma(q, s, -γ), γ + δ) equals bf16(q · s) for every int8
/// q and every bf16 scale with |s| < 2^105, subnormal ones included, up to
/// the sign of a zero. The kernels rely on it (the qmatmul_exact family
/// checks the compiled code on samples).
TEST(SplitDequantize, ExactForEveryInt8AndEveryScaleBelow2To105) {
#pragma STDC FP_CONTRACT OFF
  int64_t checked = 0;
  for (uint32_t bits = 0; bits < 0x10000; ++bits) {
    if ((bits & 0x7fff) >= 0x7400)
      continue;
    uint32_t wide = bits << 16;
    float s;
    std::memcpy(&s, &wide, 4);
    float split = s * 65537.0f;
    for (int q = -128; q < 128; ++q, ++checked) {
      float qf = float(q);
      float gamma = qf * split;
      float delta = std::fma(qf, s, -gamma);
      float got = gamma + delta;
      float want = dequantizedBf16(q, uint16_t(bits));
      ASSERT_EQ(got, want) << "q " << q << ", scale bits 0x" << std::hex
                           << bits;
    }
  }
  EXPECT_EQ(checked, int64_t(2 * 0x7400) * 256);
}

/// nova.qmatmul or nova.expert_qmatmul whose x rows are one-hot (a 1 in a
/// random column, per row or slot): each result row is one weight row
/// dequantized, so the compiled schedules (decode's split rounding and its
/// exact fallback, the dequantized rows of the multi-row schedule) must give
/// exactly bf16(q · s) for every int8 (all 256 drawn) and bf16 scales of
/// every exponent, subnormal ones included. In a quarter of the cases one
/// scale is huge (2^105 <= |s| < 2^114: finite products), which sends the
/// call to the exact fallback.
Case qmatmulExactCase(Gen &g, const std::string &name) {
  bool experts = g.rng() % 2;
  int64_t m = g.pick({1, 1, 2, 5, 9}), e = experts ? g.pick({1, 2, 3}) : 1;
  int64_t k, n;
  std::tie(k, n) = g.contractionSize();
  std::vector<int64_t> w = {k, n};
  if (experts)
    w.insert(w.begin(), e);
  Layout l = randomLayout(g, w);
  HostTensor q = g.ints(DType::I8, w, -128, 127);
  HostTensor scales = HostTensor::zeros(DType::BF16, l.scales);
  uint16_t *sb = scales.mutableAs<uint16_t>();
  for (int64_t i = 0; i < scales.numElements(); ++i) {
    // Exponent field 0 (zero or subnormal) .. 231 (just under 2^105).
    int64_t exponent = g.uniform(0, 231);
    sb[i] = uint16_t((g.rng() % 2) << 15 | exponent << 7 | g.uniform(0, 127));
  }
  if (g.rng() % 4 == 0)
    sb[g.uniform(0, scales.numElements() - 1)] =
        uint16_t(g.uniform(232, 240) << 7 | g.uniform(0, 127));
  DType xt = g.pick({0, 1, 1}) ? DType::BF16 : DType::F32;
  std::vector<int64_t> x = {m, k};
  HostTensor input = HostTensor::zeros(xt, x), ids;
  std::vector<int64_t> hot(m);
  for (int64_t r = 0; r < m; ++r) {
    hot[r] = g.uniform(0, k - 1);
    input.setFloatAt(r * k + hot[r], 1.0);
  }
  if (experts)
    ids = g.ints(DType::I32, {m, 1}, 0, e - 1);
  std::vector<int64_t> rshape =
      experts ? std::vector<int64_t>{m, 1, n} : std::vector<int64_t>{m, n};
  Case c{name};
  std::string xty = tensorType(x, xt), qty = tensorType(w, DType::I8),
              sty = tensorType(l.scales, DType::BF16),
              rty = tensorType(rshape, DType::F32);
  if (experts) {
    std::string ety = tensorType({m, 1}, DType::I32);
    c.inputs = {input, ids, q, scales};
    c.text = expertQmatmulFunc(name, xty, ety, qty, sty, rty, l.attr);
  } else {
    c.inputs = {input, q, scales};
    c.text = qmatmulFunc(name, xty, qty, sty, rty, l.attr);
  }
  c.reduction = static_cast<double>(k);
  int64_t blocks = l.scales[l.scales.size() - 2], columns = l.scales.back();
  c.invariant = [=](const std::vector<HostTensor> &out) {
    const uint16_t *s = scales.as<uint16_t>();
    for (int64_t r = 0; r < m; ++r) {
      int64_t ex = experts ? ids.intAt(r) : 0, row = hot[r];
      for (int64_t col = 0; col < n; ++col) {
        int64_t at = (ex * k + row) * n + col;
        int64_t block = row / (k / blocks);
        uint16_t scale =
            s[(ex * blocks + block) * columns + (columns == 1 ? 0 : col)];
        float want = dequantizedBf16(q.intAt(at), scale);
        double got = out[0].floatAt(r * n + col);
        if (got == want) // +0 and -0 compare equal: the sum starts at +0
          continue;
        char text[160];
        std::snprintf(text, sizeof text,
                      "row %lld column %lld: %.9g, expected exactly %.9g (q "
                      "%lld, scale bits 0x%04x)",
                      (long long)r, (long long)col, got, double(want),
                      (long long)q.intAt(at), unsigned(scale));
        return std::string(text);
      }
    }
    return std::string();
  };
  return c;
}

/// A multi-row nova.qmatmul of bf16 x and bf16 scales with 16 | N, the shape
/// of the paired-row schedule (bf16 dot products on AVX512-BF16 tiers):
/// every output must be bit for bit the sequential sum over k of fused
/// multiply-adds from +0 (W = bf16(q · s)), on every tier. M is often not a
/// multiple of 4 and K not of 8, which the schedule finishes with fewer rows
/// per pass and single f32 weight rows. Half the cases put values where the
/// bf16 dot product would differ (a row of subnormal or tiny x, or tiny
/// scales: products below 2^-126), which must send the call to the f32
/// schedule; some put an infinity or a NaN in x.
Case pairedCase(Gen &g, const std::string &name, bool experts) {
  int64_t m = experts ? g.pick({4, 13, 40, 64, 65})
                      : g.pick({2, 3, 4, 7, 8, 13, 64, 65}),
          k = g.uniform(1, 70), n = 16 * g.uniform(1, 6),
          e = experts ? g.pick({1, 2, 3}) : 1, perToken = experts ? 2 : 1;
  std::vector<int64_t> w = {k, n};
  if (experts)
    w.insert(w.begin(), e);
  Layout l = randomLayout(g, w);
  HostTensor x = HostTensor::zeros(DType::BF16, {m, k});
  HostTensor scales = HostTensor::zeros(DType::BF16, l.scales);
  auto bits = [&](int64_t lo, int64_t hi) {
    return uint16_t((g.rng() % 2) << 15 | g.uniform(lo, hi) << 7 |
                    g.uniform(0, 127));
  };
  uint16_t *xb = x.mutableAs<uint16_t>(), *sb = scales.mutableAs<uint16_t>();
  for (int64_t i = 0; i < x.numElements(); ++i)
    xb[i] = g.rng() % 8 == 0 ? 0 : bits(112, 134);
  for (int64_t i = 0; i < scales.numElements(); ++i)
    sb[i] = bits(110, 124);
  // A row of x whose sums are tiny, so that flushing them would show.
  int64_t row = g.uniform(0, m - 1);
  switch (g.rng() % 8) {
  case 0: // subnormal x
    for (int64_t i = row * k; i < (row + 1) * k; ++i)
      xb[i] = uint16_t((g.rng() % 2) << 15 | g.uniform(1, 127));
    break;
  case 1: // normal x whose products with the scales are subnormal
    for (int64_t i = row * k; i < (row + 1) * k; ++i)
      xb[i] = bits(1, 20);
    break;
  case 2: // tiny scales
    for (int64_t i = 0; i < scales.numElements(); ++i)
      sb[i] = bits(1, 25);
    break;
  case 3: // an infinity or a NaN
    xb[g.uniform(0, x.numElements() - 1)] =
        uint16_t(0x7f80 | (g.rng() % 2 ? g.uniform(1, 127) : 0));
    break;
  default:
    break;
  }
  HostTensor q = g.ints(DType::I8, w, -128, 127);
  // Each token's two slots: experts in order, some -1 (no expert).
  HostTensor ids =
      experts ? g.ints(DType::I32, {m, perToken}, -1, e - 1) : HostTensor();
  Case c{name};
  std::string xty = tensorType({m, k}, DType::BF16),
              qty = tensorType(w, DType::I8),
              sty = tensorType(l.scales, DType::BF16);
  if (experts) {
    std::string ety = tensorType({m, perToken}, DType::I32),
                rty = tensorType({m, perToken, n}, DType::F32);
    c.inputs = {x, ids, q, scales};
    c.text = expertQmatmulFunc(name, xty, ety, qty, sty, rty, l.attr);
  } else {
    c.inputs = {x, q, scales};
    c.text = qmatmulFunc(name, xty, qty, sty, tensorType({m, n}, DType::F32),
                         l.attr);
  }
  c.reduction = static_cast<double>(k);
  int64_t blocks = l.scales[l.scales.size() - 2], columns = l.scales.back();
  c.cpuInvariant = true;
  c.invariant = [=](const std::vector<HostTensor> &out) {
    const uint16_t *s = scales.as<uint16_t>();
    for (int64_t slot = 0; slot < m * perToken; ++slot)
      for (int64_t col = 0; col < n; ++col) {
        int64_t r = slot / perToken, ex = experts ? ids.intAt(slot) : 0;
        float want = 0.0f;
        for (int64_t kk = 0; ex >= 0 && kk < k; ++kk) {
          uint16_t scale = s[(ex * blocks + kk / (k / blocks)) * columns +
                             (columns == 1 ? 0 : col)];
          want = std::fma(
              float(x.floatAt(r * k + kk)),
              dequantizedBf16(q.intAt((ex * k + kk) * n + col), scale), want);
        }
        float got = float(out[0].floatAt(slot * n + col));
        uint32_t gb, wb;
        std::memcpy(&gb, &got, 4);
        std::memcpy(&wb, &want, 4);
        if (gb == wb || (std::isnan(got) && std::isnan(want)))
          continue;
        char text[160];
        std::snprintf(text, sizeof text,
                      "slot %lld column %lld: %.9g (bits 0x%08x), expected "
                      "the sequential sum %.9g (0x%08x)",
                      (long long)slot, (long long)col, double(got),
                      unsigned(gb), double(want), unsigned(wb));
        return std::string(text);
      }
    return std::string();
  };
  return c;
}

Case qmatmulPairedCase(Gen &g, const std::string &name) {
  return pairedCase(g, name, /*experts=*/false);
}

/// The same for nova.expert_qmatmul with enough slots for the blocked
/// expert schedule (a token's two slots, some of expert -1, which give +0).
Case expertPairedCase(Gen &g, const std::string &name) {
  return pairedCase(g, name, /*experts=*/true);
}

/// A Grok-shaped MoE block with a padding mask on the router: masked
/// tokens (NaN hidden states in some) get indices -1 and an MoE output of
/// exactly 0; the rest as in modelCase.
Case maskedModelCase(Gen &g, const std::string &name) {
  int64_t t = g.uniform(1, 12), d = g.pick({8, 16, 17, 32}),
          f = g.pick({16, 24, 31, 64}), e = g.pick({2, 4, 8}),
          k = std::min<int64_t>(g.pick({1, 2}), e);
  Layout l1 = randomLayout(g, {e, d, f}), l2 = randomLayout(g, {e, f, d});
  DType f32 = DType::F32;
  DType maskType = g.rng() % 2 ? DType::Bool : DType::I32;
  HostTensor mask = tokenMask(g, maskType, {t});
  HostTensor x = g.floats(f32, {t, d}, 2.0);
  for (int64_t tok = 0; tok < t; ++tok)
    if (mask.intAt(tok) == 0 && g.rng() % 2)
      x.setFloatAt(tok * d, NAN);
  Case c{name};
  c.inputs = {x,
              mask,
              g.floats(f32, {d}, 1.0),
              g.floats(f32, {d, e}, 1.0),
              g.ints(DType::I8, {e, d, f}, -127, 127),
              g.positive(f32, l1.scales, 1e-3, 2e-2),
              g.ints(DType::I8, {e, f, d}, -127, 127),
              g.positive(f32, l2.scales, 1e-3, 2e-2)};
  c.reduction = static_cast<double>(4 * (d + f));
  std::string xty = tensorType({t, d}, f32), mty = tensorType({t}, maskType),
              sty = tensorType({d}, f32), rwty = tensorType({d, e}, f32),
              lty = tensorType({t, e}, f32), gty = tensorType({t, k}, f32),
              ity = tensorType({t, k}, DType::I32),
              w1ty = tensorType({e, d, f}, DType::I8),
              s1ty = tensorType(l1.scales, f32),
              w2ty = tensorType({e, f, d}, DType::I8),
              s2ty = tensorType(l2.scales, f32),
              hty = tensorType({t, k, f}, f32),
              oty = tensorType({t, k, d}, f32);
  std::string body =
      "  %h = nova.rms_norm %a0, %a2 eps 1.0e-5 : " + xty + ", " + sty +
      " -> " + xty + "\n  %r = nova.matmul %h, %a3 : " + xty + ", " + rwty +
      " -> " + lty + "\n  %g, %i = nova.moe_route %r top " + std::to_string(k) +
      " mask(%a1 : " + mty + ") : " + lty + " -> " + gty + ", " + ity +
      "\n  %u = nova.expert_qmatmul %h, %i, %a4, %a5 layout " + l1.attr +
      " : " + xty + ", " + ity + ", " + w1ty + ", " + s1ty + " -> " + hty +
      "\n  %v = nova.gelu %u : " + hty +
      "\n  %o = nova.expert_qmatmul %v, %i, %a6, %a7 layout " + l2.attr +
      " : " + hty + ", " + ity + ", " + w2ty + ", " + s2ty + " -> " + oty +
      "\n  %y = nova.moe_combine %o, %g : " + oty + ", " + gty + " -> " + xty +
      "\n  return %y, %g, %i : " + xty + ", " + gty + ", " + ity;
  c.text = func(name, {xty, mty, sty, rwty, w1ty, s1ty, w2ty, s2ty},
                {xty, gty, ity}, body);
  c.invariant = [mask, d, k](const std::vector<HostTensor> &out) {
    std::string problem = maskedRoutes(mask, out[1], out[2], k);
    for (int64_t tok = 0; problem.empty() && tok < mask.numElements(); ++tok)
      for (int64_t j = 0; problem.empty() && mask.intAt(tok) == 0 && j < d; ++j)
        problem = expectExactly(out[0], tok * d + j, 0.0, "MoE output");
    return problem;
  };
  return c;
}

//===----------------------------------------------------------------------===//
// nova.top_p_filter, sample stages and row seeds
//===----------------------------------------------------------------------===//

/// A row's top_p, edge values included.
double randomTopP(Gen &g) {
  return std::array<double, 12>{0.0, -1.0, 1e-4,  0.1, 0.5, 0.8,
                                0.9, 0.95, 0.999, 1.0, 1.5, NAN}[g.uniform(0,
                                                                           11)];
}

/// nova.top_p_filter on random logits with ties, some rows non-finite
/// (NaN, ±inf, all -inf), top_p at and beyond its limits; one case in five
/// wide enough for rows to run on threads.
Case topPFilterCase(Gen &g, const std::string &name) {
  bool wide = g.rng() % 5 == 0;
  int64_t b = wide ? g.uniform(4, 6) : g.size(5),
          v = wide ? g.pick({8192, 16411})
                   : g.pick({1, 2, 8, 13, 64, 257, 1000});
  DType t = static_cast<DType>(g.pick({0, 1, 1, 2})); // f32, bf16, f16
  HostTensor logits = g.floats(t, {b, v}, g.pick({1, 4}) * 1.0);
  for (int64_t i = 0; i + 3 < logits.numElements(); i += 7)
    logits.setFloatAt(i + 3, logits.floatAt(i));
  HostTensor topP = HostTensor::zeros(DType::F32, {b});
  for (int64_t row = 0; row < b; ++row) {
    topP.setFloatAt(row, randomTopP(g));
    auto set = [&](int64_t i, double x) { logits.setFloatAt(row * v + i, x); };
    switch (g.uniform(0, 7)) {
    case 0:
      set(g.uniform(0, v - 1), NAN);
      break;
    case 1:
      set(g.uniform(0, v - 1), INFINITY);
      break;
    case 2:
      for (int64_t i = 0; i < v; ++i)
        if (g.rng() % 2)
          set(i, -INFINITY);
      break;
    case 3:
      for (int64_t i = 0; i < v; ++i)
        set(i, -INFINITY);
      break;
    default:
      break;
    }
  }
  Case c{name};
  c.exact = true;
  c.inputs = {logits, topP};
  std::string lty = tensorType({b, v}, t), pty = tensorType({b}, DType::F32);
  c.text = func(name, {lty, pty}, {lty},
                "  %0 = nova.top_p_filter %a0, %a1 : " + lty + ", " + pty +
                    " -> " + lty + "\n  return %0 : " + lty);
  return c;
}

/// nova.sample with `stages`, its filtered logits checked against
/// nova.top_p_filter of its masked logits on each backend (a greedy row's
/// filtered logits are its masked ones), and the four usual results
/// against a plain nova.sample of the same row.
Case sampleStagesCase(Gen &g, const std::string &name) {
  bool wide = g.rng() % 5 == 0;
  int64_t b = wide ? g.uniform(4, 6) : g.size(4),
          v = wide ? g.pick({8192, 16411}) : g.pick({8, 13, 64, 100, 257});
  int64_t topK = std::min<int64_t>(g.pick({1, 3, 8}), v);
  DType t = static_cast<DType>(g.pick({0, 1, 1, 2}));
  HostTensor logits = g.floats(t, {b, v}, g.pick({1, 4}) * 1.0);
  for (int64_t i = 0; i + 3 < logits.numElements(); i += 7)
    logits.setFloatAt(i + 3, logits.floatAt(i));
  HostTensor temp = HostTensor::zeros(DType::F32, {b});
  HostTensor topP = HostTensor::zeros(DType::F32, {b});
  for (int64_t row = 0; row < b; ++row) {
    temp.setFloatAt(row, std::array<double, 6>{0.0, 0.3, 0.7, 1.0, 2.0,
                                               -1.0}[g.uniform(0, 5)]);
    topP.setFloatAt(row, randomTopP(g));
  }
  SampleOperands extra;
  if (g.rng() % 2)
    extra.mask = g.ints(DType::I32, {b, v}, 0, 3);
  if (g.rng() % 3 == 0) {
    extra.noise = g.floats(t, {b, v}, 1.5);
  } else {
    extra.seed = static_cast<int64_t>(g.rng() >> 1);
    extra.step = g.uniform(0, 100);
  }
  Case c{name};
  c.exact = true;
  std::vector<std::string> args;
  std::string operands = sampleInputs(c, args, logits, temp, topP, extra);
  std::string lty = tensorType({b, v}, t), fty = tensorType({b}, DType::F32);
  std::vector<std::string> four = sampleResultTypes(b, t, topK);
  std::string fourText = llvm::join(four, ", ");
  std::string sig = " : (" + llvm::join(args, ", ") + ") -> (" + fourText;
  std::string body =
      "  %0, %1, %2, %3, %s, %m, %f = nova.sample " + operands + " top_k " +
      std::to_string(topK) + " stages" + sig + ", " + lty + ", " + lty + ", " +
      lty + ")\n  %p0, %p1, %p2, %p3 = nova.sample " + operands + " top_k " +
      std::to_string(topK) + sig +
      ")\n  %tp = nova.top_p_filter %m, %a2 : " + lty + ", " + fty + " -> " +
      lty +
      "\n  return %0, %1, %2, %3, %s, %m, %f, %tp, %p0, %p1, %p2, %p3 : " +
      fourText + ", " + lty + ", " + lty + ", " + lty + ", " + lty + ", " +
      fourText;
  std::vector<std::string> results = four;
  results.insert(results.end(), {lty, lty, lty, lty});
  results.insert(results.end(), four.begin(), four.end());
  c.text = func(name, args, results, body);
  c.invariant = [temp, b, v, t](const std::vector<HostTensor> &out) {
    auto same = [](double x, double y) {
      return x == y || (std::isnan(x) && std::isnan(y));
    };
    for (int64_t row = 0; row < b; ++row) {
      // Greedy: temperature <= 0 in the logits' type.
      HostTensor tt = HostTensor::zeros(t, {});
      tt.setFloatAt(0, temp.floatAt(row));
      bool greedy = tt.floatAt(0) <= 0;
      for (int64_t i = 0; i < v; ++i) {
        int64_t at = row * v + i;
        double want = greedy ? out[5].floatAt(at) : out[7].floatAt(at);
        if (!same(out[6].floatAt(at), want))
          return "row " + std::to_string(row) + " token " + std::to_string(i) +
                 ": filtered stage " + std::to_string(out[6].floatAt(at)) +
                 ", expected " +
                 std::string(greedy ? "the masked logit "
                                    : "nova.top_p_filter's ") +
                 std::to_string(want);
      }
    }
    for (int o = 0; o < 4; ++o)
      for (int64_t i = 0; i < out[o].numElements(); ++i) {
        bool equal = rt::isFloat(out[o].dtype())
                         ? same(out[o].floatAt(i), out[8 + o].floatAt(i))
                         : out[o].intAt(i) == out[8 + o].intAt(i);
        if (!equal)
          return "result " + std::to_string(o) + " element " +
                 std::to_string(i) + " differs with and without stages";
      }
    return std::string();
  };
  return c;
}

/// Row seeds: a pool of requests (logits row, temperature, top_p, mask
/// row, 64-bit id), sampled as the whole batch, the batch reordered, a
/// mixed subset and each request alone, in one function; every request's
/// token, prob and top-k must be the same in every batch it is in.
Case sampleRowSeedsCase(Gen &g, const std::string &name) {
  bool wide = g.rng() % 5 == 0;
  int64_t n = g.uniform(2, 5),
          v = wide ? 8192 : g.pick({8, 13, 64, 100, 257, 1000});
  int64_t topK = std::min<int64_t>(g.pick({1, 3, 8}), v);
  DType t = static_cast<DType>(g.pick({0, 1, 1})); // f32 or bf16
  bool useMask = g.rng() % 2;
  HostTensor pool = g.floats(t, {n, v}, g.pick({1, 4}) * 1.0);
  HostTensor masks = g.ints(DType::I32, {n, v}, 0, 3);
  std::vector<double> temps(n), tops(n);
  std::vector<int64_t> ids(n);
  for (int64_t r = 0; r < n; ++r) {
    temps[r] = std::array<double, 5>{0.0, 0.5, 0.7, 1.0, 1.5}[g.uniform(0, 4)];
    tops[r] = std::array<double, 5>{0.5, 0.9, 0.95, 1.0, 0.0}[g.uniform(0, 4)];
    ids[r] = static_cast<int64_t>(g.rng()); // any 64 bits, negative too
  }
  // Batches of request indices: all in order, reordered, a mixed subset,
  // then each alone.
  std::vector<std::vector<int64_t>> batches;
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  batches.push_back(order);
  std::shuffle(order.begin(), order.end(), g.rng);
  batches.push_back(order);
  batches.push_back(
      std::vector<int64_t>(order.begin(), order.begin() + g.uniform(1, n)));
  for (int64_t r = 0; r < n; ++r)
    batches.push_back({r});
  Case c{name};
  c.exact = true;
  HostTensor seed = HostTensor::zeros(DType::I64, {});
  seed.setIntAt(0, static_cast<int64_t>(g.rng() >> 1));
  HostTensor step = HostTensor::zeros(DType::I32, {});
  step.setIntAt(0, g.uniform(0, 1000));
  c.inputs = {seed, step};
  std::vector<std::string> args = {"tensor<i64>", "tensor<i32>"}, results;
  std::string body, returned, returnedTypes;
  int arg = 2;
  for (size_t bi = 0; bi < batches.size(); ++bi) {
    const std::vector<int64_t> &rows = batches[bi];
    int64_t b = static_cast<int64_t>(rows.size());
    HostTensor l = HostTensor::zeros(t, {b, v}),
               m = HostTensor::zeros(DType::I32, {b, v}),
               tp = HostTensor::zeros(DType::F32, {b}),
               pp = HostTensor::zeros(DType::F32, {b}),
               rs = HostTensor::zeros(DType::I64, {b});
    for (int64_t j = 0; j < b; ++j) {
      for (int64_t i = 0; i < v; ++i) {
        l.setFloatAt(j * v + i, pool.floatAt(rows[j] * v + i));
        m.setIntAt(j * v + i, masks.intAt(rows[j] * v + i));
      }
      tp.setFloatAt(j, temps[rows[j]]);
      pp.setFloatAt(j, tops[rows[j]]);
      rs.setIntAt(j, ids[rows[j]]);
    }
    std::string lty = tensorType({b, v}, t), fty = tensorType({b}, DType::F32),
                mty = tensorType({b, v}, DType::I32),
                sty = tensorType({b}, DType::I64);
    auto a = [&](int i) { return "%a" + std::to_string(i); };
    std::string operands = a(arg) + ", " + a(arg + 1) + ", " + a(arg + 2);
    std::vector<std::string> types = {lty, fty, fty};
    c.inputs.insert(c.inputs.end(), {l, tp, pp});
    if (useMask) {
      c.inputs.push_back(m);
      types.push_back(mty);
      operands += " mask " + a(arg + 3);
    }
    int rsArg = arg + (useMask ? 4 : 3);
    c.inputs.push_back(rs);
    operands += " seed %a0 step %a1 row_seeds " + a(rsArg);
    args.insert(args.end(), types.begin(), types.end());
    args.push_back(sty);
    arg = rsArg + 1;
    // The op's operands: logits, temperature, top_p, (mask,) seed, step,
    // row_seeds.
    std::vector<std::string> opTypes = types;
    opTypes.insert(opTypes.end(), {"tensor<i64>", "tensor<i32>", sty});
    std::string four[4] = {tensorType({b}, DType::I32), tensorType({b}, t),
                           tensorType({b, topK}, DType::I32),
                           tensorType({b, topK}, t)};
    std::string pre = "%b" + std::to_string(bi) + "_";
    body += "  " + pre + "0, " + pre + "1, " + pre + "2, " + pre +
            "3 = nova.sample " + operands + " top_k " + std::to_string(topK) +
            " : (" + llvm::join(opTypes, ", ") + ") -> (" + four[0] + ", " +
            four[1] + ", " + four[2] + ", " + four[3] + ")\n";
    for (int o = 0; o < 4; ++o) {
      returned += (returned.empty() ? "" : ", ") + pre + std::to_string(o);
      returnedTypes += (returnedTypes.empty() ? "" : ", ") + four[o];
      results.push_back(four[o]);
    }
  }
  body += "  return " + returned + " : " + returnedTypes;
  c.text = func(name, args, results, body);
  c.invariant = [batches, n, topK](const std::vector<HostTensor> &out) {
    // The first batch (all requests in order) is the reference.
    for (size_t bi = 1; bi < batches.size(); ++bi)
      for (size_t j = 0; j < batches[bi].size(); ++j) {
        int64_t r = batches[bi][j];
        auto at = [&](int o) -> const HostTensor & { return out[4 * bi + o]; };
        std::string where = "request " + std::to_string(r) + " in batch " +
                            std::to_string(bi) + " (row " + std::to_string(j) +
                            " of " + std::to_string(batches[bi].size()) + ")";
        if (at(0).intAt(j) != out[0].intAt(r))
          return where + ": token " + std::to_string(at(0).intAt(j)) +
                 ", alone in order " + std::to_string(out[0].intAt(r));
        double p = at(1).floatAt(j), ref = out[1].floatAt(r);
        if (!(p == ref || (std::isnan(p) && std::isnan(ref))))
          return where + ": prob differs";
        for (int64_t q = 0; q < topK; ++q)
          if (at(2).intAt(j * topK + q) != out[2].intAt(r * topK + q))
            return where + ": top_ids differ";
      }
    (void)n;
    return std::string();
  };
  return c;
}

Case arithCase(Gen &g, const std::string &name) {
  std::vector<int64_t> shape = {g.size(9), g.size()};
  DType t = g.floatType();
  static const char *ops[] = {"arith.addf", "arith.subf", "arith.mulf",
                              "arith.divf", "arith.maximumf"};
  std::string op = ops[g.rng() % 5];
  Case c{name};
  c.inputs = {g.floats(t, shape, 10.0), g.floats(t, shape, 3.0)};
  std::string ty = tensorType(shape, t);
  c.text = func(name, {ty, ty}, {ty},
                "  %0 = " + op + " %a0, %a1 : " + ty + "\n  return %0 : " + ty);
  return c;
}

/// A whole small model: a Grok-shaped MoE block with random dimensions and
/// weights — RMSNorm, router matmul, top-k routing, the gated experts
/// (int8 weights, random scale layouts), GELU, the combine and the
/// residual — compiled as one function. Kept in f32 between ops so that the
/// comparison measures the compiled chain, not bf16 roundings amplified
/// through it; the expert indices must match exactly.
Case modelCase(Gen &g, const std::string &name) {
  int64_t t = g.uniform(1, 12), d = g.pick({8, 16, 17, 32, 64}),
          f = g.pick({16, 24, 31, 64, 128}), e = g.pick({2, 4, 8}),
          k = std::min<int64_t>(g.pick({1, 2}), e);
  Layout l1 = randomLayout(g, {e, d, f}), l2 = randomLayout(g, {e, f, d});
  DType f32 = DType::F32;
  Case c{name};
  c.inputs = {g.floats(f32, {t, d}, 2.0),
              g.floats(f32, {d}, 1.0),
              g.floats(f32, {d, e}, 1.0),
              g.ints(DType::I8, {e, d, f}, -127, 127),
              g.positive(f32, l1.scales, 1e-3, 2e-2),
              g.ints(DType::I8, {e, f, d}, -127, 127),
              g.positive(f32, l2.scales, 1e-3, 2e-2)};
  c.reduction = static_cast<double>(4 * (d + f));
  std::string xty = tensorType({t, d}, f32), sty = tensorType({d}, f32),
              rwty = tensorType({d, e}, f32), lty = tensorType({t, e}, f32),
              gty = tensorType({t, k}, f32),
              ity = tensorType({t, k}, DType::I32),
              w1ty = tensorType({e, d, f}, DType::I8),
              s1ty = tensorType(l1.scales, f32),
              w2ty = tensorType({e, f, d}, DType::I8),
              s2ty = tensorType(l2.scales, f32),
              hty = tensorType({t, k, f}, f32),
              oty = tensorType({t, k, d}, f32);
  std::string body =
      "  %h = nova.rms_norm %a0, %a1 eps 1.0e-5 : " + xty + ", " + sty +
      " -> " + xty + "\n  %r = nova.matmul %h, %a2 : " + xty + ", " + rwty +
      " -> " + lty + "\n  %g, %i = nova.moe_route %r top " + std::to_string(k) +
      " : " + lty + " -> " + gty + ", " + ity +
      "\n  %u = nova.expert_qmatmul %h, %i, %a3, %a4 layout " + l1.attr +
      " : " + xty + ", " + ity + ", " + w1ty + ", " + s1ty + " -> " + hty +
      "\n  %v = nova.gelu %u : " + hty +
      "\n  %o = nova.expert_qmatmul %v, %i, %a5, %a6 layout " + l2.attr +
      " : " + hty + ", " + ity + ", " + w2ty + ", " + s2ty + " -> " + oty +
      "\n  %y = nova.moe_combine %o, %g : " + oty + ", " + gty + " -> " + xty +
      "\n  %z = arith.addf %a0, %y : " + xty + "\n  return %z, %i : " + xty +
      ", " + ity;
  c.text =
      func(name, {xty, sty, rwty, w1ty, s1ty, w2ty, s2ty}, {xty, ity}, body);
  return c;
}

//===----------------------------------------------------------------------===//
// Comparison
//===----------------------------------------------------------------------===//

int mantissaBits(DType d) {
  return d == DType::F32 ? 23 : d == DType::BF16 ? 7 : 10;
}
int minExponent(DType d) { return d == DType::F16 ? -14 : -126; }

/// The spacing of `d` values around |v|.
double ulp(DType d, double v) {
  v = std::fabs(v);
  int e = v > 0 ? std::ilogb(v) : minExponent(d);
  e = std::max(e, minExponent(d));
  return std::ldexp(1.0, e - mantissaBits(d));
}

//===----------------------------------------------------------------------===//
// --numerics=fast (nova.qmatmul with int8_activations)
//===----------------------------------------------------------------------===//

/// Where y (the int8-activation result of x · dequantize(q, s)) is farther
/// from the exact product than docs/tolerance.md's bound: per row with
/// largest magnitude a and d = a / 127, per column n,
///   (d / 2) · Σ|W|(1 + u_S) + u_S · Σ|x||q s| + (K + 8) · 2^-23 · Σ|x||W|
///   + 2 ulp_R(|y|),
/// a row with a non-finite value all NaN, a row with a < 2^-64 all +0.
std::string fastBoundViolation(const HostTensor &x, const HostTensor &q,
                               const HostTensor &s, const HostTensor &y) {
  int64_t k = q.shape()[0], n = q.shape()[1], m = x.numElements() / k;
  int64_t blockRows = k / s.shape()[0];
  bool perColumn = s.shape()[1] != 1;
  DType st = s.dtype(), rtp = y.dtype();
  double uS = std::ldexp(1.0, -mantissaBits(st) - 1);
  HostTensor w = HostTensor::zeros(st, {k, n});
  std::vector<double> qs(k * n);
  for (int64_t r = 0; r < k; ++r)
    for (int64_t col = 0; col < n; ++col) {
      double scale =
          s.floatAt((r / blockRows) * s.shape()[1] + (perColumn ? col : 0));
      qs[r * n + col] = static_cast<double>(q.intAt(r * n + col)) * scale;
      w.setFloatAt(r * n + col, qs[r * n + col]);
    }
  for (int64_t row = 0; row < m; ++row) {
    double a = 0;
    bool finite = true;
    for (int64_t kk = 0; kk < k; ++kk) {
      double v = x.floatAt(row * k + kk);
      finite = finite && std::isfinite(v);
      a = std::max(a, std::fabs(v));
    }
    for (int64_t col = 0; col < n; ++col) {
      double got = y.floatAt(row * n + col);
      std::string at = "y[" + std::to_string(row) + ", " + std::to_string(col) +
                       "] = " + std::to_string(got);
      if (!finite) {
        if (!std::isnan(got))
          return at + ": expected NaN (the row has a non-finite value)";
        continue;
      }
      if (a < 0x1p-64) {
        if (got != 0 || std::signbit(got))
          return at + ": expected +0 (the row's largest magnitude is below "
                      "2^-64)";
        continue;
      }
      double exact = 0, sumW = 0, sumXqs = 0, sumXw = 0;
      for (int64_t kk = 0; kk < k; ++kk) {
        double xv = x.floatAt(row * k + kk), wv = w.floatAt(kk * n + col);
        exact += xv * wv;
        sumW += std::fabs(wv);
        sumXqs += std::fabs(xv * qs[kk * n + col]);
        sumXw += std::fabs(xv * wv);
      }
      double d = a / 127;
      double bound = d / 2 * sumW * (1 + uS) + uS * sumXqs +
                     (k + 8) * 0x1p-23 * sumXw +
                     2 * ulp(rtp, std::max(std::fabs(exact), std::fabs(got)));
      if (!(std::fabs(got - exact) <= bound))
        return at + ", exact " + std::to_string(exact) + ": off by " +
               std::to_string(std::fabs(got - exact)) + " > bound " +
               std::to_string(bound);
    }
  }
  return "";
}

/// nova.qmatmul with int8_activations: compiled bit-identical to the
/// interpreter, both within the bound of the exact result. Special rows: all
/// zero, a NaN, an infinity, tiny (below 2^-64), an outlier; decode,
/// prefill blocks of 64 rows, and sums at their largest.
Case qmatmulFastCase(Gen &g, const std::string &name) {
  int64_t m = g.rng() % 5 == 0 ? g.uniform(60, 140) : g.size(9);
  auto [k, n] = g.contractionSize();
  // The largest sums: K = 4096 (four chunks of 1024 rows) with every
  // |xq| = 127 and every q = -128 or 127.
  bool extreme = g.rng() % 12 == 0;
  if (extreme) {
    m = g.uniform(1, 3);
    k = 4096;
    n = 16;
  }
  std::vector<int64_t> w = {k, n};
  Layout l = randomLayout(g, w);
  DType xt = g.floatType(), st = g.floatType(), rtp = g.floatType();
  Case c{name};
  HostTensor x = g.floats(xt, {m, k});
  if (g.rng() % 2 == 0) {
    int64_t row = g.uniform(0, m - 1);
    int64_t mode = g.uniform(0, xt == DType::F16 ? 3 : 4);
    for (int64_t kk = 0; kk < k; ++kk) {
      double v = x.floatAt(row * k + kk);
      x.setFloatAt(row * k + kk, mode == 0 ? 0.0 : mode == 4 ? v * 0x1p-70 : v);
    }
    int64_t at = row * k + g.uniform(0, k - 1);
    if (mode == 1)
      x.setFloatAt(at, std::nan(""));
    else if (mode == 2)
      x.setFloatAt(at, -std::numeric_limits<double>::infinity());
    else if (mode == 3)
      x.setFloatAt(at, 1000.0);
  }
  HostTensor q = g.ints(DType::I8, w, -128, 127);
  if (extreme)
    for (int64_t i = 0; i < k * n; ++i) {
      x.setFloatAt(i % (m * k), 1.5);
      q.setIntAt(i, (i / n / 1024) % 2 ? 127 : -128);
    }
  HostTensor s = g.positive(st, l.scales, 1e-3, 2e-2);
  c.inputs = {x, q, s};
  c.exact = true;
  c.invariant = [x, q, s](const std::vector<HostTensor> &outputs) {
    return fastBoundViolation(x, q, s, outputs[0]);
  };
  std::string xty = tensorType({m, k}, xt), qty = tensorType(w, DType::I8),
              sty = tensorType(l.scales, st), rty = tensorType({m, n}, rtp);
  c.text = func(name, {xty, qty, sty}, {rty},
                "  %0 = nova.qmatmul %a0, %a1, %a2 layout " + l.attr +
                    " {int8_activations} : " + xty + ", " + qty + ", " + sty +
                    " -> " + rty + "\n  return %0 : " + rty);
  return c;
}

/// Checks one output; returns an empty string or a description of the
/// first element out of tolerance.
std::string compare(const HostTensor &ref, const HostTensor &got,
                    double reduction, double extra, bool exact) {
  if (ref.dtype() != got.dtype() || ref.shape() != got.shape())
    return "type mismatch: " + ref.describe() + " vs " + got.describe();
  double scale = 0;
  for (int64_t i = 0; i < ref.numElements(); ++i)
    if (std::isfinite(ref.floatAt(i)))
      scale = std::max(scale, std::fabs(ref.floatAt(i)));
  for (int64_t i = 0; i < ref.numElements(); ++i) {
    if (!rt::isFloat(ref.dtype())) {
      if (ref.intAt(i) != got.intAt(i))
        return "element " + std::to_string(i) + ": " +
               std::to_string(got.intAt(i)) + ", expected " +
               std::to_string(ref.intAt(i));
      continue;
    }
    double a = ref.floatAt(i), b = got.floatAt(i);
    if ((std::isnan(a) && std::isnan(b)) || a == b)
      continue;
    if (exact) {
      char text[96];
      std::snprintf(text, sizeof(text), ": %.9g, expected exactly %.9g", b, a);
      return "element " + std::to_string(i) + text;
    }
    // Two ulps of the result type (one rounding plus last-bit differences of
    // libm/f32 transcendentals) plus the f32 accumulation bound ~K·2^-24
    // relative to the magnitude of the terms.
    double tol = 2 * ulp(ref.dtype(), std::max(std::fabs(a), std::fabs(b))) +
                 4 * reduction * std::ldexp(1.0, -24) * std::max(scale, 1.0) +
                 extra;
    if (!(std::fabs(a - b) <= tol))
      return "element " + std::to_string(i) + ": " + std::to_string(b) +
             ", expected " + std::to_string(a) + " (tolerance " +
             std::to_string(tol) + ")";
  }
  return "";
}

//===----------------------------------------------------------------------===//
// The test
//===----------------------------------------------------------------------===//

struct FamilySpec {
  const char *name;
  Family make;
  int count;
};

class DifferentialTest : public ::testing::TestWithParam<FamilySpec> {
protected:
  static void SetUpTestSuite() {
    registerAllPasses();
    ::mlir::nova::registerNovaPasses();
  }
};

/// Runs a family's cases on the interpreter and on `backend` (the CPU one
/// compiled for `targetCpu`, a tier the host has), on 1/`divisor` of the
/// family's cases (at least 5). The CUDA backend without a device compiles
/// every case (through ptxas) and stops there: the test is then skipped
/// with the reason.
static void runFamily(const FamilySpec &spec, const std::string &targetCpu,
                      int divisor, const std::string &backend = "cpu") {
  int scale = 1;
  if (const char *s = std::getenv("NOVA_DIFF_SCALE"))
    scale = std::max(1, std::atoi(s));
  uint64_t seed = 0x5eed;
  if (const char *s = std::getenv("NOVA_DIFF_SEED"))
    seed = std::strtoull(s, nullptr, 0);
  Gen gen(seed ^ std::hash<std::string>()(spec.name));
  std::vector<Case> cases;
  std::string text;
  int count = std::max(std::min(spec.count, 5), spec.count / divisor);
  for (int i = 0; i < count * scale; ++i) {
    cases.push_back(
        spec.make(gen, std::string(spec.name) + "_" + std::to_string(i)));
    text += cases.back().text;
  }

  // NOVA_DIFF_DUMP=DIR writes each family's module there, for debugging.
  if (const char *dir = std::getenv("NOVA_DIFF_DUMP")) {
    std::string path = std::string(dir) + "/" + spec.name + ".mlir";
    std::string dumpError;
    ::nova::rt::writeFileAtomically(path, text, dumpError);
  }

  DialectRegistry registry;
  ::mlir::nova::registerNovaCompilerDialects(registry);
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(text, &context);
  ASSERT_TRUE(module) << text.substr(0, 2000);
  ASSERT_TRUE(succeeded(verify(*module)));
  std::string error;
  auto interp = ::nova::backends::createBackend("interp", *module, error);
  ::nova::backends::BackendOptions options;
  options.targetCpu = targetCpu;
  auto cpu = ::nova::backends::createBackend(backend, *module, error, options);
  if (backend == "cuda" && !cpu) {
    // Built and linked, but no driver or device to load the kernels on.
    if (llvm::StringRef(error).starts_with("CUDA could not load the kernels"))
      GTEST_SKIP() << "compiled for CUDA; not run: " << error;
    if (llvm::StringRef(error).contains("not available in this build"))
      GTEST_SKIP() << error;
  }
  ASSERT_TRUE(interp && cpu) << backend << " " << targetCpu << ": " << error;
  auto noParams = [](const std::string &n, HostTensor &, std::string &e) {
    e = "no parameter " + n;
    return false;
  };
  int failures = 0;
  for (const Case &c : cases) {
    std::vector<HostTensor> ref, got;
    ASSERT_TRUE(interp->prepare(c.name, noParams, error) &&
                interp->run(c.name, c.inputs, ref, error))
        << c.name << ": " << error;
    ASSERT_TRUE(cpu->prepare(c.name, noParams, error) &&
                cpu->run(c.name, c.inputs, got, error))
        << c.name << ": " << error;
    ASSERT_EQ(ref.size(), got.size());
    if (c.invariant && (!c.cpuInvariant || backend == "cpu")) {
      std::string problem = c.cpuInvariant ? "" : c.invariant(ref);
      if (problem.empty())
        problem = c.invariant(got);
      else
        problem = "interpreter: " + problem;
      if (!problem.empty()) {
        ++failures;
        ADD_FAILURE() << c.name << ": " << problem << "\n" << c.text;
      }
    }
    for (size_t o = 0; o < ref.size(); ++o) {
      std::string problem =
          compare(ref[o], got[o], c.reduction, c.extra, c.exact);
      if (problem.empty())
        continue;
      ++failures;
      ADD_FAILURE() << c.name << " output " << o << ": " << problem << "\n"
                    << c.text;
      break;
    }
    if (failures > 5)
      break;
  }
  ::testing::Test::RecordProperty(backend != "cpu" ? "cases_" + backend
                                  : targetCpu == "native"
                                      ? "cases"
                                      : "cases_" + targetCpu,
                                  static_cast<int>(cases.size()));
}

TEST_P(DifferentialTest, CompiledMatchesInterpreter) {
  runFamily(GetParam(), "native", 1);
}

/// The CUDA backend on a quarter of the cases: run and compared on a GPU;
/// without one every case still goes through nova-cuda-pipeline and ptxas
/// (sm_90a) and the test is skipped, naming why (docs/cuda.md).
TEST_P(DifferentialTest, CudaMatchesInterpreter) {
  runFamily(GetParam(), "native", 4, "cuda");
}

/// The instruction-set tiers below the host's own code: AVX2 (x86-64-v3)
/// and AVX-512F without VNNI/BF16 (x86-64-v4), each on a quarter of the
/// cases; a tier the host lacks is skipped and named.
TEST_P(DifferentialTest, EveryTierMatchesInterpreter) {
  std::vector<std::string> skipped;
  // x86-64-v4 is AVX-512 without a bf16 dot product, cooperlake adds
  // AVX512-BF16 (the paired-row schedule's vdpbf16ps).
  for (const char *tier : {"x86-64-v3", "x86-64-v4", "cooperlake"}) {
    std::string error;
    FailureOr<std::vector<std::string>> lacks =
        ::mlir::nova::featuresHostLacks(tier, error);
    ASSERT_TRUE(succeeded(lacks)) << error;
    if (!lacks->empty()) {
      skipped.push_back(std::string(tier) + " (the host lacks " +
                        llvm::join(*lacks, " ") + ")");
      continue;
    }
    SCOPED_TRACE(tier);
    runFamily(GetParam(), tier, 4);
    if (HasFatalFailure())
      return;
  }
  if (!skipped.empty())
    std::printf("tiers skipped: %s\n", llvm::join(skipped, ", ").c_str());
}

TEST(CpuTierTest, ATierTheHostLacksIsAnErrorNamingItsFeatures) {
  DialectRegistry registry;
  ::mlir::nova::registerNovaCompilerDialects(registry);
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(
      "func.func @f(%x: tensor<2xf32>) -> tensor<2xf32> {\n"
      "  return %x : tensor<2xf32>\n}\n",
      &context);
  ASSERT_TRUE(module);
  ::nova::backends::BackendOptions options;
  std::string error;
  // Sapphire Rapids has AMX, which the host may lack.
  options.targetCpu = "sapphirerapids";
  FailureOr<std::vector<std::string>> lacks =
      ::mlir::nova::featuresHostLacks(options.targetCpu, error);
  ASSERT_TRUE(succeeded(lacks)) << error;
  auto cpu = ::nova::backends::createBackend("cpu", *module, error, options);
  if (lacks->empty()) {
    EXPECT_TRUE(cpu) << error;
  } else {
    EXPECT_FALSE(cpu);
    EXPECT_EQ(error, "the host CPU cannot run code for 'sapphirerapids': it "
                     "lacks " +
                         llvm::join(*lacks, " "));
  }
  options.targetCpu = "x86_64-v3";
  EXPECT_FALSE(::nova::backends::createBackend("cpu", *module, error, options));
  EXPECT_NE(error.find("unknown --target-cpu 'x86_64-v3' for x86_64 (did you "
                       "mean 'x86-64-v3'?)"),
            std::string::npos)
      << error;
}

INSTANTIATE_TEST_SUITE_P(
    Ops, DifferentialTest,
    ::testing::Values(FamilySpec{"dequantize", dequantizeCase, 60},
                      FamilySpec{"quantize", quantizeCase, 40},
                      FamilySpec{"matmul", matmulCase, 80},
                      FamilySpec{"qmatmul", qmatmulCase, 100},
                      FamilySpec{"qmatmul_exact", qmatmulExactCase, 40},
                      FamilySpec{"qmatmul_paired", qmatmulPairedCase, 40},
                      FamilySpec{"expert_paired", expertPairedCase, 40},
                      FamilySpec{"qmatmul_fast", qmatmulFastCase, 60},
                      FamilySpec{"expert_qmatmul", expertCase, 80},
                      FamilySpec{"moe_route", routeCase, 60},
                      FamilySpec{"moe_combine", combineCase, 40},
                      FamilySpec{"rms_norm", normCase, 60},
                      FamilySpec{"activation", activationCase, 60},
                      FamilySpec{"softmax", softmaxCase, 50},
                      FamilySpec{"embedding", embeddingCase, 40},
                      FamilySpec{"rope", ropeCase, 50},
                      FamilySpec{"kv_cache_update", kvCase, 50},
                      FamilySpec{"attention", attentionCase, 80},
                      FamilySpec{"sample", sampleCase, 100},
                      FamilySpec{"sample_edge", sampleEdgeCase, 80},
                      FamilySpec{"arith", arithCase, 30},
                      FamilySpec{"model", modelCase, 30},
                      FamilySpec{"moe_route_masked", routeMaskedCase, 40},
                      FamilySpec{"moe_replay", routeReplayCase, 30},
                      FamilySpec{"expert_none", expertNoneCase, 40},
                      FamilySpec{"model_masked", maskedModelCase, 20},
                      FamilySpec{"top_p_filter", topPFilterCase, 50},
                      FamilySpec{"sample_stages", sampleStagesCase, 30},
                      FamilySpec{"sample_row_seeds", sampleRowSeedsCase, 15}),
    [](const ::testing::TestParamInfo<FamilySpec> &info) {
      return std::string(info.param.name);
    });

} // namespace
