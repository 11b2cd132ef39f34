//===- Manifest.h - The contract of a compiled Nova module ------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// What a compiled module promises its callers, without MLIR: its entry
// points with every argument in ABI order (role, name, dtype, shape), its
// parameters (path, stored dtype, scale layout, partition spec and mesh, and
// the shard one rank's program takes when the module is an SPMD program),
// the model's name, Nova's version and the target. It is derived once from
// the IR (passes/Contract), carried through lowering as the module attribute
// `nova.manifest`, written by `nova-opt --emit=manifest` as JSON (schema in
// docs/abi.md), and read by every consumer: the C header, the argument-order
// pass, the backends, the checkpoint checks and nova-ckpt.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_MANIFEST_H
#define NOVA_RUNTIME_MANIFEST_H

#include "nova/runtime/Checkpoint.h"
#include "nova/runtime/DType.h"
#include "nova/runtime/Sharding.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nova::rt {

/// The manifest schema version this build writes and reads.
/// 2: the `communicator` role and the parameters' `local_shape`.
constexpr int kManifestVersion = 3;

/// Nova's version ("0.4.0"), recorded in every manifest.
const char *novaVersion();

/// What an argument of an entry point is.
enum class ArgRole {
  /// A caller-provided, read-only input.
  Input,
  /// An input that the entry also returns, updated, as an output of the same
  /// name (a KV cache): the caller carries it from call to call.
  State,
  /// A parameter's value (a quantized weight's int8 data).
  Parameter,
  /// A quantized parameter's scales; always right after its weight.
  Scales,
  /// A caller-allocated output, written by the call.
  Output,
  /// The MPI communicator of the whole mesh (an MPICH `MPI_Comm`, i32, passed
  /// by value) of an SPMD program: rank r runs the program of the device with
  /// row-major mesh index r. Right after the inputs; at most one per entry.
  Communicator,
};

/// "input", "state", "parameter", "scales", "output", "communicator".
const char *argRoleName(ArgRole role);

/// One argument of an entry point, in ABI order.
struct ManifestArg {
  ArgRole role = ArgRole::Input;
  /// The input or output name (`argN` / `resultN` when the IR has none); for
  /// parameters the path, and `<path>.scales` for scales.
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  /// A state value or output an SPMD entry keeps split (the KV cache split
  /// by heads): `shape` is this rank's block under `spec` on mesh `mesh`.
  /// Absent: every rank holds the whole value.
  std::optional<PartitionSpec> spec;
  std::string mesh;

  /// The parameter a parameter or scales argument belongs to (the name
  /// without ".scales").
  std::string paramPath() const;

  /// The number of elements and the size of the dense buffer.
  int64_t numElements() const;
  int64_t bytes() const { return numElements() * dtypeSize(dtype); }

  /// Read by the call (inputs, state, parameters, scales, communicator).
  bool isRead() const { return role != ArgRole::Output; }
  /// A caller-owned buffer passed by pointer: every argument but the
  /// communicator, which is passed by value.
  bool isBuffer() const { return role != ArgRole::Communicator; }
  /// An input or state: one of the caller's per-call tensors.
  bool isInput() const {
    return role == ArgRole::Input || role == ArgRole::State;
  }
  /// A parameter's value or scales, bound once from a checkpoint.
  bool isParameter() const {
    return role == ArgRole::Parameter || role == ArgRole::Scales;
  }
};

/// One entry point.
struct ManifestEntry {
  /// The function's name in the module.
  std::string name;
  /// The exported symbol (the name with the emission prefix; the name itself
  /// before an object is emitted).
  std::string symbol;
  /// Inputs in signature order, then the communicator (SPMD programs only),
  /// then parameters sorted by path (a quantized one as weight then scales),
  /// then outputs.
  std::vector<ManifestArg> args;

  size_t numInputs() const;
  size_t numOutputs() const;
  /// The arguments passed by pointer (all but the communicator), in order.
  size_t numBuffers() const;
  /// The position of the communicator in `args` (and in the C signature), or
  /// std::nullopt when the entry is not an SPMD program.
  std::optional<size_t> communicatorIndex() const;
};

/// A device mesh named by partition specs.
struct ManifestMesh {
  std::string name;
  std::vector<MeshAxis> axes;
};

/// One parameter of the module.
struct ManifestParam {
  std::string path;
  /// The stored value: i8 for a quantized weight. `shape` is the whole
  /// (global) tensor, as a checkpoint holds it.
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  /// The block of it that one rank's program takes, i.e. the shape of the
  /// entries' argument: in an SPMD module (its entries take a communicator)
  /// the shard under `spec` (rt::localShape), otherwise `shape`.
  std::vector<int64_t> localShape;
  bool quantized = false;
  DType scalesDType = DType::F32;
  std::vector<int64_t> scalesShape;
  /// The same for the scales.
  std::vector<int64_t> scalesLocalShape;
  /// The scale layout as the dialect prints it (e.g. "per_column").
  std::string scaleLayout;
  /// The partition spec resolved by the rules, on mesh `mesh`; absent: not
  /// sharded (replicated). The scales share it.
  std::optional<PartitionSpec> spec;
  std::string mesh;
  /// Where it is declared ("model.yaml:6:5"), empty when unknown.
  std::string location;

  /// The value (and scales) as checkpoint tensors to check.
  std::vector<DeclaredTensor> declaredTensors() const;
};

/// One instruction-set tier of an object: an LLVM CPU name and feature
/// string (features only for "native").
struct ManifestTier {
  std::string cpu;
  std::string features;
};

/// What the module was compiled for: kind "cpu" with the baseline tier (what
/// every machine running it needs) and the higher tiers the object also
/// holds, one of which its entries choose at load time (docs/abi.md); empty
/// before code generation.
struct ManifestTarget {
  std::string kind;
  std::string cpu;
  std::string features;
  std::vector<ManifestTier> tiers;
  /// Kind "cuda" only: the GPU architecture of the kernels (e.g. sm_90a);
  /// the CPU fields then describe the host code.
  std::string gpu;
};

struct ModuleManifest {
  int version = kManifestVersion;
  std::string model;
  std::string novaVersion;
  ManifestTarget target;
  std::vector<ManifestMesh> meshes;
  /// Sorted by path, each once.
  std::vector<ManifestParam> params;
  /// In module order.
  std::vector<ManifestEntry> entries;

  /// The entry with function name `name`, or nullptr.
  const ManifestEntry *entry(std::string_view name) const;
  /// The entry whose symbol (its function in the IR) is `symbol`, or nullptr.
  const ManifestEntry *entryBySymbol(std::string_view symbol) const;
  /// The parameter at `path`, or nullptr.
  const ManifestParam *param(std::string_view path) const;
  /// The mesh called `name`, or nullptr.
  const ManifestMesh *mesh(std::string_view name) const;
  /// True for an SPMD program: every entry takes a communicator and every
  /// parameter argument is its rank's shard.
  bool isSpmd() const;
  /// Every parameter's tensors, for rt::checkDeclared.
  std::vector<DeclaredTensor> declaredTensors() const;
};

/// The manifest as JSON (docs/abi.md), deterministic: the same manifest
/// always gives the same bytes.
std::string writeManifestJson(const ModuleManifest &manifest);

/// Parses a manifest written by writeManifestJson, strictly: unknown or
/// missing keys, wrong types, unknown roles or dtypes, a schema version other
/// than kManifestVersion and inconsistent references (an entry naming an
/// undeclared parameter, a spec naming an unknown mesh, a local shape that is
/// not the shard of its parameter, a communicator that is not one i32 scalar
/// right after the inputs of every entry) are errors naming `source`, the
/// byte offset and the key.
bool parseManifestJson(std::string_view text, const std::string &source,
                       ModuleManifest &out, std::string &error);

} // namespace nova::rt

#endif // NOVA_RUNTIME_MANIFEST_H
