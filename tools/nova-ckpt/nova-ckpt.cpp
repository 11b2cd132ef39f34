//===- nova-ckpt.cpp - Inspect, load and convert checkpoints --------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//   nova-ckpt inspect CKPT [--model MODULE]
//   nova-ckpt load CKPT [--mode auto|mmap|pread|shm] [--threads N]
//                       [--progress auto|always|never]
//   nova-ckpt grok1-order MODULE
//   nova-ckpt convert-grok1 MODULE GROK_DIR -o OUT(.safetensors | DIR)
//                       [--host-shard N] [--max-file-bytes N] [--threads N]
//
// CKPT is a .safetensors file, a model.safetensors.index.json, or a
// directory holding one of them. MODULE is a .yaml spec or a .mlir module.
// convert-grok1 reads Grok-1's ckpt-0/tensorNNNNN_III pickles with a
// restricted unpickler that executes nothing (docs/checkpoints.md).
//
//===----------------------------------------------------------------------===//

#include "passes/Driver/LoadModel.h"
#include "passes/Driver/ToolSupport.h"
#include "passes/Import/SpecImport.h"
#include "passes/Passes.h"

#include "dialect/TokenRegex.h"

#include "nova/runtime/Checkpoint.h"
#include "nova/runtime/Grok1Convert.h"
#include "nova/runtime/ModuleShards.h"
#include "nova/runtime/Text.h"
#ifdef NOVA_HAVE_CUDA
#include "nova/runtime/Cuda.h"
#endif

#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

using namespace mlir;
using namespace llvm;
namespace rt = ::nova::rt;
using DeclaredParameter = ::nova::rt::ManifestParam;

static cl::SubCommand inspectCmd("inspect",
                                 "Validate a checkpoint and list its tensors");
static cl::SubCommand loadCmd("load", "Load every tensor of a checkpoint and "
                                      "report the rate");
static cl::SubCommand
    orderCmd("grok1-order",
             "Print a module's parameters in Grok-1's checkpoint order");
static cl::SubCommand convertCmd(
    "convert-grok1",
    "Convert a Grok-1 checkpoint (ckpt-0/tensorNNNNN_III pickles) to Nova "
    "safetensors, executing nothing from the pickles");

static cl::opt<std::string> ckptPath(cl::Positional, cl::desc("<checkpoint>"),
                                     cl::Required, cl::sub(inspectCmd),
                                     cl::sub(loadCmd));
static cl::opt<std::string> checkModel(
    "model",
    cl::desc("Check the tensors against this module's parameters (load: "
             "load only those)"),
    cl::sub(inspectCmd), cl::sub(loadCmd));
static cl::opt<std::string>
    rulesFile("rules",
              cl::desc("Partition rules resolving the module's shardings "
                       "(with --model)"),
              cl::sub(loadCmd));
static cl::opt<int64_t>
    shardOf("device-index",
            cl::desc("Load only this device's shard of each parameter (a "
                     "linear index on the rules' mesh, row-major)"),
            cl::init(-1), cl::sub(loadCmd));
static cl::opt<std::string>
    savePath("save",
             cl::desc("Write what was loaded (e.g. one device's shards) as a "
                      "checkpoint"),
             cl::sub(loadCmd));
static cl::opt<std::string>
    onlyRegex("only",
              cl::desc("Load only the tensors whose whole name matches this "
                       "regular expression"),
              cl::sub(loadCmd));
static cl::opt<std::string>
    readMode("mode", cl::desc("auto, mmap, pread or shm (default auto)"),
             cl::init("auto"), cl::sub(loadCmd));
static cl::opt<std::string>
    progress("progress", cl::desc("auto (on a terminal), always or never"),
             cl::init("auto"), cl::sub(loadCmd));
static cl::opt<unsigned>
    threads("threads",
            cl::desc("Reader threads (0: one per hardware thread, at least 4)"),
            cl::init(0), cl::sub(loadCmd), cl::sub(convertCmd));
static cl::opt<int> toDevice(
    "to-device",
    cl::desc("Load into the memory of CUDA device N, staged through pinned "
             "buffers (builds with CUDA)"),
    cl::init(-1), cl::sub(loadCmd));
static cl::opt<std::string> moduleFile(cl::Positional, cl::desc("<module>"),
                                       cl::Required, cl::sub(orderCmd),
                                       cl::sub(convertCmd));
static cl::opt<std::string> grokDir(cl::Positional,
                                    cl::desc("<grok-1 checkpoint directory>"),
                                    cl::Required, cl::sub(convertCmd));
static cl::opt<std::string>
    outPath("o",
            cl::desc("Output: a .safetensors file, or a directory for a "
                     "multi-file checkpoint with an index"),
            cl::Required, cl::sub(convertCmd));
static cl::opt<unsigned>
    hostShard("host-shard",
              cl::desc("Which host shard's files to read (the _III suffix)"),
              cl::init(0), cl::sub(convertCmd), cl::sub(orderCmd));
static cl::opt<int64_t> processIndex(
    "process-index",
    cl::desc("Read the files Grok-1's process P reads (the suffix from P and "
             "--between-hosts, as checkpoint.py computes it)"),
    cl::init(-1), cl::sub(convertCmd), cl::sub(orderCmd));
static cl::list<int64_t> betweenHosts(
    "between-hosts",
    cl::desc("Grok-1's between_hosts_config, e.g. 2,1 (with --process-index)"),
    cl::CommaSeparated, cl::sub(convertCmd), cl::sub(orderCmd));
static cl::opt<uint64_t> maxFileBytes(
    "max-file-bytes",
    cl::desc("Most tensor bytes per output file (directory output)"),
    cl::init(uint64_t(4) << 30), cl::sub(convertCmd));

namespace {

int fail(const std::string &message) {
  llvm::errs() << "nova-ckpt: error: " << message << "\n";
  return EXIT_FAILURE;
}

/// The module at `path` with `rules` applied (none when empty), and its
/// manifest.
OwningOpRef<ModuleOp> loadModule(MLIRContext &context,
                                 llvm::SourceMgr &sourceMgr,
                                 const std::string &path,
                                 rt::ModuleManifest &manifest,
                                 const std::string &rules = "") {
  ::mlir::nova::LoadModelOptions options;
  options.rulesFile = rules;
  options.maxSpecBytes = ::mlir::nova::kDefaultMaxSpecBytes;
  options.tool = "nova-ckpt";
  return ::mlir::nova::loadModel(context, sourceMgr, path, options, manifest);
}

/// The host-shard suffix: --host-shard, or from --process-index and
/// --between-hosts.
bool hostSuffix(unsigned &suffix, std::string &error) {
  suffix = hostShard;
  if (processIndex < 0) {
    if (betweenHosts.empty())
      return true;
    error = "--between-hosts needs --process-index";
    return false;
  }
  if (hostShard.getNumOccurrences()) {
    error = "--host-shard and --process-index are exclusive";
    return false;
  }
  std::vector<int64_t> hosts(betweenHosts.begin(), betweenHosts.end());
  if (hosts.empty())
    hosts = {1, 1}; // Grok-1's default: one host
  return rt::grok1HostSuffix(processIndex, hosts, suffix, error);
}

int runConvert(const rt::ModuleManifest &manifest) {
  rt::Grok1ConvertOptions options;
  options.source = grokDir;
  options.output = outPath;
  std::string error;
  if (!hostSuffix(options.hostShard, error))
    return fail(error);
  options.maxFileBytes = maxFileBytes;
  options.threads = threads;
  rt::Grok1ConvertResult result;
  if (!rt::convertGrok1(manifest, options, result, error))
    return fail(error);
  llvm::outs() << "converted " << result.parameters << " parameters ("
               << result.tensors << " tensors, " << result.bytes
               << " bytes) to " << result.written << "\n";
  if (result.otherShards)
    llvm::outs() << "note: " << result.otherShards
                 << " files of other host shards were not read\n";
  return EXIT_SUCCESS;
}

int runInspect(MLIRContext &context, llvm::SourceMgr &sourceMgr) {
  std::string error;
  std::unique_ptr<rt::Checkpoint> ckpt = rt::Checkpoint::open(ckptPath, error);
  if (!ckpt)
    return fail(error);
  llvm::outs() << ckptPath << ": " << ckpt->files().size() << " file(s), "
               << ckpt->tensors().size() << " tensors, " << ckpt->totalBytes()
               << " bytes\n";
  for (const rt::SafeTensorInfo *info : ckpt->tensors()) {
    const std::string &file = ckpt->fileOf(info->name)->path();
    llvm::outs() << "  " << info->name << " " << info->dtypeName
                 << rt::formatShape(info->shape) << " "
                 << file.substr(file.rfind('/') + 1) << "\n";
  }
  for (const auto &[key, value] : ckpt->metadata())
    llvm::outs() << "  metadata " << key << " = " << value << "\n";
  if (checkModel.empty())
    return EXIT_SUCCESS;
  rt::ModuleManifest manifest;
  if (!loadModule(context, sourceMgr, checkModel, manifest))
    return EXIT_FAILURE;
  if (!rt::checkDeclared(*ckpt, manifest.declaredTensors(), error))
    return fail(error);
  llvm::outs() << "matches " << checkModel << "\n";
  return EXIT_SUCCESS;
}

/// The requests of `nova-ckpt load`: every tensor, or those --only and
/// --model select, or with --device-index that device's shards.
bool loadRequests(MLIRContext &context, llvm::SourceMgr &sourceMgr,
                  const rt::Checkpoint &ckpt,
                  std::vector<rt::LoadRequest> &requests, std::string &what,
                  std::string &error) {
  // The same RE2 whole-token regexes as partition rules (docs/spec.md).
  std::unique_ptr<mlir::nova::TokenRegex> only;
  if (!onlyRegex.empty()) {
    std::string why;
    only = mlir::nova::TokenRegex::compile(onlyRegex, why);
    if (!only) {
      error = "--only: invalid regular expression '" +
              rt::printable(onlyRegex) + "': " + why;
      return false;
    }
  }
  // The first name --only could not be matched against, with why.
  std::string selectError;
  auto selected = [&](const std::string &name) {
    if (!only)
      return true;
    std::string why;
    std::optional<bool> hit = only->matches(name, why);
    if (!hit && selectError.empty())
      selectError = "--only: tensor '" + rt::printable(name) + "': " + why;
    return hit.value_or(false);
  };
  auto checkSelected = [&] {
    if (selectError.empty())
      return true;
    error = selectError;
    return false;
  };
  if ((!rulesFile.empty() || shardOf >= 0) && checkModel.empty()) {
    error = "--rules and --device-index need --model";
    return false;
  }
  if (checkModel.empty()) {
    requests = rt::selectTensors(
        ckpt, [&](const rt::SafeTensorInfo &t) { return selected(t.name); });
    return checkSelected();
  }
  rt::ModuleManifest manifest;
  if (!loadModule(context, sourceMgr, checkModel, manifest, rulesFile)) {
    error = "cannot load the module";
    return false;
  }
  const std::vector<DeclaredParameter> &params = manifest.params;
  if (!rt::checkDeclared(ckpt, manifest.declaredTensors(), error))
    return false;
  std::map<std::string, const DeclaredParameter *> byTensor;
  for (const DeclaredParameter &p : params)
    for (const rt::DeclaredTensor &t : p.declaredTensors())
      byTensor[t.name] = &p;
  if (shardOf < 0) {
    requests = rt::selectTensors(ckpt, [&](const rt::SafeTensorInfo &t) {
      return byTensor.count(t.name) && selected(t.name);
    });
    return checkSelected();
  }
  for (const DeclaredParameter &p : params)
    if (!p.spec) {
      error = "parameter '" + p.path +
              "' has no partition spec (pass --rules RULES.yaml)";
      return false;
    }
  // One mesh for the whole module: the one the rules name.
  const rt::ManifestMesh *mesh = nullptr;
  if (!rt::parameterMesh(manifest, mesh, error))
    return false;
  rt::ManifestMesh none{"?", {}};
  const rt::ManifestMesh &on = mesh ? *mesh : none;
  if (shardOf >= rt::meshDevices(on).value_or(0)) {
    error = "--device-index " + std::to_string(shardOf) + " is outside mesh " +
            rt::describeMesh(on);
    return false;
  }
  std::string axes, at;
  for (const rt::MeshAxis &a : on.axes)
    axes += (axes.empty() ? "" : ", ") + a.name + "=" + std::to_string(a.size);
  for (int64_t c : rt::meshCoordinates(on.axes, shardOf))
    at += (at.empty() ? "" : ", ") + std::to_string(c);
  what = "device " + std::to_string(shardOf) + " of @" + on.name + " (" + axes +
         ") at (" + at + "): ";
  return rt::deviceShardRequests(ckpt, manifest, mesh, shardOf, selected,
                                 requests, error) &&
         checkSelected();
}

int runLoad(MLIRContext &context, llvm::SourceMgr &sourceMgr) {
  rt::LoadOptions options;
  std::optional<rt::ReadMode> mode = rt::parseReadMode(readMode);
  if (!mode)
    return fail("--mode expects auto, mmap, pread or shm, got '" + readMode +
                "'");
  options.mode = *mode;
  if (progress == "always")
    options.progress = rt::Progress::Always;
  else if (progress == "never")
    options.progress = rt::Progress::Never;
  else if (progress != "auto")
    return fail("--progress expects auto, always or never, got '" + progress +
                "'");
  options.threads = threads;
  std::string error;
  std::unique_ptr<rt::Checkpoint> ckpt = rt::Checkpoint::open(ckptPath, error);
  if (!ckpt)
    return fail(error);
  std::vector<rt::LoadRequest> requests;
  std::string what;
  if (!loadRequests(context, sourceMgr, *ckpt, requests, what, error))
    return fail(error);
  std::vector<rt::HostTensor> tensors;
  rt::LoadStats stats;
  if (toDevice >= 0) {
#ifdef NOVA_HAVE_CUDA
    std::unique_ptr<rt::cuda::Device> device =
        rt::cuda::Device::open(toDevice, error);
    if (!device)
      return fail(error);
    std::vector<rt::cuda::Device::Buffer> buffers(requests.size());
    std::vector<rt::DeviceLoadRequest> onDevice;
    for (size_t i = 0; i < buffers.size(); ++i) {
      const rt::SafeTensorInfo *info = ckpt->find(requests[i].name);
      uint64_t bytes = rt::dtypeSize(*info->dtype);
      for (size_t d = 0; d < info->shape.size(); ++d)
        bytes *= static_cast<uint64_t>(requests[i].slice.empty()
                                           ? info->shape[d]
                                           : requests[i].slice[d].end -
                                                 requests[i].slice[d].begin);
      if (!device->allocate(bytes, buffers[i], error))
        return fail(error);
      onDevice.push_back(
          {requests[i].name, requests[i].slice, buffers[i].address(), bytes});
    }
    rt::cuda::PinnedStaging staging(*device);
    if (!ckpt->loadToDevice(onDevice, staging, options, error, &stats))
      return fail(error);
    tensors.resize(onDevice.size());
    llvm::outs() << "to " << device->name() << ": ";
#else
    return fail("--to-device needs a build with CUDA");
#endif
  } else if (!ckpt->load(requests, tensors, options, error, &stats)) {
    return fail(error);
  }
  if (!savePath.empty()) {
    if (toDevice >= 0)
      return fail("--save reads host memory; it cannot follow --to-device");
    std::vector<std::pair<std::string, rt::HostTensor>> loaded;
    std::map<std::string, std::string> metadata = ckpt->metadata();
    for (size_t i = 0; i < requests.size(); ++i) {
      loaded.push_back({requests[i].name, tensors[i]});
      // Where each shard came from: "<name>.box" = "0:4,0:64,48:64".
      std::string box;
      for (const rt::DimRange &r : requests[i].slice)
        box += (box.empty() ? "" : ",") + std::to_string(r.begin) + ":" +
               std::to_string(r.end);
      if (!box.empty())
        metadata[requests[i].name + ".box"] = box;
    }
    if (!what.empty())
      metadata["nova.shard"] = what.substr(0, what.size() - 2);
    if (!rt::writeSafeTensors(savePath, loaded, metadata, error))
      return fail(error);
  }
  std::string modes;
  for (rt::ReadMode m : stats.fileModes)
    if (modes.find(rt::readModeName(m)) == std::string::npos)
      modes += (modes.empty() ? "" : "+") + std::string(rt::readModeName(m));
  llvm::outs() << what << "loaded " << tensors.size() << " tensors, "
               << stats.bytes << " bytes ("
               << format("%.1f", 100.0 * stats.bytes /
                                     std::max<uint64_t>(ckpt->totalBytes(), 1))
               << "% of the checkpoint) from " << ckpt->files().size()
               << " file(s) in " << format("%.3f", stats.seconds) << " s ("
               << format("%.2f",
                         stats.bytes / 1e9 / std::max(stats.seconds, 1e-9))
               << " GB/s, " << modes << ", " << stats.threads << " threads)\n";
  return EXIT_SUCCESS;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  ::mlir::nova::installVersionPrinter("nova-ckpt");
  // The subcommands' options stay; LLVM's go behind --help-hidden.
  ::mlir::nova::hideForeignOptions({});
  cl::ParseCommandLineOptions(argc, argv,
                              "Inspect, load and convert Nova checkpoints\n");
  ::mlir::nova::ToolContext tool;
  MLIRContext &context = tool.context;
  llvm::SourceMgr &sourceMgr = tool.sourceMgr;

  if (inspectCmd)
    return runInspect(context, sourceMgr);
  if (loadCmd)
    return runLoad(context, sourceMgr);
  if (!orderCmd && !convertCmd)
    return fail("expected a command: inspect, load, grok1-order or "
                "convert-grok1 (see --help)");
  rt::ModuleManifest manifest;
  if (!loadModule(context, sourceMgr, moduleFile, manifest))
    return EXIT_FAILURE;
  if (orderCmd) {
    std::vector<DeclaredParameter> params = rt::grok1Order(manifest.params);
    unsigned suffix;
    std::string error;
    if (!hostSuffix(suffix, error))
      return fail(error);
    for (size_t i = 0; i < params.size(); ++i) {
      llvm::outs() << rt::grok1FileName(i, suffix) << " " << params[i].path
                   << (params[i].quantized ? " (QuantizedWeight8bit)" : "")
                   << "\n";
    }
    return EXIT_SUCCESS;
  }
  return runConvert(manifest);
}
