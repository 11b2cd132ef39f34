//===- Compare.cpp - Comparing two backends' outputs ----------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "runtime/backends/Compare.h"

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
