//===- Generate.cpp - Token generation on a backend -----------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "runtime/backends/Generate.h"

#include "llvm/Support/Format.h"

#include <algorithm>
#include <chrono>
#include <map>

using namespace nova;
using namespace nova::backends;
using rt::HostTensor;

static double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

namespace {

/// One entry as generation sees it.
struct Port {
  const rt::ManifestEntry *entry = nullptr;
  std::vector<const rt::ManifestArg *> inputs, outputs;

  explicit Port(const rt::ManifestEntry *e) : entry(e) {
    if (e) {
      inputs = inputsOf(*e);
      outputs = outputsOf(*e);
    }
  }
};

/// The state of one generation: positions, steps, carried tensors.
class Generation {
public:
  Generation(Backend &backend, Backend *checker, const GenerateOptions &options,
             llvm::raw_ostream &os, GenerateResult &result, std::string &error)
      : backend(backend), checker(checker), options(options), os(os),
        result(result), error(error),
        decode(backend.manifest().entry("decode")),
        prefill(backend.manifest().entry("prefill")) {}

  bool run(const interp::ParamLookup &params);

private:
  bool check(const interp::ParamLookup &params);
  bool checkCacheLength();
  bool compare(const Port &port, const std::vector<HostTensor> &out);
  bool call(const Port &port, const std::vector<HostTensor> &in,
            std::vector<HostTensor> &out, double *elapsed);
  bool inputsFor(const Port &port, const std::vector<int64_t> &tokens,
                 std::vector<HostTensor> &inputs);
  int64_t absorb(const Port &port, const std::vector<HostTensor> &outputs);
  bool step(const Port &port, const std::vector<int64_t> &tokens,
            double &elapsed, int64_t &next);

  Backend &backend;
  Backend *checker;
  const GenerateOptions &options;
  llvm::raw_ostream &os;
  GenerateResult &result;
  std::string &error;
  Port decode, prefill;
  bool usePrefill = false;
  std::map<std::string, HostTensor> state;
  int64_t position = 0, stepCount = 0;
  /// The call running now ("prefill", "decode step 3"), for reports.
  std::string callName;
  double worst = -1;
  std::vector<HostTensor> checkOutputs;
};

} // namespace

/// Checks the entries generation needs and binds their parameters.
bool Generation::check(const interp::ParamLookup &params) {
  if (!decode.entry) {
    error = "--generate needs an entry named 'decode' (and optionally "
            "'prefill')";
    return false;
  }
  for (const char *needed : {"tokens", "positions"})
    if (indexOf(decode.inputs, needed) < 0) {
      error =
          std::string("--generate needs a decode input named '") + needed + "'";
      return false;
    }
  if (indexOf(decode.outputs, "token") < 0) {
    error = "--generate needs a decode output named 'token'";
    return false;
  }
  int tokens = prefill.entry ? indexOf(prefill.inputs, "tokens") : -1;
  usePrefill = options.usePrefill && tokens >= 0 &&
               prefill.inputs[tokens]->shape.size() == 2 &&
               prefill.inputs[tokens]->shape[1] ==
                   static_cast<int64_t>(options.prompt.size());
  if (!checkCacheLength())
    return false;
  for (Backend *b : {&backend, checker})
    if (b && (!b->prepare("decode", params, error) ||
              (usePrefill && !b->prepare("prefill", params, error))))
      return false;
  return true;
}

/// Refuses, before any call, a generation that would write past the end of
/// a KV cache: kv_cache_update drops such entries silently (docs/semantics.md),
/// so the tokens would attend to a truncated context. The calls write the
/// prompt and every generated token but the last, P + count - 1 positions.
bool Generation::checkCacheLength() {
  int64_t needed =
      static_cast<int64_t>(options.prompt.size()) + options.count - 1;
  for (const rt::ManifestArg *in : decode.inputs) {
    size_t rank = in->shape.size();
    if (in->role != rt::ArgRole::State || rank < 4 ||
        in->shape[rank - 3] >= needed)
      continue;
    int64_t length = in->shape[rank - 3];
    error = "--generate " + std::to_string(options.count) +
            " after a prompt of " + std::to_string(options.prompt.size()) +
            " token(s) needs " + std::to_string(needed) +
            " positions of the KV cache, but '" + in->name + "' (" +
            describe(*in) + ") holds " + std::to_string(length) +
            "; generate at most " +
            std::to_string(std::max<int64_t>(
                length - static_cast<int64_t>(options.prompt.size()) + 1, 0)) +
            " tokens after this prompt";
    return false;
  }
  return true;
}

/// Compares one call's outputs with the checker's under the explicit
/// tolerances or, by default, the whole-model rule.
bool Generation::compare(const Port &port, const std::vector<HostTensor> &out) {
  const Tolerance &t = options.tolerance;
  if (t.abs >= 0 || t.rel >= 0) {
    if (compareOutputs(*port.entry, checker->name(), backend.name(),
                       checkOutputs, out, t, /*verbose=*/false, os, "nova-run"))
      return true;
    error = "call " + std::to_string(result.checkedCalls + 1) + " ('" +
            port.entry->name + "') differs";
    return false;
  }
  ModelTolerance model{options.maxUlps, options.temperature};
  ModelComparison found;
  bool ok =
      compareModelOutputs(*port.entry, checkOutputs, out, model, os, found);
  const Divergence &d = ok ? found.largest : found.first;
  if (!ok) {
    error = "call " + std::to_string(result.checkedCalls + 1) + " (" +
            callName + ") differs from " + checker->name() +
            " beyond the whole-model budget; first divergence: " +
            d.describe(checker->name(), backend.name());
    return false;
  }
  double ratio = d.budget > 0 ? d.ulps / d.budget : 0;
  if (d.found() && ratio > worst) {
    worst = ratio;
    result.largest = d;
    result.largestCall = "call " + std::to_string(result.checkedCalls + 1) +
                         " (" + callName + ")";
  }
  return true;
}

/// Runs one call; with a checker, also there, and compares. `elapsed` gets
/// the primary backend's time alone.
bool Generation::call(const Port &port, const std::vector<HostTensor> &in,
                      std::vector<HostTensor> &out, double *elapsed) {
  const std::string &entry = port.entry->name;
  auto t0 = std::chrono::steady_clock::now();
  if (!backend.run(entry, in, out, error))
    return false;
  if (elapsed)
    *elapsed = secondsSince(t0);
  if (!checker)
    return true;
  if (!checker->run(entry, in, checkOutputs, error) || !compare(port, out))
    return false;
  ++result.checkedCalls;
  return true;
}

/// The inputs of one call on `tokens` (the same for every row).
bool Generation::inputsFor(const Port &port, const std::vector<int64_t> &tokens,
                           std::vector<HostTensor> &inputs) {
  inputs.clear();
  int64_t t = static_cast<int64_t>(tokens.size());
  for (const rt::ManifestArg *in : port.inputs) {
    HostTensor value = HostTensor::zeros(in->dtype, in->shape);
    const std::string &name = in->name;
    if (name == "tokens" || name == "positions") {
      if (in->shape.size() != 2 || in->shape[1] != t) {
        error = "input '" + name + "' is " + describe(*in) + ", expected [B, " +
                std::to_string(t) + "]";
        return false;
      }
      for (int64_t b = 0; b < in->shape[0]; ++b)
        for (int64_t j = 0; j < t; ++j)
          value.setIntAt(b * t + j,
                         name == "tokens" ? tokens[j] : position + j);
    } else if (name == "temperature" || name == "top_p") {
      for (int64_t k = 0; k < value.numElements(); ++k)
        value.setFloatAt(k, name == "temperature" ? options.temperature
                                                  : options.topP);
    } else if (name == "seed") {
      value.setIntAt(0, static_cast<int64_t>(options.seed));
    } else if (name == "step") {
      value.setIntAt(0, stepCount);
    } else if (auto it = state.find(name); it != state.end()) {
      value = it->second;
    }
    inputs.push_back(std::move(value));
  }
  return true;
}

/// Keeps the outputs decode takes back as inputs; returns the next token.
int64_t Generation::absorb(const Port &port,
                           const std::vector<HostTensor> &outputs) {
  for (size_t i = 0; i < outputs.size(); ++i)
    if (indexOf(decode.inputs, port.outputs[i]->name) >= 0)
      state[port.outputs[i]->name] = outputs[i];
  return outputs[indexOf(port.outputs, "token")].intAt(0);
}

bool Generation::step(const Port &port, const std::vector<int64_t> &tokens,
                      double &elapsed, int64_t &next) {
  std::vector<HostTensor> inputs, outputs;
  if (!inputsFor(port, tokens, inputs) ||
      !call(port, inputs, outputs, &elapsed))
    return false;
  next = absorb(port, outputs);
  return true;
}

bool Generation::run(const interp::ParamLookup &params) {
  if (!check(params))
    return false;
  const std::vector<int64_t> &ids = options.prompt;
  os << "prompt:";
  for (int64_t id : ids)
    os << " " << id;
  os << "\n";
  int64_t next = 0;
  double prefillTime = 0, elapsed = 0;
  if (usePrefill) {
    callName = "prefill";
    if (!step(prefill, ids, prefillTime, next))
      return false;
    position = static_cast<int64_t>(ids.size());
  } else {
    for (int64_t id : ids) {
      callName = "prompt token " + std::to_string(position) + " through decode";
      if (!step(decode, {id}, elapsed, next))
        return false;
      prefillTime += elapsed;
      ++position;
    }
  }
  os << llvm::format(
      "prefill: %zu tokens in %.3f s (%s)\n", ids.size(), prefillTime,
      usePrefill ? "prefill entry" : "token by token through decode");
  result.tokens.push_back(next);
  ++stepCount;
  std::vector<double> stepTimes;
  for (unsigned n = 1; n < options.count; ++n) {
    callName = "decode step " + std::to_string(n);
    if (!step(decode, {next}, elapsed, next))
      return false;
    stepTimes.push_back(elapsed);
    result.tokens.push_back(next);
    ++position;
    ++stepCount;
  }
  int64_t batch = decode.inputs[indexOf(decode.inputs, "tokens")]->shape[0];
  os << "generated (" << backend.name() << ", batch " << batch << ", seed "
     << options.seed << "):";
  for (int64_t id : result.tokens)
    os << " " << id;
  os << "\n";
  if (!stepTimes.empty()) {
    std::sort(stepTimes.begin(), stepTimes.end());
    os << llvm::format(
        "decode: %zu steps, median %.2f ms/step (min %.2f, max %.2f)\n",
        stepTimes.size(), 1e3 * stepTimes[stepTimes.size() / 2],
        1e3 * stepTimes.front(), 1e3 * stepTimes.back());
  }
  if (checker && result.largest.found())
    os << "largest difference: "
       << result.largest.describe(checker->name(), backend.name()) << " in "
       << result.largestCall << "\n";
  if (checker)
    os << "checked against " << checker->name() << ": " << result.checkedCalls
       << " calls, every output within tolerance, tokens identical\n";
  return true;
}

bool nova::backends::generate(Backend &backend, Backend *checker,
                              const interp::ParamLookup &params,
                              const GenerateOptions &options,
                              llvm::raw_ostream &os, GenerateResult &result,
                              std::string &error) {
  Generation generation(backend, checker, options, os, result, error);
  return generation.run(params);
}
