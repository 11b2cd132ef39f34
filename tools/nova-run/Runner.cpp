//===- Runner.cpp - nova-run's driver -------------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "tools/nova-run/Runner.h"

#include "passes/Driver/LoadModel.h"
#include "passes/Import/SpecImport.h"
#include "passes/Passes.h"
#include "runtime/backends/Backends.h"
#include "runtime/backends/Compare.h"
#include "runtime/backends/Generate.h"
#include "runtime/backends/ModuleParams.h"

#include "nova/runtime/Npy.h"
#include "nova/runtime/SafeTensors.h"

#include "mlir/IR/Verifier.h"
#include "mlir/InitAllPasses.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace mlir;
namespace rt = ::nova::rt;
using ::nova::rt::DType;
using ::nova::rt::HostTensor;
using namespace ::nova::backends;

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
    generateCount("generate",
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
static cl::opt<double> maxUlps(
    "max-ulps",
    cl::desc("--generate --check: the whole-model budget in ulps of each "
             "row's magnitude (docs/tolerance.md; --atol/--rtol replace the "
             "rule)"),
    cl::init(4), cl::cat(runCategory));
static cl::opt<uint64_t> maxSpecBytes(
    "max-spec-bytes", cl::desc("Refuse YAML specs larger than this"),
    cl::init(::mlir::nova::kDefaultMaxSpecBytes), cl::cat(runCategory));

namespace {

int fail(const std::string &message) {
  llvm::errs() << "nova-run: error: " << message << "\n";
  return EXIT_FAILURE;
}

/// Writes --random-params: random but valid values for every parameter.
int writeRandomParams(const rt::ModuleManifest &manifest) {
  std::map<std::string, std::string> metadata = {{"format", "nova"}};
  // Large specs take a while: a line on stderr every 2 s after the first.
  auto start = std::chrono::steady_clock::now(), last = start;
  auto progress = [&](size_t done, uint64_t bytes) {
    auto now = std::chrono::steady_clock::now();
    if (now - last < std::chrono::seconds(2) && done != manifest.params.size())
      return;
    if (now - start < std::chrono::seconds(1))
      return;
    last = now;
    llvm::errs() << llvm::format(
        "random-params: %zu/%zu parameters, %.2f GB, %.0f s\n", done,
        manifest.params.size(), bytes / 1e9,
        std::chrono::duration<double>(now - start).count());
  };
  std::vector<std::pair<std::string, HostTensor>> tensors =
      randomParameters(manifest, seed, metadata, progress);
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

//===----------------------------------------------------------------------===//
// Inputs, outputs, comparison
//===----------------------------------------------------------------------===//

bool readInputs(const rt::ManifestEntry &entry, std::vector<HostTensor> &inputs,
                std::string &error) {
  std::vector<const rt::ManifestArg *> ports = inputsOf(entry);
  inputs.assign(ports.size(), HostTensor());
  std::vector<bool> given(ports.size(), false);
  for (const std::string &spec : inputFiles) {
    auto [name, file] = StringRef(spec).split('=');
    if (file.empty()) {
      error = "--input expects NAME=FILE.npy, got '" + spec + "'";
      return false;
    }
    int index = indexOf(ports, name);
    if (index < 0) {
      std::string names;
      for (const rt::ManifestArg *p : ports)
        names += (names.empty() ? "" : ", ") + p->name;
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
    const rt::ManifestArg &port = *ports[index];
    if (raw.shape() != port.shape) {
      error = "input '" + port.name + "' ('" + file.str() + "'): expected " +
              describe(port) + ", got " + raw.describe();
      return false;
    }
    std::string convError;
    if (!rt::convertExactly(raw, port.dtype, inputs[index], convError)) {
      error = "input '" + port.name + "' ('" + file.str() + "'): " + convError;
      return false;
    }
    given[index] = true;
  }
  for (size_t i = 0; i < ports.size(); ++i) {
    if (given[i])
      continue;
    const rt::ManifestArg &port = *ports[i];
    if (port.name == "seed" && port.dtype == DType::I64 && port.shape.empty()) {
      inputs[i] = HostTensor::zeros(DType::I64, {});
      inputs[i].setIntAt(0, static_cast<int64_t>(seed.getValue()));
      continue;
    }
    error = "missing input '" + port.name + "' (" + describe(port) +
            "); pass --input " + port.name + "=FILE.npy";
    return false;
  }
  return true;
}

bool writeOutputs(const rt::ManifestEntry &entry,
                  const std::vector<HostTensor> &outputs, std::string &error) {
  std::vector<const rt::ManifestArg *> ports = outputsOf(entry);
  if (std::error_code ec = llvm::sys::fs::create_directories(outputDir)) {
    error = "cannot create '" + outputDir + "': " + ec.message();
    return false;
  }
  for (size_t i = 0; i < outputs.size(); ++i) {
    llvm::SmallString<256> path(outputDir);
    llvm::sys::path::append(path, ports[i]->name + ".npy");
    if (!rt::writeNpy(path.str().str(), outputs[i], error))
      return false;
  }
  return true;
}

Tolerance tolerance() { return {absTolerance, relTolerance}; }

/// --generate on the chosen backend, checked against --check's.
int runGenerate(ModuleOp module, const ::nova::interp::ParamLookup &lookup) {
  GenerateOptions options;
  for (StringRef piece : llvm::split(StringRef(prompt), ',')) {
    int64_t id;
    if (piece.trim().getAsInteger(10, id) || id < 0)
      return fail("--prompt expects comma-separated token ids, got '" + prompt +
                  "'");
    options.prompt.push_back(id);
  }
  if (options.prompt.empty())
    return fail("--generate needs --prompt");
  options.count = generateCount;
  options.temperature = temperature;
  options.topP = topP;
  options.seed = seed;
  options.usePrefill = usePrefillEntry;
  options.tolerance = tolerance();
  options.maxUlps = maxUlps;
  std::string error;
  auto compileStart = std::chrono::steady_clock::now();
  std::unique_ptr<Backend> backend = createBackend(backendName, module, error);
  if (!backend)
    return fail(error);
  llvm::outs() << llvm::format(
      "%s backend ready in %.2f s\n", backend->name(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                    compileStart)
          .count());
  std::unique_ptr<Backend> checker;
  if (!checkBackend.empty() &&
      !(checker = createBackend(checkBackend, module, error)))
    return fail(error);
  GenerateResult result;
  if (!::nova::backends::generate(*backend, checker.get(), lookup, options,
                                  llvm::outs(), result, error))
    return fail(error);
  return EXIT_SUCCESS;
}

} // namespace

namespace {

/// Prints the outputs of `entry` (small ones with their values).
void printOutputs(const rt::ManifestEntry &entry,
                  const std::vector<HostTensor> &outputs) {
  std::vector<const rt::ManifestArg *> ports = outputsOf(entry);
  for (size_t i = 0; i < outputs.size(); ++i) {
    llvm::outs() << ports[i]->name << " = " << outputs[i].describe();
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

/// One call of --entry (or the only entry) on --backend, checked against
/// --check, outputs printed or written to --outputs.
int runEntry(ModuleOp module, const rt::ModuleManifest &manifest,
             const ::nova::interp::ParamLookup &lookup) {
  std::vector<std::string> entries;
  for (const rt::ManifestEntry &e : manifest.entries)
    entries.push_back(e.name);
  std::string name = entryName;
  if (name.empty()) {
    if (entries.size() != 1)
      return fail("the module has " + std::to_string(entries.size()) +
                  " entry points (" + llvm::join(entries, ", ") +
                  "); choose one with --entry");
    name = entries.front();
  }
  const rt::ManifestEntry *entry = manifest.entry(name);
  if (!entry)
    return fail("no entry point '" + name +
                "' (the module has: " + llvm::join(entries, ", ") + ")");
  std::string error;
  std::vector<HostTensor> inputs, outputs;
  if (!readInputs(*entry, inputs, error))
    return fail(error);
  std::unique_ptr<Backend> backend = createBackend(backendName, module, error);
  if (!backend || !backend->prepare(name, lookup, error))
    return fail(error);
  auto t0 = std::chrono::steady_clock::now();
  if (!backend->run(name, inputs, outputs, error))
    return fail(error);
  llvm::outs() << llvm::format(
      "%s: ran '%s' in %.3f s\n", backend->name(), name.c_str(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count());
  if (!checkBackend.empty()) {
    std::unique_ptr<Backend> other = createBackend(checkBackend, module, error);
    std::vector<HostTensor> otherOutputs;
    if (!other || !other->prepare(name, lookup, error) ||
        !other->run(name, inputs, otherOutputs, error))
      return fail(error);
    if (!compareOutputs(*entry, backend->name(), other->name(), outputs,
                        otherOutputs, tolerance(), /*verbose=*/true,
                        llvm::outs(), "nova-run"))
      return EXIT_FAILURE;
  }
  if (!outputDir.empty())
    return writeOutputs(*entry, outputs, error) ? EXIT_SUCCESS : fail(error);
  printOutputs(*entry, outputs);
  return EXIT_SUCCESS;
}

} // namespace

int ::nova::run::novaRunMain(int argc, char **argv) {
  registerAllPasses();
  ::mlir::nova::registerNovaPasses();
  cl::HideUnrelatedOptions(runCategory);
  cl::ParseCommandLineOptions(argc, argv, "Run a Nova module\n");

  ::mlir::nova::ToolContext tool;
  MLIRContext &context = tool.context;
  llvm::SourceMgr &sourceMgr = tool.sourceMgr;
  ::mlir::nova::LoadModelOptions load;
  load.maxSpecBytes = maxSpecBytes;
  load.tool = "nova-run";
  rt::ModuleManifest manifest;
  OwningOpRef<ModuleOp> module =
      ::mlir::nova::loadModel(context, sourceMgr, moduleFile, load, manifest);
  if (!module)
    return EXIT_FAILURE;
  if (!randomParams.empty())
    return writeRandomParams(manifest);

  std::shared_ptr<rt::Checkpoint> checkpoint;
  ::nova::interp::ParamLookup lookup;
  std::string error;
  if (!openParameters(manifest, paramsFile, checkpoint, lookup, error))
    return fail(error);
  if (generateCount > 0)
    return runGenerate(*module, lookup);
  return runEntry(*module, manifest, lookup);
}
