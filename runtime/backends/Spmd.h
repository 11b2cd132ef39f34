//===- Spmd.h - One rank of a sharded run -----------------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// What a rank of an `mpirun.mpich -n N` run needs beyond the single-process
// path, shared by nova-run, the tests and the benchmarks: its place on the
// module's mesh, the program it runs (buildRankProgram, the one place where
// the module is partitioned for the mesh and the communicator reaches the
// backend), its parameters (only its shard boxes once the program takes
// local shards), and a backend whose every call is bounded by the
// watchdog. MPI itself is runtime/mpi (nova/runtime/Mpi.h).
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_BACKENDS_SPMD_H
#define NOVA_RUNTIME_BACKENDS_SPMD_H

#include "runtime/backends/Backends.h"

#include "nova/runtime/Checkpoint.h"
#include "nova/runtime/Manifest.h"
#include "nova/runtime/Mpi.h"

#include "mlir/IR/OwningOpRef.h"

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nova::backends {

/// Where this process sits in an SPMD run: rank `rank` of `ranks` is device
/// `rank` (row-major linear index) of the module's mesh.
struct RankPlacement {
  int rank = 0;
  int ranks = 1;
  /// The mesh the parameters are sharded over (rt::parameterMesh); null for
  /// a module without one, which only a single rank runs.
  const rt::ManifestMesh *mesh = nullptr;
  /// This rank's coordinates on `mesh` (empty without one).
  std::vector<int64_t> coords;
  /// The MPICH communicator of the whole mesh (MPI_COMM_WORLD).
  rt::mpi::Comm comm = rt::mpi::kCommWorld;
};

/// Places rank `rank` of `ranks` on `manifest`'s mesh. Errors, before any
/// work: the mesh's device count differs from `ranks` (or there is no mesh
/// and more than one rank), or the parameters' specs name two meshes.
bool placeRank(const rt::ModuleManifest &manifest, int rank, int ranks,
               RankPlacement &placement, std::string &error);

/// What one rank compiles and runs.
struct RankProgram {
  /// The module of this rank.
  mlir::OwningOpRef<mlir::ModuleOp> module;
  /// True when `module` is the per-rank SPMD program: its parameters are
  /// this rank's shard boxes (shapes from the partition specs, rt::localShape)
  /// and its entries take the communicator. False while every rank runs the
  /// unpartitioned module on the full parameters.
  bool localParameters = false;
  /// Creates backend `name` ("interp", "cpu") running `module` on this rank
  /// (for a per-rank program, with the communicator).
  std::function<std::unique_ptr<Backend>(const std::string &name,
                                         std::string &error)>
      createBackend;
};

/// The program rank `placement.rank` runs `module` with on backend
/// `backend`. A compiled backend on a mesh of more than one device gets the
/// rank's SPMD program: `module` partitioned by nova-spmd-partition (its
/// parameters are the rank's shard boxes, localParameters true) and
/// backends that pass `placement.comm` as the entries' communicator. The
/// interpreter runs whole modules only, so with "interp" every rank runs the
/// unpartitioned module on the whole parameters (localParameters false).
bool buildRankProgram(mlir::ModuleOp module, const rt::ModuleManifest &manifest,
                      const RankPlacement &placement,
                      const std::string &backend, RankProgram &program,
                      std::string &error, const BackendOptions &base = {});

/// Cuts the whole inputs of `entry` (the caller's tensors, in the order of
/// the entry's inputs) to this rank's blocks where the rank's program
/// `local` (the same entry of the partitioned module) takes a split state
/// value (ManifestArg::spec).
bool splitInputs(const rt::ManifestEntry &local, const RankPlacement &placement,
                 std::vector<rt::HostTensor> &inputs, std::string &error);

/// Makes the outputs of the rank's program `local` whole where they are
/// split (each rank's block placed in a zero tensor of the whole shape of
/// `whole`'s output, then one MPI_Allreduce of the bit patterns: exactly
/// one rank contributes each element). Collective: every rank calls it.
bool gatherOutputs(const rt::ManifestEntry &local,
                   const rt::ManifestEntry &whole,
                   const RankPlacement &placement,
                   std::vector<rt::HostTensor> &outputs, std::string &error);

/// The parameters a rank binds, and what keeps them alive.
struct RankParameters {
  /// The checkpoint the lookup views (zero-copy), when it views one.
  std::shared_ptr<rt::Checkpoint> checkpoint;
  /// Tensors owned in memory: loaded shard boxes, or random values.
  std::shared_ptr<std::map<std::string, rt::HostTensor>> owned;
  interp::ParamLookup lookup;
  /// Bytes read from the checkpoint for this rank (0 for a zero-copy view).
  uint64_t loadedBytes = 0;
};

/// This rank's parameters from checkpoint `path`, checked against
/// `manifest` (the global shapes the checkpoint holds): with
/// `localParameters`, only the rank's shard boxes are read (rt::Checkpoint
/// shard-selective loads, boxes from rt::deviceBoxes); otherwise the whole
/// checkpoint is viewed, as openParameters does.
bool openRankParameters(const rt::ModuleManifest &manifest,
                        const std::string &path, const RankPlacement &placement,
                        bool localParameters, const rt::LoadOptions &options,
                        RankParameters &out, std::string &error);

/// This rank's parameters from `global`, the values randomParameters gives
/// for `manifest` (the same on every rank): with `localParameters`, each
/// sliced to the rank's box.
bool randomRankParameters(
    const rt::ModuleManifest &manifest,
    const std::vector<std::pair<std::string, rt::HostTensor>> &global,
    const RankPlacement &placement, bool localParameters, RankParameters &out,
    std::string &error);

/// The checkpoint path rank `rank` of `ranks` reads: `pattern` with
/// `{rank}` replaced by the rank and `{host}` by the three-digit Grok-1
/// host-shard suffix of its host (rt::grok1HostSuffix of the host index
/// rank / (ranks / H) on the between-hosts mesh `betweenHosts`, H its size;
/// default one host). Errors: a rank count that H does not divide, and
/// grok1HostSuffix's.
bool rankCheckpointPath(const std::string &pattern, int rank, int ranks,
                        const std::vector<int64_t> &betweenHosts,
                        std::string &path, std::string &error);

/// `backend`, with its prepare() and every run() watched by `watchdog` (a
/// per-rank program blocks in MPI inside those calls when a peer fails).
std::unique_ptr<Backend> watchCalls(std::unique_ptr<Backend> backend,
                                    rt::mpi::Watchdog &watchdog);

} // namespace nova::backends

#endif // NOVA_RUNTIME_BACKENDS_SPMD_H
