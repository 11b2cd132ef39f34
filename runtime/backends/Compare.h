//===- Compare.h - Comparing two backends' outputs --------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The tolerance policy of docs/tolerance.md, applied output by output.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_BACKENDS_COMPARE_H
#define NOVA_RUNTIME_BACKENDS_COMPARE_H

#include "nova/runtime/HostTensor.h"
#include "nova/runtime/Manifest.h"

#include "llvm/Support/raw_ostream.h"

#include <vector>

namespace nova::backends {

/// Tolerance overrides; a negative value keeps the per-dtype default.
struct Tolerance {
  double abs = -1;
  double rel = -1;
};

/// The absolute and relative tolerance for `dtype` (docs/tolerance.md),
/// with `overrides` applied.
void tolerancesFor(rt::DType dtype, const Tolerance &overrides, double &abs,
                   double &rel);

/// Compares `got` with `ref`, the outputs of `entry`, output by output;
/// prints one line per output to `os` (only the failing ones unless
/// `verbose`) and, on a difference, "<tool>: error: <gotName> differs from
/// <refName> beyond the tolerance" to stderr. Integer outputs are exact, with
/// one exception (docs/tolerance.md): `top_ids` next to `top_probs` may hold
/// a different id where the two backends give that rank the same
/// probability within tolerance (a near-tie).
bool compareOutputs(const rt::ManifestEntry &entry, const char *refName,
                    const char *gotName, const std::vector<rt::HostTensor> &ref,
                    const std::vector<rt::HostTensor> &got,
                    const Tolerance &tolerance, bool verbose,
                    llvm::raw_ostream &os, const char *tool);

/// The whole-model rule of docs/tolerance.md ("Whole models"): the default
/// of `nova-run --generate --check`.
struct ModelTolerance {
  /// Budget for floating outputs, in ulps of the output's type at the
  /// magnitude of the element's row (its last axis); f32 outputs get 2^10
  /// times as many (accumulation order, docs/tolerance.md).
  double maxUlps = 4;
  /// The sampling temperature of the call, for the bound on `prob` and
  /// `top_probs` propagated from the `logits` difference; <= 0: unknown.
  double temperature = -1;
};

/// One element compared under the whole-model rule.
struct Divergence {
  std::string output;
  /// The row-major index and its coordinates in the output's shape.
  int64_t index = -1;
  std::vector<int64_t> coords;
  double ref = 0, got = 0;
  /// |got - ref| and the budget, both in ulps of the element's scale.
  double ulps = 0, budget = 0;

  bool found() const { return index >= 0; }
  /// "'k_cache' element [1, 0, 4, 0, 9]: interp -0.0173, cpu -0.0198
  /// (2.5 ulps, budget 4)".
  std::string describe(const char *refName, const char *gotName) const;
};

/// What compareModelOutputs found.
struct ModelComparison {
  /// The first element beyond its budget (in output order), if any.
  Divergence first;
  /// The element with the largest distance relative to its budget.
  Divergence largest;
};

/// Compares `got` with `ref` under `tolerance`: integer outputs exact (with
/// the near-tie exception of compareOutputs for `top_ids`), floating outputs
/// within their ulp budgets. Prints one line per failing output to `os`.
bool compareModelOutputs(const rt::ManifestEntry &entry,
                         const std::vector<rt::HostTensor> &ref,
                         const std::vector<rt::HostTensor> &got,
                         const ModelTolerance &tolerance, llvm::raw_ostream &os,
                         ModelComparison &result);

/// The outputs of `entry`, in order.
std::vector<const rt::ManifestArg *> outputsOf(const rt::ManifestEntry &entry);
/// The inputs (and state) of `entry`, in order.
std::vector<const rt::ManifestArg *> inputsOf(const rt::ManifestEntry &entry);
/// The index of the input or output called `name`, or -1.
int indexOf(const std::vector<const rt::ManifestArg *> &ports,
            llvm::StringRef name);

/// "bf16[2, 3]".
std::string describe(const rt::ManifestArg &arg);

} // namespace nova::backends

#endif // NOVA_RUNTIME_BACKENDS_COMPARE_H
