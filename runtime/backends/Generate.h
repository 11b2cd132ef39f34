//===- Generate.h - Token generation on a backend ---------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// The generation loop of `nova-run --generate` (docs/nova-run.md): a prompt
// through the `prefill` entry (or token by token through `decode`), then
// decode steps, state carried from outputs to inputs of the same name,
// optionally every call checked against a second backend.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_BACKENDS_GENERATE_H
#define NOVA_RUNTIME_BACKENDS_GENERATE_H

#include "runtime/backends/Backends.h"
#include "runtime/backends/Compare.h"

#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <vector>

namespace nova::backends {

struct GenerateOptions {
  std::vector<int64_t> prompt;
  /// Tokens to generate (the first comes from the prompt's last call).
  unsigned count = 0;
  float temperature = 0.8f;
  float topP = 0.95f;
  uint64_t seed = 0;
  /// Run the prompt through `prefill` when its length matches.
  bool usePrefill = true;
  /// Explicit tolerances of the check against `checker` (--atol/--rtol);
  /// when neither is set, the whole-model rule with `maxUlps` applies.
  Tolerance tolerance;
  /// The whole-model budget in ulps (docs/tolerance.md).
  double maxUlps = 4;
};

struct GenerateResult {
  std::vector<int64_t> tokens;
  /// Calls checked against the checker, all within tolerance.
  int64_t checkedCalls = 0;
  /// Under the whole-model rule: the element closest to (or beyond) its
  /// budget over all checked calls, and the call it came from.
  Divergence largest;
  std::string largestCall;
};

/// Generates on `backend` (and, when `checker` is not null, runs every call
/// on it too and compares); parameters come from `params`. Prints the
/// prompt, the prefill time, the tokens and the decode step times to `os`.
/// Fails with `error` (and the differing outputs printed to `os`): before
/// the first call when the prompt and the tokens to generate need more
/// positions than a KV cache (a state input [..., B, S, H, Dh]) holds; on a
/// difference, naming the call and its first divergent element.
bool generate(Backend &backend, Backend *checker,
              const interp::ParamLookup &params, const GenerateOptions &options,
              llvm::raw_ostream &os, GenerateResult &result,
              std::string &error);

} // namespace nova::backends

#endif // NOVA_RUNTIME_BACKENDS_GENERATE_H
