//===- Spmd.cpp - One rank of a sharded run -------------------------------===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#include "runtime/backends/Spmd.h"

#include "runtime/backends/Compare.h"
#include "runtime/backends/ModuleParams.h"

#include "passes/Partition/Passes.h"

#include "nova/runtime/Grok1Convert.h"
#include "nova/runtime/ModuleShards.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

using namespace nova;
using namespace nova::backends;
using rt::HostTensor;

bool nova::backends::placeRank(const rt::ModuleManifest &manifest, int rank,
                               int ranks, RankPlacement &placement,
                               std::string &error) {
  const rt::ManifestMesh *mesh = nullptr;
  if (!rt::parameterMesh(manifest, mesh, error))
    return false;
  if (!mesh) {
    if (ranks != 1) {
      error = "the module has no device mesh, so it runs on 1 rank, but " +
              std::to_string(ranks) +
              " ranks were launched; partition rules give the mesh the ranks "
              "run on (--rules)";
      return false;
    }
  } else if (rt::meshDevices(*mesh) != ranks) {
    error = "mesh " + rt::describeMesh(*mesh) +
            " runs on one rank per device, but " + std::to_string(ranks) +
            " ranks were launched";
    return false;
  }
  if (rank < 0 || rank >= ranks) {
    error = "rank " + std::to_string(rank) + " is not one of " +
            std::to_string(ranks);
    return false;
  }
  placement.rank = rank;
  placement.ranks = ranks;
  placement.mesh = mesh;
  placement.coords =
      mesh ? rt::meshCoordinates(mesh->axes, rank) : std::vector<int64_t>();
  placement.comm = rt::mpi::world();
  return true;
}

bool nova::backends::buildRankProgram(mlir::ModuleOp module,
                                      const rt::ModuleManifest &manifest,
                                      const RankPlacement &placement,
                                      const std::string &backend,
                                      RankProgram &program, std::string &error,
                                      const BackendOptions &base) {
  (void)manifest;
  program.module = mlir::OwningOpRef<mlir::ModuleOp>(
      mlir::cast<mlir::ModuleOp>(module->clone()));
  mlir::ModuleOp rankModule = *program.module;
  // The interpreter runs whole modules only: every rank runs the
  // unpartitioned model on the whole parameters (a reference for the
  // partitioned CPU run). Compiled backends get the rank's program.
  program.localParameters = backend != "interp" && placement.mesh &&
                            rt::meshDevices(*placement.mesh).value_or(1) > 1;
  if (program.localParameters) {
    // Diagnostics go to the context's handler (the tool's, with YAML
    // locations); the error says which step failed.
    if (mlir::failed(mlir::nova::partitionForMesh(rankModule))) {
      error = "partitioning the model for mesh @" + placement.mesh->name +
              " failed (see the messages above)";
      return false;
    }
  }
  BackendOptions options = base;
  if (program.localParameters)
    options.communicator = placement.comm;
  program.createBackend = [rankModule, options](const std::string &name,
                                                std::string &why) {
    return createBackend(name, rankModule, why, options);
  };
  return true;
}

namespace {

/// A lookup into tensors owned by `owned`.
interp::ParamLookup
lookupOwned(std::shared_ptr<std::map<std::string, HostTensor>> owned) {
  return [owned](const std::string &name, HostTensor &out, std::string &e) {
    auto it = owned->find(name);
    if (it == owned->end()) {
      e = "no parameter tensor '" + name + "' was loaded";
      return false;
    }
    out = it->second;
    return true;
  };
}

} // namespace

bool nova::backends::openRankParameters(
    const rt::ModuleManifest &manifest, const std::string &path,
    const RankPlacement &placement, bool localParameters,
    const rt::LoadOptions &options, RankParameters &out, std::string &error) {
  out = RankParameters();
  if (!localParameters || path.empty())
    return openParameters(manifest, path, out.checkpoint, out.lookup, error);
  std::shared_ptr<rt::Checkpoint> ckpt = openDeclared(manifest, path, error);
  if (!ckpt)
    return false;
  std::vector<rt::LoadRequest> requests;
  if (!rt::deviceShardRequests(
          *ckpt, manifest, placement.mesh, placement.rank,
          [](const std::string &) { return true; }, requests, error))
    return false;
  std::vector<HostTensor> tensors;
  rt::LoadStats stats;
  if (!ckpt->load(requests, tensors, options, error, &stats))
    return false;
  auto owned = std::make_shared<std::map<std::string, HostTensor>>();
  for (size_t i = 0; i < requests.size(); ++i)
    (*owned)[requests[i].name] = std::move(tensors[i]);
  out.owned = owned;
  out.lookup = lookupOwned(owned);
  out.loadedBytes = stats.bytes;
  return true;
}

bool nova::backends::randomRankParameters(
    const rt::ModuleManifest &manifest,
    const std::vector<std::pair<std::string, HostTensor>> &global,
    const RankPlacement &placement, bool localParameters, RankParameters &out,
    std::string &error) {
  out = RankParameters();
  std::map<std::string, std::vector<rt::DimRange>> boxes;
  if (localParameters &&
      !rt::deviceBoxes(manifest, placement.mesh, placement.rank, boxes, error))
    return false;
  auto owned = std::make_shared<std::map<std::string, HostTensor>>();
  for (const auto &[name, tensor] : global) {
    auto box = boxes.find(name);
    (*owned)[name] = box == boxes.end() || box->second.empty()
                         ? tensor
                         : rt::sliceBox(tensor, box->second);
  }
  out.owned = owned;
  out.lookup = lookupOwned(owned);
  return true;
}

bool nova::backends::rankCheckpointPath(
    const std::string &pattern, int rank, int ranks,
    const std::vector<int64_t> &betweenHosts, std::string &path,
    std::string &error) {
  auto replaceAll = [](std::string text, const std::string &from,
                       const std::string &to) {
    for (size_t at = text.find(from); at != std::string::npos;
         at = text.find(from, at + to.size()))
      text.replace(at, from.size(), to);
    return text;
  };
  std::string result = replaceAll(pattern, "{rank}", std::to_string(rank));
  if (result.find("{host}") != std::string::npos) {
    // Grok-1's default between_hosts_config: one host.
    std::vector<int64_t> hosts =
        betweenHosts.empty() ? std::vector<int64_t>{1, 1} : betweenHosts;
    // Validates the mesh (positive sizes, no overflow) before it is used.
    unsigned suffix = 0;
    if (!rt::grok1HostSuffix(0, hosts, suffix, error))
      return false;
    int64_t count = 1;
    for (int64_t h : hosts)
      count *= h;
    if (ranks % count != 0) {
      error = std::to_string(ranks) + " ranks do not spread evenly over the " +
              std::to_string(count) +
              " hosts of the between-hosts mesh (each host runs as many)";
      return false;
    }
    if (!rt::grok1HostSuffix(rank / (ranks / count), hosts, suffix, error))
      return false;
    char digits[8];
    std::snprintf(digits, sizeof(digits), "%03u", suffix);
    result = replaceAll(result, "{host}", digits);
  }
  path = std::move(result);
  return true;
}

namespace {

/// A backend whose binding and calls are watched.
class WatchedBackend : public Backend {
public:
  WatchedBackend(std::unique_ptr<Backend> inner, rt::mpi::Watchdog &watchdog)
      : inner(std::move(inner)), watchdog(watchdog) {}
  const char *name() const override { return inner->name(); }
  const rt::ModuleManifest &manifest() const override {
    return inner->manifest();
  }
  bool prepare(const std::string &entry, const interp::ParamLookup &params,
               std::string &error) override {
    rt::mpi::Watchdog::Scope scope = watchdog.watch(
        "binding the parameters of entry '" + entry + "' (" + name() + ")");
    return inner->prepare(entry, params, error);
  }
  bool run(const std::string &entry, const std::vector<HostTensor> &inputs,
           std::vector<HostTensor> &outputs, std::string &error) override {
    rt::mpi::Watchdog::Scope scope =
        watchdog.watch("call " + std::to_string(++calls) + " ('" + entry +
                       "', " + name() + ")");
    return inner->run(entry, inputs, outputs, error);
  }

private:
  std::unique_ptr<Backend> inner;
  rt::mpi::Watchdog &watchdog;
  int64_t calls = 0;
};

} // namespace

std::unique_ptr<Backend>
nova::backends::watchCalls(std::unique_ptr<Backend> backend,
                           rt::mpi::Watchdog &watchdog) {
  return std::make_unique<WatchedBackend>(std::move(backend), watchdog);
}

//===----------------------------------------------------------------------===//
// Split state values at the entry boundary
//===----------------------------------------------------------------------===//

/// The box of this rank of a value of `shape` split as `arg` says.
static bool boxOf(const rt::ManifestArg &arg, const std::vector<int64_t> &shape,
                  const RankPlacement &placement,
                  std::vector<rt::DimRange> &box, std::string &error) {
  if (!placement.mesh || placement.mesh->name != arg.mesh) {
    error = "'" + arg.name + "' is split over mesh @" + arg.mesh +
            ", which is not the mesh the ranks run on";
    return false;
  }
  if (!rt::shardBox(shape, *arg.spec, placement.mesh->axes, placement.coords,
                    box, error)) {
    error = "'" + arg.name + "': " + error;
    return false;
  }
  return true;
}

bool nova::backends::splitInputs(const rt::ManifestEntry &local,
                                 const RankPlacement &placement,
                                 std::vector<HostTensor> &inputs,
                                 std::string &error) {
  std::vector<const rt::ManifestArg *> ports = inputsOf(local);
  for (size_t i = 0; i < ports.size() && i < inputs.size(); ++i) {
    if (!ports[i]->spec)
      continue;
    std::vector<rt::DimRange> box;
    if (!boxOf(*ports[i], inputs[i].shape(), placement, box, error))
      return false;
    inputs[i] = rt::sliceBox(inputs[i], box);
  }
  return true;
}

/// Copies `block` into box `box` of `whole` (row-major, same dtype).
static void placeBox(const HostTensor &block,
                     const std::vector<rt::DimRange> &box, HostTensor &whole) {
  const std::vector<int64_t> &shape = whole.shape();
  size_t rank = shape.size(), item = rt::dtypeSize(whole.dtype());
  if (rank == 0) {
    std::memcpy(whole.mutableBytes(), block.bytes(), item);
    return;
  }
  // Contiguous rows along the last dimension.
  int64_t rowLen = box[rank - 1].end - box[rank - 1].begin;
  std::vector<int64_t> index(rank, 0);
  int64_t rows = block.numElements() / std::max<int64_t>(rowLen, 1);
  uint8_t *dst = whole.mutableBytes();
  const uint8_t *src = block.bytes();
  for (int64_t r = 0; r < rows; ++r) {
    int64_t offset = 0;
    for (size_t d = 0; d < rank; ++d)
      offset = offset * shape[d] + box[d].begin + (d + 1 < rank ? index[d] : 0);
    std::memcpy(dst + offset * item, src + r * rowLen * item, rowLen * item);
    for (size_t d = rank - 1; d-- > 0;) {
      if (++index[d] < box[d].end - box[d].begin)
        break;
      index[d] = 0;
    }
  }
}

bool nova::backends::gatherOutputs(const rt::ManifestEntry &local,
                                   const rt::ManifestEntry &whole,
                                   const RankPlacement &placement,
                                   std::vector<HostTensor> &outputs,
                                   std::string &error) {
  std::vector<const rt::ManifestArg *> ports = outputsOf(local);
  std::vector<const rt::ManifestArg *> wholePorts = outputsOf(whole);
  for (size_t i = 0; i < ports.size() && i < outputs.size(); ++i) {
    if (!ports[i]->spec)
      continue;
    if (i >= wholePorts.size()) {
      error = "output '" + ports[i]->name + "' has no whole counterpart";
      return false;
    }
    std::vector<rt::DimRange> box;
    if (!boxOf(*ports[i], wholePorts[i]->shape, placement, box, error))
      return false;
    // Zero-padded to whole 32-bit words: MPI_SUM of integers is exact, and
    // exactly one rank holds each element's bits.
    size_t bytes =
        rt::HostTensor::zeros(wholePorts[i]->dtype, wholePorts[i]->shape)
            .sizeInBytes();
    std::vector<int32_t> words((bytes + 3) / 4, 0);
    HostTensor full =
        HostTensor::zeros(wholePorts[i]->dtype, wholePorts[i]->shape);
    // Ranks that hold the same block (they differ only on axes the spec
    // does not split) contribute it once: the one at coordinate 0 there.
    bool contributes = true;
    for (size_t a = 0; a < placement.mesh->axes.size(); ++a) {
      bool named = false;
      for (const std::vector<std::string> &dim : *ports[i]->spec)
        named |= std::find(dim.begin(), dim.end(),
                           placement.mesh->axes[a].name) != dim.end();
      if (!named && placement.coords[a] != 0)
        contributes = false;
    }
    if (contributes)
      placeBox(outputs[i], box, full);
    std::memcpy(words.data(), full.bytes(), bytes);
    if (!rt::mpi::allReduce(words.data(), static_cast<int64_t>(words.size()),
                            rt::mpi::kInt32, rt::mpi::kSum, error))
      return false;
    std::memcpy(full.mutableBytes(), words.data(), bytes);
    outputs[i] = std::move(full);
  }
  return true;
}
