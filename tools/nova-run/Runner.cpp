//===- Runner.cpp - nova-run's driver -------------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "tools/nova-run/Runner.h"
#include "tools/nova-run/Backends.h"

#include "dialect/NovaOps.h"
#include "passes/Import/SpecImport.h"
#include "passes/Passes.h"

#include "mlir/InitAllPasses.h"

#include "nova/runtime/Checkpoint.h"
#include "nova/runtime/Float.h"
#include "nova/runtime/Npy.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <cmath>
#include <cstring>
#include <map>
#include <random>

using namespace mlir;
namespace rt = ::nova::rt;
using ::nova::rt::DType;
using ::nova::rt::HostTensor;

namespace cl = llvm::cl;

//===----------------------------------------------------------------------===//
// Options
//===----------------------------------------------------------------------===//

static cl::OptionCategory runCategory("nova-run options");
static cl::opt<std::string> moduleFile(cl::Positional, cl::Required,
                                       cl::desc("<module.mlir|model.yaml>"),
                                       cl::cat(runCategory));
static cl::opt<std::string> entryName("entry",
                                      cl::desc("Entry point to run (default: "
                                               "the only one)"),
                                      cl::value_desc("name"),
                                      cl::cat(runCategory));
static cl::list<std::string>
    inputFiles("input", cl::desc("An input: NAME=FILE.npy (repeatable)"),
               cl::value_desc("name=file.npy"), cl::cat(runCategory));
static cl::opt<std::string>
    paramsFile("params",
               cl::desc("Checkpoint (safetensors) with the "
                        "module's parameters"),
               cl::value_desc("file.safetensors"), cl::cat(runCategory));
static cl::opt<std::string>
    outputDir("outputs", cl::desc("Directory for the outputs (NAME.npy)"),
              cl::value_desc("dir"), cl::cat(runCategory));
static cl::opt<std::string> backendName("backend",
                                        cl::desc("interp | cpu | cuda"),
                                        cl::init("interp"),
                                        cl::cat(runCategory));
static cl::opt<std::string>
    checkBackend("check",
                 cl::desc("Also run on this backend and compare the outputs"),
                 cl::value_desc("backend"), cl::cat(runCategory));
static cl::opt<uint64_t>
    seed("seed",
         cl::desc("Seed: the value of a scalar i64 input named 'seed' when "
                  "none is given, and of --random-params"),
         cl::init(0), cl::cat(runCategory));
static cl::opt<std::string> randomParams(
    "random-params",
    cl::desc("Write a random but valid checkpoint for the module and exit"),
    cl::value_desc("out.safetensors"), cl::cat(runCategory));
static cl::opt<unsigned>
    generate("generate",
             cl::desc("Generate this many tokens (see "
                      "docs/nova-run.md for the conventions)"),
             cl::init(0), cl::cat(runCategory));
static cl::opt<std::string> prompt("prompt",
                                   cl::desc("Prompt token ids for --generate: "
                                            "comma-separated"),
                                   cl::cat(runCategory));
static cl::opt<bool> usePrefillEntry(
    "use-prefill",
    cl::desc("With --generate, run the prompt through the 'prefill' entry "
             "when its length matches (otherwise token by token through "
             "'decode')"),
    cl::init(true), cl::cat(runCategory));
static cl::opt<float> temperature("temperature",
                                  cl::desc("Sampling temperature for "
                                           "--generate"),
                                  cl::init(0.8f), cl::cat(runCategory));
static cl::opt<float> topP("top-p", cl::desc("Nucleus top_p for --generate"),
                           cl::init(0.95f), cl::cat(runCategory));
static cl::opt<double>
    absTolerance("atol",
                 cl::desc("--check absolute tolerance (default: "
                          "per dtype, docs/tolerance.md)"),
                 cl::init(-1), cl::cat(runCategory));
static cl::opt<double>
    relTolerance("rtol",
                 cl::desc("--check relative tolerance (default: "
                          "per dtype, docs/tolerance.md)"),
                 cl::init(-1), cl::cat(runCategory));
static cl::opt<uint64_t> maxSpecBytes(
    "max-spec-bytes", cl::desc("Refuse YAML specs larger than this"),
    cl::init(::mlir::nova::kDefaultMaxSpecBytes), cl::cat(runCategory));

namespace {

int fail(const std::string &message) {
  llvm::errs() << "nova-run: error: " << message << "\n";
  return EXIT_FAILURE;
}

//===----------------------------------------------------------------------===//
// Module and signature
//===----------------------------------------------------------------------===//

OwningOpRef<ModuleOp> loadModule(MLIRContext &context,
                                 llvm::SourceMgr &sourceMgr) {
  return ::nova::run::loadModuleFile(context, sourceMgr, moduleFile,
                                     maxSpecBytes, "nova-run");
}

/// One argument or result of an entry point.
struct Port {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::string describe() const {
    return std::string(rt::dtypeName(dtype)) + rt::formatShape(shape);
  }
};

struct Signature {
  std::vector<Port> inputs, outputs;
  int inputIndex(StringRef name) const {
    for (size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].name == name)
        return static_cast<int>(i);
    return -1;
  }
  int outputIndex(StringRef name) const {
    for (size_t i = 0; i < outputs.size(); ++i)
      if (outputs[i].name == name)
        return static_cast<int>(i);
    return -1;
  }
};

bool signatureOf(func::FuncOp func, Signature &sig, std::string &error) {
  auto port = [&](Type type, StringAttr name, const std::string &fallback,
                  Port &out) {
    out.name = name ? name.getValue().str() : fallback;
    if (!::nova::interp::toRuntimeType(type, out.dtype, out.shape)) {
      error = "entry '" + func.getName().str() + "': '" + out.name +
              "' has a type nova-run cannot exchange";
      return false;
    }
    return true;
  };
  FunctionType type = func.getFunctionType();
  for (unsigned i = 0; i < type.getNumInputs(); ++i) {
    Port p;
    if (!port(type.getInput(i),
              func.getArgAttrOfType<StringAttr>(i, "nova.name"),
              "arg" + std::to_string(i), p))
      return false;
    sig.inputs.push_back(p);
  }
  for (unsigned i = 0; i < type.getNumResults(); ++i) {
    Port p;
    if (!port(type.getResult(i),
              func.getResultAttrOfType<StringAttr>(i, "nova.name"),
              "result" + std::to_string(i), p))
      return false;
    sig.outputs.push_back(p);
  }
  return true;
}

//===----------------------------------------------------------------------===//
// Parameters
//===----------------------------------------------------------------------===//

/// Unique nova.param ops of the module by path.
std::map<std::string, ::mlir::nova::ParamOp> paramsOf(ModuleOp module) {
  std::map<std::string, ::mlir::nova::ParamOp> params;
  module.walk([&](::mlir::nova::ParamOp op) {
    params.try_emplace(op.getPath().str(), op);
  });
  return params;
}

std::string layoutString(::mlir::nova::ScaleLayoutAttr layout) {
  std::string s;
  llvm::raw_string_ostream os(s);
  os << layout;
  return s;
}

/// Random but valid values: int8 weights uniform in [-127, 127] with scales
/// that give dequantized weights of standard deviation ~1/sqrt(K); float
/// matrices N(0, 1/sqrt(fan-in)); vectors (norm scales) around 1.
int writeRandomParams(ModuleOp module) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_int_distribution<int> int8(-127, 127);
  std::uniform_real_distribution<double> unit(0.5, 1.5);
  std::vector<std::pair<std::string, HostTensor>> tensors;
  std::map<std::string, std::string> metadata = {{"format", "nova"}};
  auto fill = [&](HostTensor &t, auto valueAt) {
    for (int64_t k = 0; k < t.numElements(); ++k)
      t.setFloatAt(k, valueAt(k));
  };
  for (auto &[path, op] : paramsOf(module)) {
    DType dtype;
    std::vector<int64_t> shape;
    ::nova::interp::toRuntimeType(op.getValue().getType(), dtype, shape);
    HostTensor value = HostTensor::zeros(dtype, shape);
    int64_t rows = shape.size() >= 2 ? shape[shape.size() - 2] : 1;
    if (op.isQuantized()) {
      fill(value, [&](int64_t) { return int8(rng); });
      DType sdtype;
      std::vector<int64_t> sshape;
      ::nova::interp::toRuntimeType(op.getScales().getType(), sdtype, sshape);
      HostTensor scales = HostTensor::zeros(sdtype, sshape);
      double base = 1.0 / (73.0 * std::sqrt(static_cast<double>(rows)));
      fill(scales, [&](int64_t) { return base * unit(rng); });
      tensors.emplace_back(path, std::move(value));
      tensors.emplace_back(path + ".scales", std::move(scales));
      metadata[path + ".scales.layout"] = layoutString(*op.getScaleLayout());
      continue;
    }
    if (rt::isFloat(dtype)) {
      if (shape.size() <= 1)
        fill(value, [&](int64_t) { return 1.0 + 0.1 * normal(rng); });
      else
        fill(value, [&](int64_t) {
          return normal(rng) / std::sqrt(static_cast<double>(shape.back()));
        });
    } else {
      fill(value, [&](int64_t) { return int8(rng); });
    }
    tensors.emplace_back(path, std::move(value));
  }
  std::string error;
  if (!rt::writeSafeTensors(randomParams, tensors, metadata, error))
    return fail(error);
  uint64_t bytes = 0;
  for (auto &[name, t] : tensors)
    bytes += t.sizeInBytes();
  llvm::outs() << "wrote " << tensors.size() << " tensors (" << bytes
               << " bytes) to " << randomParams << "\n";
  return EXIT_SUCCESS;
}

/// Opens the checkpoint (a file, an index or a directory), checks every
/// declared parameter's dtype, shape and scale layout against it, and
/// returns a zero-copy lookup.
bool openParams(ModuleOp module, std::shared_ptr<rt::Checkpoint> &ckpt,
                ::nova::interp::ParamLookup &lookup, std::string &error) {
  std::vector<::nova::run::DeclaredParameter> declared =
      ::nova::run::declaredParameters(module);
  if (paramsFile.empty()) {
    if (declared.empty()) {
      lookup = [](const std::string &name, HostTensor &, std::string &e) {
        e = "no checkpoint for parameter '" + name + "'";
        return false;
      };
      return true;
    }
    error = "the module has parameters; pass --params CKPT.safetensors (or "
            "create one with --random-params)";
    return false;
  }
  ckpt = rt::Checkpoint::open(paramsFile, error);
  if (!ckpt)
    return false;
  std::string problems;
  if (!rt::checkDeclared(*ckpt, ::nova::run::declaredTensors(declared),
                         problems)) {
    error = problems;
    return false;
  }
  lookup = [ckpt](const std::string &name, HostTensor &out, std::string &e) {
    return ckpt->view(name, out, e);
  };
  return true;
}

//===----------------------------------------------------------------------===//
// Inputs, outputs, comparison
//===----------------------------------------------------------------------===//

bool readInputs(const Signature &sig, std::vector<HostTensor> &inputs,
                std::string &error) {
  inputs.assign(sig.inputs.size(), HostTensor());
  std::vector<bool> given(sig.inputs.size(), false);
  for (const std::string &spec : inputFiles) {
    auto [name, file] = StringRef(spec).split('=');
    if (file.empty()) {
      error = "--input expects NAME=FILE.npy, got '" + spec + "'";
      return false;
    }
    int index = sig.inputIndex(name);
    if (index < 0) {
      std::string names;
      for (const Port &p : sig.inputs)
        names += (names.empty() ? "" : ", ") + p.name;
      error = "unknown input '" + name.str() + "'; the entry takes: " + names;
      return false;
    }
    if (given[index]) {
      error = "input '" + name.str() + "' is given twice";
      return false;
    }
    HostTensor raw;
    if (!rt::readNpy(file.str(), raw, error))
      return false;
    const Port &port = sig.inputs[index];
    if (raw.shape() != port.shape) {
      error = "input '" + port.name + "' ('" + file.str() + "'): expected " +
              port.describe() + ", got " + raw.describe();
      return false;
    }
    std::string convError;
    if (!rt::convertExactly(raw, port.dtype, inputs[index], convError)) {
      error = "input '" + port.name + "' ('" + file.str() + "'): " + convError;
      return false;
    }
    given[index] = true;
  }
  for (size_t i = 0; i < sig.inputs.size(); ++i) {
    if (given[i])
      continue;
    const Port &port = sig.inputs[i];
    if (port.name == "seed" && port.dtype == DType::I64 && port.shape.empty()) {
      inputs[i] = HostTensor::zeros(DType::I64, {});
      inputs[i].setIntAt(0, static_cast<int64_t>(seed.getValue()));
      continue;
    }
    error = "missing input '" + port.name + "' (" + port.describe() +
            "); pass --input " + port.name + "=FILE.npy";
    return false;
  }
  return true;
}

bool writeOutputs(const Signature &sig, const std::vector<HostTensor> &outputs,
                  std::string &error) {
  if (std::error_code ec = llvm::sys::fs::create_directories(outputDir)) {
    error = "cannot create '" + outputDir + "': " + ec.message();
    return false;
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    llvm::SmallString<256> path(outputDir);
    llvm::sys::path::append(path, sig.outputs[i].name + ".npy");
    if (!rt::writeNpy(path.str().str(), outputs[i], error))
      return false;
  }
  return true;
}

/// Default tolerances per dtype (docs/tolerance.md).
void tolerancesFor(DType dtype, double &a, double &r) {
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
  if (absTolerance >= 0)
    a = absTolerance;
  if (relTolerance >= 0)
    r = relTolerance;
}

/// Compares `got` with `ref` output by output; prints one line per output
/// (only the failing ones unless `verbose`). Integer outputs are exact, with
/// one exception (docs/tolerance.md): `top_ids` next to `top_probs` may hold
/// a different id where the two backends give that rank the same
/// probability within tolerance (a near-tie, when upstream float results
/// agree only within tolerance).
bool compareOutputs(const Signature &sig, const char *refName,
                    const char *gotName, const std::vector<HostTensor> &ref,
                    const std::vector<HostTensor> &got, bool verbose = true) {
  bool ok = true;
  int probs = sig.outputIndex("top_probs");
  double probAbs = 0, probRel = 0;
  if (probs >= 0)
    tolerancesFor(ref[probs].dtype(), probAbs, probRel);
  auto sameProbability = [&](int64_t k) {
    double x = ref[probs].floatAt(k), y = got[probs].floatAt(k);
    return std::fabs(x - y) <= probAbs + probRel * std::fabs(x);
  };
  int64_t nearTies = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    double a, r;
    tolerancesFor(ref[i].dtype(), a, r);
    double maxAbs = 0, maxRel = 0;
    int64_t bad = 0;
    bool ids = probs >= 0 && sig.outputs[i].name == "top_ids";
    for (int64_t k = 0; k < ref[i].numElements(); ++k) {
      double x = ref[i].floatAt(k), y = got[i].floatAt(k);
      if (ids && x != y && sameProbability(k)) {
        ++nearTies;
        continue;
      }
      if (std::isnan(x) && std::isnan(y))
        continue;
      double diff = std::fabs(x - y);
      if (std::isnan(diff) || (std::isinf(x) && x != y))
        diff = INFINITY;
      maxAbs = std::max(maxAbs, diff);
      if (x != 0)
        maxRel = std::max(maxRel, diff / std::fabs(x));
      if (!(diff <= a + r * std::fabs(x)))
        ++bad;
    }
    if (!verbose && bad == 0)
      continue;
    llvm::outs() << llvm::format("%-14s %-16s max abs %.3g  max rel %.3g  ",
                                 sig.outputs[i].name.c_str(),
                                 sig.outputs[i].describe().c_str(), maxAbs,
                                 maxRel)
                 << (bad ? "FAIL" : "ok")
                 << llvm::format(" (atol %g, rtol %g", a, r)
                 << (bad ? ", " + std::to_string(bad) + " elements off" : "")
                 << ")\n";
    ok &= bad == 0;
  }
  if (nearTies && verbose)
    llvm::outs() << "top_ids: " << nearTies
                 << " rank(s) hold another id of the same probability "
                    "(near-tie)\n";
  if (!ok)
    llvm::errs() << "nova-run: error: " << gotName << " differs from "
                 << refName << " beyond the tolerance\n";
  return ok;
}

//===----------------------------------------------------------------------===//
// Generation
//===----------------------------------------------------------------------===//

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
      .count();
}

/// See docs/nova-run.md: inputs tokens [B, T] and positions [B, T] are set
/// per step; an input named like an output is state carried from the
/// previous step's output (zeros at first); temperature/top_p [B] come from
/// the flags, seed and step (scalars) from --seed and the token count; the
/// output 'token' [B] is the next token.
int runGenerate(ModuleOp module, ::nova::interp::ParamLookup &lookup) {
  std::vector<int64_t> ids;
  for (StringRef piece : llvm::split(StringRef(prompt), ',')) {
    int64_t id;
    if (piece.trim().getAsInteger(10, id) || id < 0)
      return fail("--prompt expects comma-separated token ids, got '" + prompt +
                  "'");
    ids.push_back(id);
  }
  if (ids.empty())
    return fail("--generate needs --prompt");
  auto decodeFunc = module.lookupSymbol<func::FuncOp>("decode");
  if (!decodeFunc)
    return fail("--generate needs an entry named 'decode' (and optionally "
                "'prefill')");
  auto prefillFunc = module.lookupSymbol<func::FuncOp>("prefill");

  std::string error;
  auto compileStart = std::chrono::steady_clock::now();
  std::unique_ptr<::nova::run::Backend> backend =
      ::nova::run::createBackend(backendName, module, error);
  if (!backend)
    return fail(error);
  llvm::outs() << llvm::format("%s backend ready in %.2f s\n", backend->name(),
                               secondsSince(compileStart));

  Signature decodeSig, prefillSig;
  if (!signatureOf(decodeFunc, decodeSig, error) ||
      (prefillFunc && !signatureOf(prefillFunc, prefillSig, error)))
    return fail(error);
  for (const char *needed : {"tokens", "positions"})
    if (decodeSig.inputIndex(needed) < 0)
      return fail(std::string("--generate needs a decode input named '") +
                  needed + "'");
  if (decodeSig.outputIndex("token") < 0)
    return fail("--generate needs a decode output named 'token'");
  int64_t batch = decodeSig.inputs[decodeSig.inputIndex("tokens")].shape[0];
  bool usePrefill =
      usePrefillEntry && prefillFunc && prefillSig.inputIndex("tokens") >= 0 &&
      prefillSig.inputs[prefillSig.inputIndex("tokens")].shape[1] ==
          static_cast<int64_t>(ids.size());
  if (!backend->prepare("decode", lookup, error) ||
      (usePrefill && !backend->prepare("prefill", lookup, error)))
    return fail(error);
  // --check: every call also runs on the checking backend with the same
  // inputs (the primary backend's state), and its outputs must match.
  std::unique_ptr<::nova::run::Backend> checker;
  if (!checkBackend.empty()) {
    checker = ::nova::run::createBackend(checkBackend, module, error);
    if (!checker || !checker->prepare("decode", lookup, error) ||
        (usePrefill && !checker->prepare("prefill", lookup, error)))
      return fail(error);
  }
  int64_t checkedCalls = 0;
  std::vector<HostTensor> checkOutputs;
  // Runs `entry`; `elapsed` gets the primary backend's time alone.
  auto call = [&](const char *entry, const Signature &sig,
                  const std::vector<HostTensor> &in,
                  std::vector<HostTensor> &out,
                  double *elapsed = nullptr) -> bool {
    auto t0 = std::chrono::steady_clock::now();
    if (!backend->run(entry, in, out, error))
      return false;
    if (elapsed)
      *elapsed = secondsSince(t0);
    if (!checker)
      return true;
    if (!checker->run(entry, in, checkOutputs, error))
      return false;
    if (!compareOutputs(sig, checker->name(), backend->name(), checkOutputs,
                        out, /*verbose=*/false)) {
      error = "call " + std::to_string(checkedCalls + 1) + " ('" + entry +
              "') differs";
      return false;
    }
    ++checkedCalls;
    return true;
  };

  std::map<std::string, HostTensor> state;
  int64_t position = 0, stepCount = 0;
  // Builds the inputs of one call on `tokens` (the same for every row).
  auto inputsFor = [&](const Signature &sig, const std::vector<int64_t> &tokens,
                       std::vector<HostTensor> &inputs) -> bool {
    inputs.clear();
    int64_t t = static_cast<int64_t>(tokens.size());
    for (const Port &port : sig.inputs) {
      HostTensor value = HostTensor::zeros(port.dtype, port.shape);
      auto setInt = [&](int64_t k, int64_t v) { value.setIntAt(k, v); };
      auto setFloat = [&](int64_t k, double v) { value.setFloatAt(k, v); };
      if (port.name == "tokens" || port.name == "positions") {
        if (port.shape.size() != 2 || port.shape[1] != t) {
          error = "input '" + port.name + "' is " + port.describe() +
                  ", expected [B, " + std::to_string(t) + "]";
          return false;
        }
        for (int64_t b = 0; b < port.shape[0]; ++b)
          for (int64_t j = 0; j < t; ++j)
            setInt(b * t + j, port.name == "tokens" ? tokens[j] : position + j);
      } else if (port.name == "temperature" || port.name == "top_p") {
        for (int64_t k = 0; k < value.numElements(); ++k)
          setFloat(k, port.name == "temperature" ? temperature : topP);
      } else if (port.name == "seed") {
        setInt(0, static_cast<int64_t>(seed.getValue()));
      } else if (port.name == "step") {
        setInt(0, stepCount);
      } else if (auto it = state.find(port.name); it != state.end()) {
        value = it->second;
      }
      inputs.push_back(std::move(value));
    }
    return true;
  };
  auto absorb = [&](const Signature &sig, std::vector<HostTensor> &outputs) {
    for (size_t i = 0; i < outputs.size(); ++i)
      if (decodeSig.inputIndex(sig.outputs[i].name) >= 0)
        state[sig.outputs[i].name] = outputs[i];
    return outputs[sig.outputIndex("token")].intAt(0);
  };

  llvm::outs() << "prompt:";
  for (int64_t id : ids)
    llvm::outs() << " " << id;
  llvm::outs() << "\n";

  std::vector<HostTensor> inputs, outputs;
  std::vector<int64_t> generated;
  int64_t next = 0;
  double prefillTime = 0, elapsed = 0;
  if (usePrefill) {
    if (!inputsFor(prefillSig, ids, inputs) ||
        !call("prefill", prefillSig, inputs, outputs, &prefillTime))
      return fail(error);
    next = absorb(prefillSig, outputs);
    position = static_cast<int64_t>(ids.size());
  } else {
    for (int64_t id : ids) {
      if (!inputsFor(decodeSig, {id}, inputs) ||
          !call("decode", decodeSig, inputs, outputs, &elapsed))
        return fail(error);
      prefillTime += elapsed;
      next = absorb(decodeSig, outputs);
      ++position;
    }
  }
  llvm::outs() << llvm::format(
      "prefill: %zu tokens in %.3f s (%s)\n", ids.size(), prefillTime,
      usePrefill ? "prefill entry" : "token by token through decode");
  generated.push_back(next);
  ++stepCount;
  std::vector<double> stepTimes;
  for (unsigned n = 1; n < generate; ++n) {
    if (!inputsFor(decodeSig, {next}, inputs) ||
        !call("decode", decodeSig, inputs, outputs, &elapsed))
      return fail(error);
    stepTimes.push_back(elapsed);
    next = absorb(decodeSig, outputs);
    generated.push_back(next);
    ++position;
    ++stepCount;
  }
  llvm::outs() << "generated (" << backend->name() << ", batch " << batch
               << ", seed " << seed << "):";
  for (int64_t id : generated)
    llvm::outs() << " " << id;
  llvm::outs() << "\n";
  if (!stepTimes.empty()) {
    std::sort(stepTimes.begin(), stepTimes.end());
    llvm::outs() << llvm::format(
        "decode: %zu steps, median %.2f ms/step (min %.2f, max %.2f)\n",
        stepTimes.size(), 1e3 * stepTimes[stepTimes.size() / 2],
        1e3 * stepTimes.front(), 1e3 * stepTimes.back());
  }
  if (checker)
    llvm::outs() << "checked against " << checker->name() << ": "
                 << checkedCalls
                 << " calls, every output within tolerance, tokens identical\n";
  return EXIT_SUCCESS;
}

} // namespace

int ::nova::run::novaRunMain(int argc, char **argv) {
  registerAllPasses();
  ::mlir::nova::registerNovaPasses();
  cl::HideUnrelatedOptions(runCategory);
  cl::ParseCommandLineOptions(argc, argv, "Run a Nova module\n");

  DialectRegistry registry;
  ::mlir::nova::registerNovaCompilerDialects(registry);
  MLIRContext context(registry);
  context.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = loadModule(context, sourceMgr);
  if (!module || failed(verify(*module)))
    return EXIT_FAILURE;

  if (!randomParams.empty())
    return writeRandomParams(*module);

  std::shared_ptr<rt::Checkpoint> checkpoint;
  ::nova::interp::ParamLookup lookup;
  std::string error;
  if (!openParams(*module, checkpoint, lookup, error))
    return fail(error);
  if (generate > 0)
    return runGenerate(*module, lookup);

  std::vector<std::string> entries =
      ::nova::interp::Interpreter(*module).entries();
  std::string entry = entryName;
  if (entry.empty()) {
    if (entries.size() != 1)
      return fail("the module has " + std::to_string(entries.size()) +
                  " entry points (" + llvm::join(entries, ", ") +
                  "); choose one with --entry");
    entry = entries.front();
  }
  auto func = module->lookupSymbol<func::FuncOp>(entry);
  if (!func)
    return fail("no entry point '" + entry +
                "' (the module has: " + llvm::join(entries, ", ") + ")");
  Signature sig;
  std::vector<HostTensor> inputs, outputs;
  if (!signatureOf(func, sig, error) || !readInputs(sig, inputs, error))
    return fail(error);

  std::unique_ptr<Backend> backend = createBackend(backendName, *module, error);
  if (!backend || !backend->prepare(entry, lookup, error))
    return fail(error);
  auto t0 = std::chrono::steady_clock::now();
  if (!backend->run(entry, inputs, outputs, error))
    return fail(error);
  llvm::outs() << llvm::format("%s: ran '%s' in %.3f s\n", backend->name(),
                               entry.c_str(), secondsSince(t0));

  if (!checkBackend.empty()) {
    std::unique_ptr<Backend> other =
        createBackend(checkBackend, *module, error);
    std::vector<HostTensor> otherOutputs;
    if (!other || !other->prepare(entry, lookup, error) ||
        !other->run(entry, inputs, otherOutputs, error))
      return fail(error);
    if (!compareOutputs(sig, backend->name(), other->name(), outputs,
                        otherOutputs))
      return EXIT_FAILURE;
  }
  if (!outputDir.empty() && !writeOutputs(sig, outputs, error))
    return fail(error);
  if (outputDir.empty()) {
    for (size_t i = 0; i < outputs.size(); ++i) {
      llvm::outs() << sig.outputs[i].name << " = " << outputs[i].describe();
      if (outputs[i].numElements() <= 16) {
        llvm::outs() << " [";
        for (int64_t k = 0; k < outputs[i].numElements(); ++k)
          llvm::outs() << (k ? ", " : "")
                       << llvm::format("%g", outputs[i].floatAt(k));
        llvm::outs() << "]";
      }
      llvm::outs() << "\n";
    }
  }
  return EXIT_SUCCESS;
}
