//===- Runner.cpp - nova-run's driver -------------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "tools/nova-run/Runner.h"

#include "passes/Driver/LoadModel.h"
#include "passes/Driver/ToolSupport.h"
#include "passes/Import/SpecImport.h"
#include "passes/Passes.h"
#include "runtime/backends/Backends.h"
#include "runtime/backends/Compare.h"
#include "runtime/backends/Generate.h"
#include "runtime/backends/ModuleParams.h"
#include "runtime/backends/Spmd.h"

#include "nova/runtime/AtomicFile.h"
#include "nova/runtime/Mpi.h"
#include "nova/runtime/Npy.h"
#include "nova/runtime/SafeTensors.h"
#include "nova/runtime/Shape.h"
#include "nova/runtime/TensorLiteral.h"
#include "nova/runtime/Text.h"

#include "mlir/IR/Verifier.h"
#include "mlir/InitAllPasses.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Signals.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <thread>
#include <unistd.h>

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
    inputFiles("input",
               cl::desc("An input: NAME=FILE.npy, or inline NAME=3, "
                        "NAME=1,2,3 or NAME=2x2xi32=1,2,3,4 (repeatable; "
                        "docs/nova-run.md)"),
               cl::value_desc("name=file.npy"), cl::cat(runCategory));
static cl::opt<std::string>
    paramsFile("params",
               cl::desc("Checkpoint (safetensors) with the "
                        "module's parameters"),
               cl::value_desc("file.safetensors"), cl::cat(runCategory));
static cl::opt<std::string>
    outputDir("outputs", cl::desc("Directory for the outputs (NAME.npy)"),
              cl::value_desc("dir"), cl::cat(runCategory));
static cl::opt<std::string> expectDir(
    "expect-outputs",
    cl::desc("Compare the outputs with DIR/NAME.npy (e.g. another run's "
             "--outputs) under the tolerance policy (docs/tolerance.md; "
             "--atol/--rtol override it); a difference is an error"),
    cl::value_desc("dir"), cl::cat(runCategory));
static cl::opt<std::string>
    backendName("backend",
                cl::desc("interp | cpu | cuda (default: interp; cpu in an "
                         "SPMD run, which the interpreter runs only "
                         "unpartitioned)"),
                cl::init("interp"), cl::cat(runCategory));
static cl::opt<std::string>
    checkBackend("check",
                 cl::desc("Also run on this backend and compare the outputs"),
                 cl::value_desc("backend"), cl::cat(runCategory));
static cl::opt<uint64_t>
    seed("seed",
         cl::desc("Seed: the value of a scalar i64 input named 'seed' when "
                  "none is given, and of --random-params"),
         cl::init(0), cl::cat(runCategory));
static cl::opt<::mlir::nova::Numerics> numerics(
    "numerics",
    cl::desc("Numerics of every nova.qmatmul, on every backend (default: "
             "as the module has them; a spec imports as exact)"),
    cl::init(::mlir::nova::Numerics::AsWritten), ::mlir::nova::numericsValues(),
    cl::cat(runCategory));
static cl::opt<std::string> randomParams(
    "random-params",
    cl::desc("Write a random but valid checkpoint for the module and exit "
             "(with --generate, --entry, --input, --outputs or --check: then "
             "run on it)"),
    cl::value_desc("out.safetensors"), cl::cat(runCategory));
static cl::opt<unsigned>
    generateCount("generate",
                  cl::desc("Generate this many tokens (see "
                           "docs/nova-run.md for the conventions)"),
                  cl::init(0), cl::cat(runCategory));
static cl::opt<std::string>
    prompt("prompt",
           cl::desc("Prompt token ids for --generate: comma-separated "
                    "(default: the one token 1, SentencePiece's <s>)"),
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
static cl::opt<std::string>
    rulesFile("rules",
              cl::desc("Partition rules (YAML) for the module's parameters; "
                       "their mesh is the one an SPMD run spans"),
              cl::value_desc("rules.yaml"), cl::cat(runCategory));
static cl::opt<int>
    ranksOption("ranks",
                cl::desc("Run SPMD on this many ranks: relaunch through "
                         "mpirun.mpich -n N (docs/distributed.md)"),
                cl::value_desc("N"), cl::init(0), cl::cat(runCategory));
static cl::opt<double> mpiTimeout(
    "mpi-timeout",
    cl::desc("Under MPI: abort the run when a rank waits on the others (or "
             "one call runs) longer than this; 0: no limit"),
    cl::value_desc("seconds"), cl::init(300), cl::cat(runCategory));
static cl::list<int64_t> betweenHosts(
    "between-hosts",
    cl::desc("Grok-1's between_hosts_config (e.g. 2,1): the hosts whose "
             "suffix {host} in --params names"),
    cl::value_desc("D,M"), cl::CommaSeparated, cl::cat(runCategory));
static cl::opt<bool> reportCompile(
    "report-compile",
    cl::desc("After compiling for the CPU, print the time taken and whether "
             "the object came from the compile cache (NOVA_CACHE_DIR)"),
    cl::cat(runCategory));
static cl::opt<bool> noCompileCache(
    "no-compile-cache",
    cl::desc("Neither reuse nor store compiled objects in the compile cache"),
    cl::cat(runCategory));
static cl::opt<std::string> targetCpu(
    "target-cpu",
    cl::desc("The CPU backend compiles for this instruction-set tier: "
             "'native' (the host) or an LLVM CPU name the host runs, e.g. "
             "x86-64-v3 (what an AOT object runs by default)"),
    cl::value_desc("cpu"), cl::init("native"), cl::cat(runCategory));
static cl::opt<uint64_t> maxSpecBytes(
    "max-spec-bytes", cl::desc("Refuse YAML specs larger than this"),
    cl::init(::mlir::nova::kDefaultMaxSpecBytes), cl::cat(runCategory));
static cl::opt<uint64_t> maxSpecOps(
    "max-spec-ops",
    cl::desc("Refuse YAML specs that unroll to more graph ops, parameters, "
             "inputs and rules than this"),
    cl::init(::mlir::nova::kDefaultMaxSpecOps), cl::cat(runCategory));

namespace {

//===----------------------------------------------------------------------===//
// SPMD runs
//===----------------------------------------------------------------------===//

/// This process's part in an SPMD run (docs/distributed.md); inactive for a
/// plain single-process run, which never touches MPI.
struct Session {
  bool spmd = false;
  /// In an SPMD run whose ranks run the partitioned program: this rank's
  /// place (split state values are cut and gathered at the entry).
  const RankPlacement *placement = nullptr;
  int rank = 0;
  int ranks = 1;
  std::unique_ptr<rt::mpi::Watchdog> watchdog;
};
Session session;

/// The backend runs use: --backend, else the interpreter in one process and
/// the CPU JIT in an SPMD run (whose per-rank program only compiled
/// backends run).
std::string runBackend() {
  if (backendName.getNumOccurrences() || !session.spmd)
    return backendName;
  return "cpu";
}

/// What every backend of the run is created with (the communicator is the
/// rank program's).
BackendOptions backendOptions() {
  BackendOptions options;
  options.reportCompile = reportCompile;
  options.useCompileCache = !noCompileCache;
  options.targetCpu = targetCpu;
  return options;
}

/// Reports `message`; under MPI prefixed with the rank, and the whole run is
/// aborted (MPI_Abort: hydra kills every rank and exits non-zero).
int fail(const std::string &message) {
  if (!session.spmd) {
    llvm::errs() << "nova-run: error: " << message << "\n";
    return EXIT_FAILURE;
  }
  // One write, so that the lines of ranks failing together do not mix.
  std::string line = "nova-run: rank " + std::to_string(session.rank) +
                     ": error: " + message + "\n";
  llvm::outs().flush();
  llvm::errs() << line;
  llvm::errs().flush();
  rt::mpi::abort(EXIT_FAILURE);
}

/// A failure every rank finds alike (a flag, the mesh): rank 0 reports it,
/// the others wait to be ended by its abort.
int failAlike(const std::string &message) {
  if (session.spmd && session.rank != 0) {
    // Only if rank 0 did not fail alike does this wait end: then this rank
    // reports the failure itself.
    rt::mpi::Watchdog::Scope scope =
        session.watchdog->watch("waiting for rank 0 to report a failure");
    std::string ignored;
    rt::mpi::barrier(ignored);
  }
  return fail(message);
}

/// Waits until every rank gets here; `what` ("waiting for ...") names the
/// wait when the watchdog ends it.
void synchronize(const std::string &what) {
  if (!session.spmd)
    return;
  rt::mpi::Watchdog::Scope scope = session.watchdog->watch(what);
  std::string error;
  if (!rt::mpi::barrier(error))
    fail(error);
}

/// "2", "0.5": seconds as --mpi-timeout takes them.
std::string formatSeconds(double seconds) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", seconds);
  return text;
}

/// What the watchdog does when a wait outlives --mpi-timeout: beside the
/// thread blocked in MPI, it prints with one write and aborts the job.

void timedOut(const std::string &what, double seconds) {
  std::string limit = formatSeconds(seconds);
  std::string line = "nova-run: rank " + std::to_string(session.rank) +
                     ": error: timed out after " + limit + " s " + what +
                     " (--mpi-timeout " + limit +
                     "): another rank failed or hangs; aborting the run\n";
  (void)!::write(STDERR_FILENO, line.data(), line.size());
  rt::mpi::abort(EXIT_FAILURE);
}

/// The line a rank prints when it crashes (a fatal signal: an abort on
/// running out of memory, a segfault): formatted before, written from the
/// signal handler. Hydra then reports the signal and ends the other ranks.
char crashLine[96];

void reportCrash(void *) {
  (void)!::write(STDERR_FILENO, crashLine, std::strlen(crashLine));
}

/// Test-only fault injection for the fault tests of docs/distributed.md
/// ("Test hooks"), run once a rank holds its parameters:
/// NOVA_TEST_KILL_RANK=R makes rank R kill itself with SIGKILL (a rank
/// killed by a signal), NOVA_TEST_HANG_RANK=R makes it sleep forever (a rank
/// that hangs).
void runTestHooks() {
  auto named = [](const char *variable) {
    const char *value = std::getenv(variable);
    return value && std::to_string(session.rank) == value;
  };
  if (named("NOVA_TEST_KILL_RANK"))
    ::raise(SIGKILL);
  if (named("NOVA_TEST_HANG_RANK"))
    for (;;)
      ::pause();
}

/// `nova-run --ranks N ARGS`: becomes `mpirun.mpich -n N nova-run ARGS`
/// (without --ranks); mpirun's exit status is then this process's.
int relaunch(int argc, char **argv) {
  std::optional<rt::mpi::Launch> launch;
  std::string error;
  if (!rt::mpi::detectLaunch(launch, error))
    return fail(error);
  if (launch)
    return fail("--ranks starts mpirun.mpich itself; under mpirun, leave it "
                "out");
  if (ranksOption < 1)
    return fail("--ranks expects a positive number of ranks, got " +
                std::to_string(ranksOption));
  std::vector<std::string> command = {llvm::sys::fs::getMainExecutable(
      argv[0], reinterpret_cast<void *>(&::nova::run::novaRunMain))};
  for (int i = 1; i < argc; ++i) {
    StringRef arg(argv[i]);
    if (arg == "--") {
      command.insert(command.end(), argv + i, argv + argc);
      break;
    }
    StringRef name = arg.starts_with("-") ? arg.ltrim('-') : StringRef();
    if (name == "ranks") {
      ++i; // its value
      continue;
    }
    if (name.starts_with("ranks="))
      continue;
    command.push_back(arg.str());
  }
  rt::mpi::execMpirun(ranksOption, command, error);
  return fail(error);
}

//===----------------------------------------------------------------------===//
// Random parameters
//===----------------------------------------------------------------------===//

/// Random but valid values for every parameter (the same on every rank).
std::vector<std::pair<std::string, HostTensor>>
makeRandomParams(const rt::ModuleManifest &manifest,
                 std::map<std::string, std::string> &metadata) {
  metadata = {{"format", "nova"}};
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
  return randomParameters(manifest, seed, metadata, progress);
}

/// Writes --random-params (rank 0 alone under MPI).
bool writeRandomParams(
    const std::vector<std::pair<std::string, HostTensor>> &tensors,
    const std::map<std::string, std::string> &metadata, std::string &error) {
  if (session.rank != 0)
    return true;
  if (!rt::writeSafeTensors(randomParams, tensors, metadata, error))
    return false;
  uint64_t bytes = 0;
  for (auto &[name, t] : tensors)
    bytes += t.sizeInBytes();
  llvm::outs() << "wrote " << tensors.size() << " tensors (" << bytes
               << " bytes) to " << randomParams << "\n";
  return true;
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
      error = "--input expects NAME=FILE.npy or NAME=VALUES, got '" +
              rt::printable(spec) + "'";
      return false;
    }
    int index = indexOf(ports, name);
    if (index < 0) {
      std::string names;
      for (const rt::ManifestArg *p : ports)
        names += (names.empty() ? "" : ", ") + p->name;
      error = "unknown input '" + rt::printable(name) +
              "'; the entry takes: " + names;
      return false;
    }
    if (given[index]) {
      error = "input '" + rt::printable(name) + "' is given twice";
      return false;
    }
    if (!file.ends_with(".npy") && rt::isTensorLiteral(file)) {
      const rt::ManifestArg &port = *ports[index];
      if (!rt::parseTensorLiteral(file, port.dtype, port.shape, inputs[index],
                                  error)) {
        error = "input '" + port.name + "' (" + describe(port) + "): " + error;
        return false;
      }
      given[index] = true;
      continue;
    }
    HostTensor raw;
    if (!rt::readNpy(file.str(), raw, error)) {
      error = "input '" + ports[index]->name + "': " + error;
      return false;
    }
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
            "); pass --input " + port.name + "=FILE.npy or inline values";
    return false;
  }
  return true;
}

/// Output names come from the module and become file names NAME.npy: each
/// must be one plain file name (non-empty, no '/', not '.' or '..', no NUL
/// or other control character). The error names the output, escaped.
bool checkOutputNames(const rt::ManifestEntry &entry, std::string &error) {
  for (const rt::ManifestArg *port : outputsOf(entry)) {
    const std::string &name = port->name;
    const char *why = nullptr;
    if (name.empty())
      why = "is empty";
    else if (name == "." || name == "..")
      why = "is a directory reference";
    else if (name.find('/') != std::string::npos)
      why = "contains '/'";
    else if (std::any_of(name.begin(), name.end(), [](char c) {
               return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
             }))
      why = "contains a control character";
    if (!why)
      continue;
    std::string escaped;
    llvm::raw_string_ostream os(escaped);
    llvm::printEscapedString(name, os);
    error = "entry '" + entry.name + "': output \"" + escaped + "\" " + why +
            "; an output name must be a plain file name (it is written as "
            "NAME.npy)";
    return false;
  }
  return true;
}

/// --outputs: every output as DIR/NAME.npy, all or nothing: each is written
/// to a temporary in DIR, and all are renamed into place only when every
/// write succeeded (a failure leaves none of them).
bool writeOutputs(const rt::ManifestEntry &entry,
                  const std::vector<HostTensor> &outputs, std::string &error) {
  std::vector<const rt::ManifestArg *> ports = outputsOf(entry);
  if (!checkOutputNames(entry, error))
    return false;
  if (std::error_code ec = llvm::sys::fs::create_directories(outputDir)) {
    error = "cannot create '" + outputDir + "': " + ec.message();
    return false;
  }
  rt::AtomicFileSet files;
  for (size_t i = 0; i < outputs.size(); ++i) {
    llvm::SmallString<256> path(outputDir);
    llvm::sys::path::append(path, ports[i]->name + ".npy");
    std::string temporary;
    if (!files.stage(path.str().str(), temporary, error) ||
        !rt::writeNpy(temporary, outputs[i], error))
      return false;
  }
  return files.commit(error);
}

Tolerance tolerance() { return {absTolerance, relTolerance}; }

/// --expect-outputs: `outputs` of `entry` against DIR/NAME.npy.
bool expectOutputs(const rt::ManifestEntry &entry, const char *backend,
                   const std::vector<HostTensor> &outputs, std::string &error) {
  std::vector<const rt::ManifestArg *> ports = outputsOf(entry);
  if (!checkOutputNames(entry, error))
    return false;
  std::vector<HostTensor> expected(ports.size());
  for (size_t i = 0; i < ports.size(); ++i) {
    llvm::SmallString<256> path(expectDir);
    llvm::sys::path::append(path, ports[i]->name + ".npy");
    HostTensor raw;
    if (!rt::readNpy(path.str().str(), raw, error)) {
      error = "expected output '" + ports[i]->name + "': " + error;
      return false;
    }
    // .npy has no bf16: such outputs are written as exact f32 values.
    std::string convError;
    if (raw.shape() != outputs[i].shape() ||
        !rt::convertExactly(raw, outputs[i].dtype(), expected[i], convError)) {
      error = "'" + path.str().str() + "' holds " + raw.describe() +
              ", but output '" + ports[i]->name + "' is " +
              describe(*ports[i]) +
              (convError.empty() ? "" : " (" + convError + ")");
      return false;
    }
  }
  if (compareOutputs(entry, "expected", backend, expected, outputs, tolerance(),
                     /*verbose=*/true, llvm::outs(), "nova-run"))
    return true;
  error = "the outputs differ from those in '" + expectDir + "'";
  return false;
}

/// Creates a backend by name for the module this process runs.
using BackendFactory = std::function<std::unique_ptr<Backend>(
    const std::string &name, std::string &error)>;

/// --generate on the chosen backend, checked against --check's.
int runGenerate(const BackendFactory &makeBackend,
                const ::nova::interp::ParamLookup &lookup,
                GenerateResult &result) {
  GenerateOptions options;
  // Without --prompt, generation starts from the begin-of-sequence token
  // alone (id 1 in SentencePiece's default layout; Grok-1's vocabulary has
  // pad 0 and eos 2 around it), as llama.cpp does for an empty prompt.
  std::string promptText =
      prompt.getNumOccurrences() ? prompt.getValue() : std::string("1");
  for (StringRef piece : llvm::split(StringRef(promptText), ',')) {
    int64_t id;
    if (piece.trim().getAsInteger(10, id) || id < 0)
      return fail("--prompt expects comma-separated token ids, got '" +
                  promptText + "'");
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
  std::unique_ptr<Backend> backend = makeBackend(runBackend(), error);
  if (!backend)
    return fail(error);
  llvm::outs() << llvm::format(
      "%s backend ready in %.2f s\n", backend->name(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                    compileStart)
          .count());
  std::unique_ptr<Backend> checker;
  if (!checkBackend.empty() && !(checker = makeBackend(checkBackend, error)))
    return fail(error);
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
      // Integers exactly (an i64 does not fit a double); floats as %g.
      bool isFloat = rt::isFloat(outputs[i].dtype());
      for (int64_t k = 0; k < outputs[i].numElements(); ++k) {
        llvm::outs() << (k ? ", " : "");
        if (isFloat)
          llvm::outs() << llvm::format("%g", outputs[i].floatAt(k));
        else
          llvm::outs() << outputs[i].intAt(k);
      }
      llvm::outs() << "]";
    }
    llvm::outs() << "\n";
  }
}

/// One call of --entry (or the only entry) on --backend, checked against
/// --check, outputs printed or written to --outputs.
int runEntry(const BackendFactory &makeBackend,
             const rt::ModuleManifest &manifest,
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
  std::unique_ptr<Backend> backend = makeBackend(runBackend(), error);
  if (!backend || !backend->prepare(name, lookup, error))
    return fail(error);
  const rt::ManifestEntry *local = backend->manifest().entry(name);
  if (session.placement && local &&
      !splitInputs(*local, *session.placement, inputs, error))
    return fail(error);
  auto t0 = std::chrono::steady_clock::now();
  if (!backend->run(name, inputs, outputs, error))
    return fail(error);
  if (session.placement && local &&
      !gatherOutputs(*local, *entry, *session.placement, outputs, error))
    return fail(error);
  llvm::outs() << llvm::format(
      "%s: ran '%s' in %.3f s\n", backend->name(), name.c_str(),
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count());
  if (!checkBackend.empty()) {
    std::unique_ptr<Backend> other = makeBackend(checkBackend, error);
    std::vector<HostTensor> otherOutputs;
    if (!other || !other->prepare(name, lookup, error) ||
        !other->run(name, inputs, otherOutputs, error))
      return fail(error);
    if (!compareOutputs(*entry, backend->name(), other->name(), outputs,
                        otherOutputs, tolerance(), /*verbose=*/true,
                        llvm::outs(), "nova-run"))
      return EXIT_FAILURE;
  }
  if (!expectDir.empty() && session.rank == 0 &&
      !expectOutputs(*entry, backend->name(), outputs, error))
    return fail(error);
  if (!outputDir.empty()) {
    // Every rank holds the outputs; rank 0 writes them.
    if (session.rank != 0)
      return EXIT_SUCCESS;
    return writeOutputs(*entry, outputs, error) ? EXIT_SUCCESS : fail(error);
  }
  printOutputs(*entry, outputs);
  return EXIT_SUCCESS;
}

} // namespace

namespace {

/// Starts this process's part in an SPMD run: MPI, the watchdog, and a
/// silent stdout on every rank but 0.
void startSpmd(const rt::mpi::Launch &launch) {
  session.spmd = true;
  session.rank = launch.rank;
  session.ranks = launch.size;
  // The ranks on this host share its cores: each gets its share of OpenMP
  // threads (hydra says how many ranks run here), unless the user chose.
  if (!std::getenv("OMP_NUM_THREADS")) {
    unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const char *local = std::getenv("MPI_LOCALNRANKS");
    unsigned here = local ? std::max(1, std::atoi(local)) : 1;
    std::string threads = std::to_string(std::max(1u, cores / here));
    setenv("OMP_NUM_THREADS", threads.c_str(), /*overwrite=*/0);
  }
  if (mpiTimeout < 0)
    fail("--mpi-timeout expects seconds >= 0, got " +
         formatSeconds(mpiTimeout));
  std::string error;
  if (!rt::mpi::init(error))
    fail(error);
  if (rt::mpi::rank() != launch.rank || rt::mpi::size() != launch.size)
    fail("MPI places this process at rank " + std::to_string(rt::mpi::rank()) +
         " of " + std::to_string(rt::mpi::size()) +
         ", but the process manager set PMI_RANK=" +
         std::to_string(launch.rank) +
         " and PMI_SIZE=" + std::to_string(launch.size));
  session.watchdog = std::make_unique<rt::mpi::Watchdog>(mpiTimeout, timedOut);
  std::snprintf(crashLine, sizeof(crashLine),
                "nova-run: rank %d: error: fatal signal; ending the run\n",
                session.rank);
  llvm::sys::AddSignalHandler(reportCrash, nullptr);
  if (session.rank != 0) {
    llvm::outs().flush();
    int null = ::open("/dev/null", O_WRONLY);
    if (null < 0 || ::dup2(null, STDOUT_FILENO) < 0)
      fail(std::string("cannot silence stdout: ") + std::strerror(errno));
    ::close(null);
  }
}

/// Ends a successful SPMD run: once every rank is done, MPI_Finalize.
int finishSpmd() {
  synchronize("waiting for every rank to finish");
  rt::mpi::Watchdog::Scope scope = session.watchdog->watch("finalizing MPI");
  std::string error;
  if (!rt::mpi::finalize(error))
    return fail(error);
  return EXIT_SUCCESS;
}

/// FNV-1a of `tokens`: what the ranks compare to agree on the tokens.
int64_t tokenDigest(const std::vector<int64_t> &tokens) {
  uint64_t h = 1469598103934665603ull;
  for (int64_t t : tokens)
    for (int byte = 0; byte < 8; ++byte) {
      h ^= (static_cast<uint64_t>(t) >> (8 * byte)) & 0xff;
      h *= 1099511628211ull;
    }
  return static_cast<int64_t>(h);
}

/// The run of one process, or of one rank.
int runModel() {
  ::mlir::nova::ToolContext tool;
  MLIRContext &context = tool.context;
  llvm::SourceMgr &sourceMgr = tool.sourceMgr;
  ::mlir::nova::LoadModelOptions load;
  load.rulesFile = rulesFile;
  load.maxSpecBytes = maxSpecBytes;
  load.maxSpecOps = maxSpecOps;
  load.numerics = numerics;
  load.tool = "nova-run";
  // Ranks but 0 stay silent unless they fail: their warnings (the same as
  // rank 0's) are dropped, errors still reach the source manager's handler.
  if (session.spmd && session.rank != 0)
    context.getDiagEngine().registerHandler([](Diagnostic &diagnostic) {
      return success(diagnostic.getSeverity() != DiagnosticSeverity::Error);
    });
  rt::ModuleManifest manifest;
  // Rank 0 loads the module first, so that a bad spec is reported once.
  bool first = !session.spmd || session.rank == 0;
  if (!first)
    synchronize("waiting for rank 0 to load the module");
  OwningOpRef<ModuleOp> module =
      ::mlir::nova::loadModel(context, sourceMgr, moduleFile, load, manifest);
  if (!module)
    return session.spmd
               ? fail("cannot load the module (see the diagnostics above)")
               : EXIT_FAILURE;
  if (first)
    synchronize("waiting for the other ranks to start");

  // What this process runs: under MPI, the program of its rank.
  std::string error;
  RankPlacement placement;
  RankProgram program;
  BackendFactory makeBackend;
  if (session.spmd) {
    if (!placeRank(manifest, session.rank, session.ranks, placement, error))
      return failAlike(error);
    if (!checkBackend.empty())
      return failAlike("--check compares two backends in one process; in "
                       "an SPMD run compare with the one-process run "
                       "instead (docs/distributed.md)");
    if (!buildRankProgram(*module, manifest, placement, runBackend(), program,
                          error, backendOptions()))
      return fail(error);
    if (program.localParameters)
      session.placement = &placement;
    makeBackend = [&program](const std::string &name,
                             std::string &why) -> std::unique_ptr<Backend> {
      std::unique_ptr<Backend> backend = program.createBackend(name, why);
      return backend ? watchCalls(std::move(backend), *session.watchdog)
                     : nullptr;
    };
  } else {
    makeBackend = [&module](const std::string &name, std::string &why) {
      return createBackend(name, *module, why, backendOptions());
    };
  }

  // Its parameters: only the rank's boxes once the program takes shards.
  // --random-params alone writes the checkpoint and ends; with a run's
  // flags the run follows, on those parameters.
  bool runs = randomParams.empty() || generateCount > 0 || !entryName.empty() ||
              !inputFiles.empty() || !outputDir.empty() || !expectDir.empty() ||
              !checkBackend.empty();
  RankParameters params;
  if (!randomParams.empty()) {
    if (runs || session.rank == 0) {
      std::map<std::string, std::string> metadata;
      std::vector<std::pair<std::string, HostTensor>> tensors =
          makeRandomParams(manifest, metadata);
      if (!writeRandomParams(tensors, metadata, error))
        return fail(error);
      if (runs && !randomRankParameters(manifest, tensors, placement,
                                        program.localParameters, params, error))
        return fail(error);
    }
  } else {
    std::string path;
    if (!rankCheckpointPath(paramsFile, session.rank, session.ranks,
                            {betweenHosts.begin(), betweenHosts.end()}, path,
                            error))
      return failAlike(error);
    bool opened = session.spmd
                      ? openRankParameters(manifest, path, placement,
                                           program.localParameters,
                                           rt::LoadOptions(), params, error)
                      : openParameters(manifest, path, params.checkpoint,
                                       params.lookup, error);
    if (!opened)
      return fail(error);
  }
  if (session.spmd) {
    runTestHooks();
    synchronize("waiting for every rank to load its parameters");
  }
  if (!runs)
    return EXIT_SUCCESS;

  if (generateCount == 0)
    return runEntry(makeBackend, manifest, params.lookup);
  GenerateResult result;
  if (int status = runGenerate(makeBackend, params.lookup, result))
    return status;
  if (session.spmd) {
    bool equal = false;
    rt::mpi::Watchdog::Scope scope =
        session.watchdog->watch("comparing the tokens of every rank");
    if (!rt::mpi::allEqual(tokenDigest(result.tokens), equal, error))
      return fail(error);
    if (!equal)
      return fail("the ranks generated different tokens");
  }
  return EXIT_SUCCESS;
}

} // namespace

int ::nova::run::novaRunMain(int argc, char **argv) {
  registerAllPasses();
  ::mlir::nova::registerNovaPasses();
  ::mlir::nova::installVersionPrinter("nova-run");
  cl::HideUnrelatedOptions(runCategory);
  cl::ParseCommandLineOptions(argc, argv, "Run a Nova module\n");
  if (ranksOption.getNumOccurrences())
    return relaunch(argc, argv);
  std::optional<rt::mpi::Launch> launch;
  std::string error;
  if (!rt::mpi::detectLaunch(launch, error))
    return fail(error);
  if (!launch)
    return runModel();
  startSpmd(*launch);
  if (runModel() != EXIT_SUCCESS)
    return fail("the run failed (see the messages above)");
  return finishSpmd();
}
