//===- Grok1Convert.h - Grok-1 checkpoints to Nova safetensors --*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// Grok-1 stores its parameters as ckpt-0/tensorNNNNN_III pickles, one per
// parameter in JAX's flattening order of the Haiku dict, suffix III the host
// shard. The conversion reads them with the restricted unpickler (nothing is
// executed; docs/checkpoints.md), checks each against the module's manifest,
// and streams them into safetensors (one file or a multi-file checkpoint)
// with at most one output file of tensors in memory.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_GROK1CONVERT_H
#define NOVA_RUNTIME_GROK1CONVERT_H

#include "nova/runtime/Manifest.h"

#include <cstdint>
#include <string>
#include <vector>

namespace nova::rt {

/// Grok-1's checkpoint order: JAX flattens the Haiku parameter dict
/// {module path: {name: array}} with keys sorted as strings at each level,
/// so layers come lexicographically (decoder_layer_0, 1, 10, 11, ...).
std::vector<ManifestParam> grok1Order(std::vector<ManifestParam> params);

/// The host-shard suffix (the III of tensorNNNNN_III) Grok-1's
/// checkpoint.py reads for process `processIndex` of a run whose hosts form
/// the mesh `betweenHosts` (its between_hosts_config): with S the product
/// of `betweenHosts` and Grok-1's num_replicas = 1,
/// idx = p // (num_replicas·S)·S + p % S, which is p for every valid p
/// (grok1-semantics.md). Fails for an empty or non-positive config, a
/// process index outside [0, S) or a suffix past 999.
bool grok1HostSuffix(int64_t processIndex,
                     const std::vector<int64_t> &betweenHosts, unsigned &suffix,
                     std::string &error);

/// "tensor00042_000": the file of parameter `index` (Grok-1's order) for
/// host-shard suffix `suffix`.
std::string grok1FileName(size_t index, unsigned suffix);

struct Grok1ConvertOptions {
  /// The checkpoint directory (or the one holding ckpt-0/).
  std::string source;
  /// A `.safetensors` file, or a directory for a multi-file checkpoint.
  std::string output;
  /// Which host shard's files to read (the III of tensorNNNNN_III).
  unsigned hostShard = 0;
  /// Most tensor bytes per output file (directory output).
  uint64_t maxFileBytes = uint64_t(4) << 30;
  /// Reader threads; 0: one per hardware thread, at least 4.
  unsigned threads = 0;
};

struct Grok1ConvertResult {
  size_t parameters = 0, tensors = 0;
  uint64_t bytes = 0;
  /// The file written (the index for a directory).
  std::string written;
  /// Files of other host shards, not read.
  unsigned otherShards = 0;
};

/// Converts the Grok-1 checkpoint of `manifest`'s module. Every file is
/// checked before its tensors are written (parameter kind, dtype, shape;
/// f32 arrays round to a declared bf16/f16); the output is all-or-nothing
/// (one file written atomically, or a directory's whole file set through
/// writeShardedSafeTensors): a failure part-way leaves no output file.
bool convertGrok1(const ModuleManifest &manifest,
                  const Grok1ConvertOptions &options,
                  Grok1ConvertResult &result, std::string &error);

} // namespace nova::rt

#endif // NOVA_RUNTIME_GROK1CONVERT_H
