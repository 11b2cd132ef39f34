//===- nova-opt.cpp - Nova's compile driver -------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
// mlir-opt with the Nova dialect and passes registered next to every upstream
// dialect, pass, extension and LLVM-IR translation (gpu-module-to-binary
// needs the latter); every standard mlir-opt flag works. On top of that:
//
//   nova-opt MODEL.yaml [--rules RULES.yaml [--explain-sharding]] [-o OUT]
//
// imports a YAML model spec (and partition rules, resolved by
// nova-apply-partition-rules) before the usual pipeline runs. The result is
// produced in memory and written atomically (temporary file + rename) only
// when everything succeeded, so a failed run never leaves a partial or
// truncated output file behind.
//
//===----------------------------------------------------------------------===//

#include "dialect/NovaDialect.h"
#include "passes/Contract/Manifest.h"
#include "passes/Driver/LoadModel.h"
#include "passes/Driver/ToolSupport.h"
#include "passes/Import/SpecImport.h"
#include "passes/Partition/Passes.h"
#include "passes/Passes.h"
#include "passes/Pipelines/Emit.h"
#include "passes/Pipelines/ObjectCache.h"

#include "nova/runtime/AtomicFile.h"
#include "nova/runtime/InputFile.h"
#include "nova/runtime/Text.h"

#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Path.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>

using namespace mlir;

static llvm::cl::OptionCategory novaCategory("Nova options");

static llvm::cl::opt<std::string>
    rulesFilename("rules",
                  llvm::cl::desc("Partition-rule spec (YAML) to resolve "
                                 "against the model's parameters"),
                  llvm::cl::value_desc("filename"), llvm::cl::init(""),
                  llvm::cl::cat(novaCategory));

static llvm::cl::opt<bool> explainSharding(
    "explain-sharding",
    llvm::cl::desc("Print one line per parameter: path, winning rule, spec "
                   "and bytes per device (to stdout; the IR is written only "
                   "with -o)"),
    llvm::cl::init(false), llvm::cl::cat(novaCategory));

static llvm::cl::opt<bool> explainCollectivesFlag(
    "explain-collectives",
    llvm::cl::desc("Partition the model over the rules' mesh "
                   "(nova-spmd-partition) and print every collective per "
                   "entry: kind, bytes per call per device, mesh axes, cause "
                   "and source line (to stdout; the partitioned IR is "
                   "written only with -o)"),
    llvm::cl::init(false), llvm::cl::cat(novaCategory));

static llvm::cl::opt<int64_t> maxCollectiveBytes(
    "max-collective-bytes",
    llvm::cl::desc("With --explain-collectives or --emit: a collective that "
                   "moves more bytes per call per device is a compile error "
                   "(0: no limit)"),
    llvm::cl::init(0), llvm::cl::cat(novaCategory));

static llvm::cl::opt<bool> allowUnmatched(
    "allow-unmatched",
    llvm::cl::desc("Replicate parameters that no partition rule matches, "
                   "with a warning, instead of failing"),
    llvm::cl::init(false), llvm::cl::cat(novaCategory));

static llvm::cl::opt<std::string> emitKind(
    "emit",
    llvm::cl::desc("Compile for the --target and write an artifact instead of "
                   "IR: mlir (LLVM-dialect MLIR), llvm (LLVM IR), obj (object "
                   "file), header (C header), manifest (the module's "
                   "contract as JSON, docs/abi.md); ptx, cubin, fatbin (the "
                   "CUDA kernels, docs/cuda.md; imply --target=cuda)"),
    llvm::cl::value_desc("mlir|llvm|obj|header|manifest|ptx|cubin|fatbin"),
    llvm::cl::init(""), llvm::cl::cat(novaCategory));

static llvm::cl::opt<std::string> targetKind(
    "target",
    llvm::cl::desc("What --emit compiles for: cpu (default), or cuda (GPU "
                   "kernels and host code that launches them, docs/cuda.md)"),
    llvm::cl::value_desc("cpu|cuda"), llvm::cl::init("cpu"),
    llvm::cl::cat(novaCategory));

static llvm::cl::opt<std::string> targetCpu(
    "target-cpu",
    llvm::cl::desc("CPU tiers to compile for with --emit=llvm/obj: an LLVM "
                   "CPU name (default x86-64-v3: AVX2 + FMA) or 'native' (the "
                   "building machine's CPU); a list BASE,TIER,... holds a copy "
                   "of the code for each, the entries running the last one "
                   "the CPU has (docs/using-nova-in-your-build.md)"),
    llvm::cl::value_desc("cpu[,cpu...]"), llvm::cl::init("x86-64-v3"),
    llvm::cl::cat(novaCategory));

static llvm::cl::opt<std::string> pipelineOptions(
    "pipeline-options",
    llvm::cl::desc("Options of nova-cpu-pipeline (or, for --target=cuda, "
                   "nova-cuda-pipeline) for --emit, as in "
                   "--nova-cpu-pipeline='...' (e.g. 'parallel-tiles=8'); "
                   "fixed defaults otherwise, never the build host's"),
    llvm::cl::value_desc("options"), llvm::cl::init(""),
    llvm::cl::cat(novaCategory));

static llvm::cl::opt<std::string> progressMode(
    "progress",
    llvm::cl::desc("Phase lines of --emit=obj/llvm compiles on stderr: auto "
                   "(on a terminal), always or never"),
    llvm::cl::init("auto"), llvm::cl::cat(novaCategory));

static llvm::cl::opt<std::string> emitPrefix(
    "emit-prefix",
    llvm::cl::desc("Prefix of the generated entry-point symbols: letters, "
                   "digits and '_', not starting with a digit"),
    llvm::cl::init("nova_"), llvm::cl::cat(novaCategory));

static llvm::cl::opt<std::string> emitHeaderFile(
    "emit-header",
    llvm::cl::desc("With --emit: also write the C header to this file (all "
                   "of the run's files are written, or none)"),
    llvm::cl::value_desc("filename"), llvm::cl::init(""),
    llvm::cl::cat(novaCategory));

static llvm::cl::opt<std::string> emitManifestFile(
    "emit-manifest",
    llvm::cl::desc("With --emit: also write the manifest (JSON) to this "
                   "file"),
    llvm::cl::value_desc("filename"), llvm::cl::init(""),
    llvm::cl::cat(novaCategory));

static llvm::cl::opt<std::string> emitDepfile(
    "emit-depfile",
    llvm::cl::desc("With --emit: also write a Make-style dependency file "
                   "(CMake's DEPFILE, Ninja's depfile) naming the run's "
                   "outputs and every file it read"),
    llvm::cl::value_desc("filename"), llvm::cl::init(""),
    llvm::cl::cat(novaCategory));

static llvm::cl::opt<uint64_t> maxSpecBytes(
    "max-spec-bytes",
    llvm::cl::desc("Refuse YAML specs larger than this many bytes"),
    llvm::cl::init(mlir::nova::kDefaultMaxSpecBytes),
    llvm::cl::cat(novaCategory));

static llvm::cl::opt<uint64_t> maxSpecOps(
    "max-spec-ops",
    llvm::cl::desc("Refuse YAML specs that unroll (repeat blocks, entries) "
                   "to more graph ops, parameters, inputs and rules than "
                   "this"),
    llvm::cl::init(mlir::nova::kDefaultMaxSpecOps),
    llvm::cl::cat(novaCategory));

static llvm::cl::opt<mlir::nova::Numerics> numerics(
    "numerics",
    llvm::cl::desc("Numerics of every nova.qmatmul (default: as the module "
                   "has them; a spec imports as exact)"),
    llvm::cl::init(mlir::nova::Numerics::AsWritten),
    mlir::nova::numericsValues(), llvm::cl::cat(novaCategory));

static bool isYaml(StringRef filename) {
  return filename.ends_with(".yaml") || filename.ends_with(".yml");
}

/// Imports or parses the input, attaches partition rules and explains them.
static OwningOpRef<ModuleOp> loadModule(StringRef inputFilename,
                                        MLIRContext &context,
                                        llvm::SourceMgr &sourceMgr) {
  mlir::nova::LoadModelOptions options;
  options.rulesFile = rulesFilename;
  options.maxSpecBytes = maxSpecBytes;
  options.maxSpecOps = maxSpecOps;
  options.allowUnmatched = allowUnmatched;
  options.numerics = numerics;
  options.tool = "nova-opt";
  OwningOpRef<ModuleOp> module =
      mlir::nova::loadModel(context, sourceMgr, inputFilename, options);
  if (module && explainSharding)
    mlir::nova::explainSharding(*module, llvm::outs());
  if (module && explainCollectivesFlag) {
    PassManager pm(&context);
    mlir::nova::SpmdPartitionPassOptions spmd;
    spmd.maxCollectiveBytes = maxCollectiveBytes;
    pm.addPass(mlir::nova::createSpmdPartitionPass(spmd));
    if (failed(pm.run(*module)))
      return nullptr;
    mlir::nova::explainCollectives(*module, llvm::outs());
  }
  return module;
}

/// Loads the input (spec or IR, with --rules applied) in a fresh context whose
/// diagnostics point at the input's lines, and hands it to `body`.
static FailureOr<std::string> withLoadedModule(
    StringRef inputFilename, DialectRegistry &registry,
    llvm::function_ref<FailureOr<std::string>(ModuleOp, MLIRContext &)> body) {
  MLIRContext context(registry);
  // Diagnostics point at YAML lines; dumping the op as well only adds noise.
  context.printOpOnDiagnostic(false);
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler handler(sourceMgr, &context);
  OwningOpRef<ModuleOp> module = loadModule(inputFilename, context, sourceMgr);
  if (!module)
    return failure();
  return body(*module, context);
}

/// The module re-printed with its (YAML) locations, for MlirOptMain to run
/// the requested pipeline on.
static FailureOr<std::string> preprocess(StringRef inputFilename,
                                         DialectRegistry &registry) {
  return withLoadedModule(
      inputFilename, registry,
      [](ModuleOp module, MLIRContext &) -> FailureOr<std::string> {
        std::string text;
        llvm::raw_string_ostream os(text);
        module->print(os, OpPrintingFlags().enableDebugInfo());
        return text;
      });
}

/// Writes `text` to `outputFilename` atomically (nothing is left behind on
/// failure).
static LogicalResult writeArtifact(StringRef outputFilename, StringRef text) {
  if (llvm::Error err = llvm::writeToOutput(
          outputFilename, [&](llvm::raw_ostream &os) -> llvm::Error {
            os << text;
            return llvm::Error::success();
          })) {
    llvm::errs() << "nova-opt: cannot write '" << outputFilename
                 << "': " << llvm::toString(std::move(err)) << "\n";
    return failure();
  }
  return success();
}

/// One file of an --emit run and its contents.
struct Artifact {
  std::string path, text;
};

/// Writes every artifact, all or none: each goes to a temporary next to its
/// path, and the temporaries are renamed into place only when all were
/// written. A path of "-" is standard output, written last.
static LogicalResult writeArtifacts(const std::vector<Artifact> &artifacts) {
  if (artifacts.size() == 1)
    return writeArtifact(artifacts[0].path, artifacts[0].text);
  ::nova::rt::AtomicFileSet files;
  std::string error;
  const Artifact *toStdout = nullptr;
  for (const Artifact &a : artifacts) {
    if (a.path == "-") {
      toStdout = &a;
      continue;
    }
    std::string temporary;
    if (!files.stage(a.path, temporary, error) ||
        !::nova::rt::writeFileAtomically(temporary, a.text, error)) {
      llvm::errs() << "nova-opt: " << error << "\n";
      return failure();
    }
  }
  if (!files.commit(error)) {
    llvm::errs() << "nova-opt: " << error << "\n";
    return failure();
  }
  if (toStdout)
    llvm::outs() << toStdout->text;
  return success();
}

/// Where --emit=obj/llvm report the phases of the compile: stderr with
/// --progress=always, or auto and stderr a terminal.
static llvm::raw_ostream *progressStream() {
  if (progressMode == "always" ||
      (progressMode == "auto" && llvm::sys::Process::StandardErrIsDisplayed()))
    return &llvm::errs();
  return nullptr;
}

/// Whether --emit compiles for CUDA.
static bool isCudaTarget() {
  return targetKind == "cuda" || emitKind == "ptx" || emitKind == "cubin" ||
         emitKind == "fatbin";
}

/// The CUDA half of --emit: device binaries, host LLVM IR or object.
static FailureOr<std::string> emitCuda(ModuleOp module,
                                       mlir::nova::PassManagerSetup setup) {
  std::unique_ptr<mlir::nova::CudaPipelineOptions> options =
      mlir::nova::CudaPipelineOptions::createFromString(pipelineOptions);
  if (!options) {
    llvm::errs() << "nova-opt: invalid --pipeline-options '" << pipelineOptions
                 << "' for nova-cuda-pipeline\n";
    return failure();
  }
  using mlir::nova::CudaArtifact;
  if (emitKind == "mlir") {
    PassManager pm(module.getContext());
    if (failed(setup(pm)) ||
        failed(mlir::nova::buildNovaCudaPipeline(pm, *options)) ||
        failed(pm.run(module)))
      return failure();
    std::string out;
    llvm::raw_string_ostream os(out);
    module->print(os);
    return out;
  }
  CudaArtifact artifact = emitKind == "ptx"      ? CudaArtifact::Ptx
                          : emitKind == "cubin"  ? CudaArtifact::Cubin
                          : emitKind == "fatbin" ? CudaArtifact::Fatbin
                          : emitKind == "llvm"   ? CudaArtifact::HostLLVM
                                                 : CudaArtifact::HostObject;
  std::string error;
  FailureOr<std::string> out = mlir::nova::compileCuda(
      module, artifact, targetCpu, *options, error, progressStream(), setup);
  if (failed(out))
    llvm::errs() << "nova-opt: " << error << "\n";
  return out;
}

/// The manifest file's text: the contract with the target it is built for.
static FailureOr<std::string>
manifestText(::nova::rt::ModuleManifest manifest) {
  std::string error;
  FailureOr<::nova::rt::ManifestTarget> target =
      mlir::nova::describeTarget(targetCpu, error);
  if (failed(target)) {
    llvm::errs() << "nova-opt: " << error << "\n";
    return failure();
  }
  manifest.target = *target;
  if (isCudaTarget()) {
    std::unique_ptr<mlir::nova::CudaPipelineOptions> options =
        mlir::nova::CudaPipelineOptions::createFromString(pipelineOptions);
    if (!options)
      return failure();
    manifest.target.kind = "cuda";
    manifest.target.gpu = options->chip;
  }
  return ::nova::rt::writeManifestJson(manifest);
}

/// --emit: compiles for the CPU and produces the requested artifact, and
/// the --emit-header/--emit-manifest files into `extra`. Every pass manager
/// gets `setup` (mlir-opt's instrumentation flags); the objects come from
/// the compile cache unless `useCache` is false.
static FailureOr<std::string>
emitArtifact(ModuleOp module, MLIRContext &context, StringRef inputFilename,
             mlir::nova::PassManagerSetup setup, bool useCache,
             std::vector<Artifact> &extra) {
  std::string out, error;
  llvm::raw_string_ostream os(out);
  // A module over a mesh of several devices is one rank's program (its
  // entries take the communicator, its parameters are local shards); then
  // the contract is derived once, here, and carried by the module from now
  // on: every artifact below is written from it.
  if (failed(mlir::nova::partitionForMesh(module, maxCollectiveBytes)) ||
      failed(mlir::nova::prefixEntryPoints(module, emitPrefix)))
    return failure();
  FailureOr<::nova::rt::ModuleManifest> manifest =
      mlir::nova::readManifest(module);
  if (failed(manifest))
    return failure();
  if (!emitHeaderFile.empty()) {
    std::string header;
    llvm::raw_string_ostream hs(header);
    mlir::nova::emitHeader(*manifest, emitPrefix,
                           llvm::sys::path::filename(inputFilename), hs);
    extra.push_back({emitHeaderFile, header});
  }
  if (!emitManifestFile.empty()) {
    FailureOr<std::string> json = manifestText(*manifest);
    if (failed(json))
      return failure();
    extra.push_back({emitManifestFile, *json});
  }
  if (emitKind == "header") {
    mlir::nova::emitHeader(*manifest, emitPrefix,
                           llvm::sys::path::filename(inputFilename), os);
    return out;
  }
  if (emitKind == "manifest")
    return manifestText(*manifest);
  if (isCudaTarget())
    return emitCuda(module, setup);
  std::unique_ptr<mlir::nova::CpuPipelineOptions> options =
      mlir::nova::CpuPipelineOptions::createFromString(pipelineOptions);
  if (!options) {
    llvm::errs() << "nova-opt: invalid --pipeline-options '" << pipelineOptions
                 << "'\n";
    return failure();
  }
  if (emitKind == "mlir") {
    PassManager pm(&context);
    if (failed(setup(pm)) ||
        failed(mlir::nova::buildNovaCpuPipeline(pm, *options)) ||
        failed(pm.run(module)))
      return failure();
    module->print(os);
    return out;
  }
  if (emitKind == "obj") {
    FailureOr<std::string> object = mlir::nova::compileObject(
        module, targetCpu, *options,
        useCache ? mlir::nova::objectCacheDirectory() : std::nullopt, error,
        nullptr, progressStream(), setup, /*checkCpu=*/true);
    if (failed(object))
      llvm::errs() << "nova-opt: " << error << "\n";
    return object;
  }
  llvm::LLVMContext llvmContext;
  auto llvmModule = mlir::nova::lowerToLLVMIR(
      module, llvmContext, targetCpu, *options, error, progressStream(), setup);
  if (failed(llvmModule)) {
    llvm::errs() << "nova-opt: " << error << "\n";
    return failure();
  }
  mlir::nova::addPackedEntryPoints(**llvmModule, *manifest);
  (*llvmModule)->print(os, nullptr);
  return out;
}

/// Checks the --emit flags before anything is loaded or compiled.
static LogicalResult checkEmitFlags(StringRef outputFilename) {
  auto fail = [](const llvm::Twine &message) {
    llvm::errs() << "nova-opt: " << message << "\n";
    return failure();
  };
  if (emitKind != "mlir" && emitKind != "llvm" && emitKind != "obj" &&
      emitKind != "header" && emitKind != "manifest" && emitKind != "ptx" &&
      emitKind != "cubin" && emitKind != "fatbin")
    return fail("--emit expects mlir, llvm, obj, header, manifest, ptx, cubin "
                "or fatbin, got '" +
                ::nova::rt::printable(emitKind) + "'");
  if (targetKind != "cpu" && targetKind != "cuda")
    return fail("--target expects cpu or cuda, got '" +
                ::nova::rt::printable(targetKind) + "'");
  if (targetKind == "cpu" && targetKind.getNumOccurrences() &&
      (emitKind == "ptx" || emitKind == "cubin" || emitKind == "fatbin"))
    return fail("--emit=" + emitKind +
                " is a CUDA artifact; it cannot be "
                "built for --target=cpu");
  if (isCudaTarget()) {
    std::unique_ptr<mlir::nova::CudaPipelineOptions> options =
        mlir::nova::CudaPipelineOptions::createFromString(pipelineOptions);
    if (!options)
      return fail("invalid --pipeline-options '" +
                  ::nova::rt::printable(pipelineOptions) +
                  "' for nova-cuda-pipeline");
    std::string error;
    if (failed(mlir::nova::checkCudaPipelineOptions(*options, error)))
      return fail("--pipeline-options: " + ::nova::rt::printable(error));
  }
  if (progressMode != "auto" && progressMode != "always" &&
      progressMode != "never")
    return fail("--progress expects auto, always or never, got '" +
                ::nova::rt::printable(progressMode) + "'");
  if ((emitKind == "obj" || emitKind == "cubin" || emitKind == "fatbin") &&
      outputFilename == "-")
    return fail("--emit=" + emitKind + " needs -o FILE");
  std::string error;
  if (!mlir::nova::isValidSymbolPrefix(emitPrefix, error))
    return fail("--emit-prefix '" + ::nova::rt::printable(emitPrefix) +
                "' cannot start a C identifier: " + error);
  if (emitKind != "header" && emitKind != "mlir" &&
      failed(mlir::nova::describeTarget(targetCpu, error)))
    return fail(error);
  // Two outputs of one run on one path would overwrite each other.
  std::vector<std::string> paths = {outputFilename.str()};
  for (const std::string &extra :
       {emitHeaderFile.getValue(), emitManifestFile.getValue(),
        emitDepfile.getValue()})
    if (!extra.empty()) {
      if (extra == "-")
        return fail("--emit-header, --emit-manifest and --emit-depfile need "
                    "a file name");
      if (std::find(paths.begin(), paths.end(), extra) != paths.end())
        return fail("'" + ::nova::rt::printable(extra) +
                    "' is given for two outputs of the run");
      paths.push_back(extra);
    }
  return success();
}

/// Applies mlir-opt's pass-manager flags (IR printing, statistics, crash
/// reproducers, --mlir-timing, --verify-each) to a pass manager of --emit.
static LogicalResult applyMlirOptFlags(PassManager &pm,
                                       const MlirOptMainConfig &config) {
  if (failed(applyPassManagerCLOptions(pm)))
    return failure();
  applyDefaultTimingPassManagerCLOptions(pm);
  pm.enableVerifier(config.shouldVerifyPasses());
  return success();
}

/// A path in a Make rule: spaces and '#' escaped with '\\', '$' doubled.
static std::string makeEscaped(StringRef path) {
  std::string out;
  for (char c : path) {
    if (c == ' ' || c == '#')
      out += '\\';
    else if (c == '$')
      out += '$';
    out += c;
  }
  return out;
}

/// The --emit-depfile text: every output of the run depends on the spec (or
/// IR) and the rules it read. A spec reads no other file.
static std::string depfileText(const std::vector<Artifact> &outputs,
                               StringRef input, StringRef rules) {
  std::string text;
  for (const Artifact &output : outputs)
    text += (text.empty() ? "" : " ") + makeEscaped(output.path);
  text += ":";
  for (StringRef read : {input, rules})
    if (!read.empty() && read != "-")
      text += " " + makeEscaped(read);
  return text + "\n";
}

/// nova-opt --emit: the user's pipeline (mlir-opt's pass flags, if any),
/// then the compile step; every output written, or none.
static int runEmit(StringRef inputFilename, StringRef outputFilename,
                   DialectRegistry &registry, const MlirOptMainConfig &config) {
  if (failed(checkEmitFlags(outputFilename)))
    return EXIT_FAILURE;
  // An MLIR or LLVM flag may change the code without being part of the
  // compile cache's key: such runs compile afresh.
  bool useCache = !mlir::nova::usedForeignOptions({&novaCategory});
  std::vector<Artifact> artifacts;
  FailureOr<std::string> artifact = withLoadedModule(
      inputFilename, registry,
      [&](ModuleOp module, MLIRContext &context) -> FailureOr<std::string> {
        auto setup = [&](PassManager &pm) {
          return applyMlirOptFlags(pm, config);
        };
        PassManager user(&context);
        if (failed(setup(user)) || failed(config.setupPassPipeline(user)) ||
            failed(user.run(module)))
          return failure();
        return emitArtifact(module, context, inputFilename, setup, useCache,
                            artifacts);
      });
  if (failed(artifact))
    return EXIT_FAILURE;
  artifacts.insert(artifacts.begin(), {outputFilename.str(), *artifact});
  if (!emitDepfile.empty())
    artifacts.push_back(
        {emitDepfile, depfileText(artifacts, inputFilename, rulesFilename)});
  return succeeded(writeArtifacts(artifacts)) ? EXIT_SUCCESS : EXIT_FAILURE;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);

  DialectRegistry registry;
  mlir::nova::registerNovaCompilerDialects(registry);
  registerAllPasses();
  mlir::nova::registerNovaPasses();

  mlir::nova::installVersionPrinter("nova-opt");
  // LLVM's back-end options go behind --help-hidden; Nova's options and
  // MLIR's (registered by registerAndParseCLIOptions) stay in --help.
  mlir::nova::hideForeignOptions({&novaCategory});
  auto [inputFilename, outputFilename] = registerAndParseCLIOptions(
      argc, argv, "Nova compile driver (MLIR 22)\n", registry);
  MlirOptMainConfig config = MlirOptMainConfig::createFromCLOptions();
  // MLIR's verifiers trust some attributes they never check; input from
  // outside Nova is verified by a first pass that checks those first.
  if (config.shouldVerifyOnParsing()) {
    config.verifyOnParsing(false);
    config.setPassPipelineSetupFn(
        [cli = MlirOptMainConfig::createFromCLOptions()](PassManager &pm) {
          pm.addPass(mlir::nova::createVerifyUntrustedIrPass());
          return cli.setupPassPipeline(pm);
        });
  }

  if (!emitKind.empty())
    return runEmit(inputFilename, outputFilename, registry, config);
  if (!emitHeaderFile.empty() || !emitManifestFile.empty() ||
      !emitDepfile.empty()) {
    llvm::errs() << "nova-opt: --emit-header, --emit-manifest and "
                    "--emit-depfile need --emit\n";
    return EXIT_FAILURE;
  }
  if (explainCollectivesFlag && rulesFilename.empty()) {
    llvm::errs()
        << "nova-opt: --explain-collectives needs --rules RULES.yaml\n";
    return EXIT_FAILURE;
  }
  if (maxCollectiveBytes < 0) {
    llvm::errs() << "nova-opt: --max-collective-bytes must be >= 0, got "
                 << maxCollectiveBytes << "\n";
    return EXIT_FAILURE;
  }
  if (explainSharding && rulesFilename.empty()) {
    llvm::errs() << "nova-opt: --explain-sharding needs --rules RULES.yaml\n";
    return EXIT_FAILURE;
  }
  if (inputFilename == "-" &&
      llvm::sys::Process::FileDescriptorIsDisplayed(fileno(stdin)))
    llvm::errs() << "(processing input from stdin now, hit ctrl-c/ctrl-d to "
                    "interrupt)\n";

  std::unique_ptr<llvm::MemoryBuffer> input;
  if (isYaml(inputFilename) || !rulesFilename.empty() ||
      numerics != mlir::nova::Numerics::AsWritten) {
    if (!config.inputSplitMarker().empty()) {
      llvm::errs() << "nova-opt: --split-input-file does not combine with a "
                      "YAML spec, --rules or --numerics\n";
      return EXIT_FAILURE;
    }
    FailureOr<std::string> text = preprocess(inputFilename, registry);
    if (failed(text))
      return EXIT_FAILURE;
    input = llvm::MemoryBuffer::getMemBufferCopy(*text, inputFilename);
  } else {
    std::string error, text;
    if (inputFilename == "-")
      input = openInputFile(inputFilename, &error);
    else if (::nova::rt::readRegularFile(inputFilename, UINT64_MAX, text,
                                         error))
      input = llvm::MemoryBuffer::getMemBufferCopy(text, inputFilename);
    if (!input) {
      llvm::errs() << "nova-opt: " << error << "\n";
      return EXIT_FAILURE;
    }
  }

  llvm::SourceMgr nestingCheck;
  unsigned id = nestingCheck.AddNewSourceBuffer(
      llvm::MemoryBuffer::getMemBuffer(input->getMemBufferRef(), false),
      llvm::SMLoc());
  if (failed(mlir::nova::checkIrNesting(nestingCheck, id)))
    return EXIT_FAILURE;

  std::string result;
  llvm::raw_string_ostream resultStream(result);
  if (failed(MlirOptMain(resultStream, std::move(input), registry, config)))
    return EXIT_FAILURE;

  // With --explain-sharding the report is the standard output; the IR goes
  // only to an explicit -o file.
  if ((explainSharding || explainCollectivesFlag) && outputFilename == "-")
    return EXIT_SUCCESS;
  return failed(writeArtifact(outputFilename, result)) ? EXIT_FAILURE
                                                       : EXIT_SUCCESS;
}
