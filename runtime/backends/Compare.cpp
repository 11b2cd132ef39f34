//===- Compare.cpp - Comparing two backends' outputs ----------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "runtime/backends/Compare.h"

#include "nova/runtime/Float.h"

#include "llvm/Support/Format.h"

#include <cmath>

using namespace nova;
using namespace nova::backends;
using rt::DType;
using rt::HostTensor;

std::string nova::backends::describe(const rt::ManifestArg &arg) {
  return std::string(rt::dtypeName(arg.dtype)) + rt::formatShape(arg.shape);
}

static std::vector<const rt::ManifestArg *>
select(const rt::ManifestEntry &entry, bool inputs) {
  std::vector<const rt::ManifestArg *> ports;
  for (const rt::ManifestArg &arg : entry.args)
    if (inputs ? arg.isInput() : arg.role == rt::ArgRole::Output)
      ports.push_back(&arg);
  return ports;
}

std::vector<const rt::ManifestArg *>
nova::backends::outputsOf(const rt::ManifestEntry &entry) {
  return select(entry, /*inputs=*/false);
}

std::vector<const rt::ManifestArg *>
nova::backends::inputsOf(const rt::ManifestEntry &entry) {
  return select(entry, /*inputs=*/true);
}

int nova::backends::indexOf(const std::vector<const rt::ManifestArg *> &ports,
                            llvm::StringRef name) {
  for (size_t i = 0; i < ports.size(); ++i)
    if (ports[i]->name == name)
      return static_cast<int>(i);
  return -1;
}

void nova::backends::tolerancesFor(DType dtype, const Tolerance &overrides,
                                   double &a, double &r) {
  switch (dtype) {
  case DType::BF16:
    a = 1e-2, r = 1.6e-2; // 2 ulps of bf16 (2^-7 relative)
    break;
  case DType::F16:
    a = 1e-3, r = 2e-3;
    break;
  case DType::F32:
    a = 1e-4, r = 1e-4;
    break;
  default:
    a = 0, r = 0; // integers and tokens: exact
  }
  if (overrides.abs >= 0)
    a = overrides.abs;
  if (overrides.rel >= 0)
    r = overrides.rel;
}

namespace {
/// The differences of one output.
struct Difference {
  double maxAbs = 0, maxRel = 0;
  int64_t bad = 0, nearTies = 0;
};
} // namespace

/// Element-wise comparison of one output; `sameProbability(k)` says whether
/// a differing id at `k` is a near-tie (only for top_ids).
template <typename NearTie>
static Difference compareOne(const HostTensor &ref, const HostTensor &got,
                             double a, double r, bool ids,
                             NearTie sameProbability) {
  Difference d;
  for (int64_t k = 0; k < ref.numElements(); ++k) {
    double x = ref.floatAt(k), y = got.floatAt(k);
    if (ids && x != y && sameProbability(k)) {
      ++d.nearTies;
      continue;
    }
    if (std::isnan(x) && std::isnan(y))
      continue;
    double diff = std::fabs(x - y);
    if (std::isnan(diff) || (std::isinf(x) && x != y))
      diff = INFINITY;
    d.maxAbs = std::max(d.maxAbs, diff);
    if (x != 0)
      d.maxRel = std::max(d.maxRel, diff / std::fabs(x));
    if (!(diff <= a + r * std::fabs(x)))
      ++d.bad;
  }
  return d;
}

bool nova::backends::compareOutputs(const rt::ManifestEntry &entry,
                                    const char *refName, const char *gotName,
                                    const std::vector<HostTensor> &ref,
                                    const std::vector<HostTensor> &got,
                                    const Tolerance &tolerance, bool verbose,
                                    llvm::raw_ostream &os, const char *tool) {
  std::vector<const rt::ManifestArg *> outputs = outputsOf(entry);
  bool ok = true;
  int probs = indexOf(outputs, "top_probs");
  double probAbs = 0, probRel = 0;
  if (probs >= 0)
    tolerancesFor(ref[probs].dtype(), tolerance, probAbs, probRel);
  auto sameProbability = [&](int64_t k) {
    double x = ref[probs].floatAt(k), y = got[probs].floatAt(k);
    return std::fabs(x - y) <= probAbs + probRel * std::fabs(x);
  };
  int64_t nearTies = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    double a, r;
    tolerancesFor(ref[i].dtype(), tolerance, a, r);
    bool ids = probs >= 0 && outputs[i]->name == "top_ids";
    Difference d = compareOne(ref[i], got[i], a, r, ids, sameProbability);
    nearTies += d.nearTies;
    if (!verbose && d.bad == 0)
      continue;
    os << llvm::format("%-14s %-16s max abs %.3g  max rel %.3g  ",
                       outputs[i]->name.c_str(), describe(*outputs[i]).c_str(),
                       d.maxAbs, d.maxRel)
       << (d.bad ? "FAIL" : "ok") << llvm::format(" (atol %g, rtol %g", a, r)
       << (d.bad ? ", " + std::to_string(d.bad) + " elements off" : "")
       << ")\n";
    ok &= d.bad == 0;
  }
  if (nearTies && verbose)
    os << "top_ids: " << nearTies
       << " rank(s) hold another id of the same probability (near-tie)\n";
  if (!ok)
    llvm::errs() << tool << ": error: " << gotName << " differs from "
                 << refName << " beyond the tolerance\n";
  return ok;
}

//===----------------------------------------------------------------------===//
// The whole-model rule
//===----------------------------------------------------------------------===//

/// Explicit fraction bits and smallest normal exponent of a float dtype.
static rt::FloatFormat formatOf(DType dtype, int &minExponent) {
  rt::FloatFormat f = dtype == DType::BF16  ? rt::kBF16Format
                      : dtype == DType::F16 ? rt::kF16Format
                                            : rt::kF32Format;
  minExponent = 2 - (1 << (f.exponentBits - 1));
  return f;
}

/// The spacing of `dtype`'s values at magnitude `x` (the subnormal spacing
/// below the smallest normal).
static double ulpAt(DType dtype, double x) {
  int minExponent;
  rt::FloatFormat f = formatOf(dtype, minExponent);
  int e = x > 0 ? std::max(std::ilogb(x), minExponent) : minExponent;
  return std::ldexp(1.0, e - f.mantissaBits);
}

/// |x - y| in units of `unit`: 0 for two NaNs or equal infinities, infinite
/// for any other non-finite pair.
static double distance(double x, double y, double unit) {
  if (std::isnan(x) || std::isnan(y))
    return std::isnan(x) && std::isnan(y) ? 0 : INFINITY;
  if (std::isinf(x) || std::isinf(y))
    return x == y ? 0 : INFINITY;
  return std::fabs(x - y) / unit;
}

/// The coordinates of row-major element `index` in `shape`.
static std::vector<int64_t> coordinatesOf(int64_t index,
                                          const std::vector<int64_t> &shape) {
  std::vector<int64_t> coords(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    coords[d] = shape[d] ? index % shape[d] : 0;
    index = shape[d] ? index / shape[d] : 0;
  }
  return coords;
}

/// The length of `t`'s rows (its last axis; 1 for a scalar).
static int64_t rowLength(const HostTensor &t) {
  return t.shape().empty() ? 1 : std::max<int64_t>(t.shape().back(), 1);
}

/// The largest finite |t[k]| for k in [begin, end).
static double maxFinite(const HostTensor &t, int64_t begin, int64_t end) {
  double m = 0;
  for (int64_t k = begin; k < end; ++k)
    if (std::isfinite(t.floatAt(k)))
      m = std::max(m, std::fabs(t.floatAt(k)));
  return m;
}

std::string Divergence::describe(const char *refName,
                                 const char *gotName) const {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << "'" << output << "' element " << rt::formatShape(coords) << ": "
     << refName << llvm::format(" %.9g, ", ref) << gotName
     << llvm::format(" %.9g (%.3g ulps, budget %.3g)", got, ulps, budget);
  return s;
}

namespace {

/// The unit and the budget of every element of one floating output.
struct Budget {
  /// Per row (last axis): ulps of the row's largest finite |ref|.
  double maxUlps = 4;
  /// Probabilities: the relative bound propagated from the logits (< 0:
  /// use the row rule), in ulps of each probability itself.
  double relative = -1;

  void at(const HostTensor &ref, int64_t k, double rowScale, double &unit,
          double &budget) const {
    DType t = ref.dtype();
    if (relative >= 0) {
      double p = std::fabs(ref.floatAt(k));
      unit = ulpAt(t, p);
      budget = (p * relative + 2 * unit) / unit;
      return;
    }
    unit = ulpAt(t, rowScale);
    budget = t == DType::F32 ? maxUlps * 1024 : maxUlps;
  }
};

/// Compares one output element by element; `nearTie(k)` excuses a differing
/// integer at `k`. Updates `result` and returns the elements beyond budget.
template <typename NearTie>
int64_t compareModelOutput(const rt::ManifestArg &port, const HostTensor &ref,
                           const HostTensor &got, const Budget &budget,
                           NearTie nearTie, ModelComparison &result,
                           double &worst) {
  bool floating = rt::isFloat(ref.dtype());
  int64_t n = ref.numElements(), bad = 0;
  int64_t row = rowLength(ref);
  for (int64_t r0 = 0; r0 < n; r0 += row) {
    double scale = floating ? maxFinite(ref, r0, r0 + row) : 0;
    for (int64_t k = r0; k < r0 + row; ++k) {
      double x = ref.floatAt(k), y = got.floatAt(k), unit = 1, allowed = 0;
      if (floating)
        budget.at(ref, k, scale, unit, allowed);
      else if (x != y && nearTie(k))
        continue;
      double d = distance(x, y, unit);
      bool over = !(d <= allowed);
      double ratio = allowed > 0 ? d / allowed : (d > 0 ? INFINITY : 0);
      if (!over && !(ratio > worst))
        continue;
      Divergence div{port.name, k,      coordinatesOf(k, ref.shape()), x, y,
                     d,         allowed};
      if (ratio > worst || !result.largest.found())
        worst = ratio, result.largest = div;
      if (over && !bad++ && !result.first.found())
        result.first = div;
    }
  }
  return bad;
}

} // namespace

bool nova::backends::compareModelOutputs(const rt::ManifestEntry &entry,
                                         const std::vector<HostTensor> &ref,
                                         const std::vector<HostTensor> &got,
                                         const ModelTolerance &tolerance,
                                         llvm::raw_ostream &os,
                                         ModelComparison &result) {
  std::vector<const rt::ManifestArg *> outputs = outputsOf(entry);
  // Sampling's probabilities come from exp(round_T(logits / t)): a logits
  // difference δ moves x by at most δ/t + ulp_T(max |x|), and each
  // probability by a factor within e^(±2·Δx) (numerator and sum).
  int logits = indexOf(outputs, "logits");
  double relative = -1;
  if (logits >= 0 && tolerance.temperature > 0 &&
      rt::isFloat(ref[logits].dtype())) {
    const HostTensor &l = ref[logits];
    double delta = 0;
    for (int64_t k = 0; k < l.numElements(); ++k)
      delta =
          std::max(delta, distance(l.floatAt(k), got[logits].floatAt(k), 1));
    double t = tolerance.temperature;
    double dx =
        delta / t + ulpAt(l.dtype(), maxFinite(l, 0, l.numElements()) / t);
    relative = std::expm1(2 * dx);
  }
  Budget rows{tolerance.maxUlps, -1},
      probabilities{tolerance.maxUlps, relative};
  auto budgetOf = [&](size_t i) -> const Budget & {
    const std::string &name = outputs[i]->name;
    return name == "prob" || name == "top_probs" ? probabilities : rows;
  };
  int probs = indexOf(outputs, "top_probs");
  auto sameProbability = [&](int64_t k) {
    if (probs < 0 || !rt::isFloat(ref[probs].dtype()))
      return false;
    const HostTensor &p = ref[probs];
    int64_t row = rowLength(p);
    double unit, allowed;
    budgetOf(probs).at(p, k, maxFinite(p, k - k % row, k - k % row + row), unit,
                       allowed);
    return distance(ref[probs].floatAt(k), got[probs].floatAt(k), unit) <=
           allowed;
  };
  bool ok = true;
  double worst = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    bool ids = probs >= 0 && outputs[i]->name == "top_ids";
    int64_t bad = compareModelOutput(
        *outputs[i], ref[i], got[i], budgetOf(i),
        [&](int64_t k) { return ids && sameProbability(k); }, result, worst);
    if (!bad)
      continue;
    ok = false;
    os << llvm::format("%-14s %-16s ", outputs[i]->name.c_str(),
                       describe(*outputs[i]).c_str())
       << bad << " element(s) beyond the whole-model budget  FAIL\n";
  }
  return ok;
}
