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
