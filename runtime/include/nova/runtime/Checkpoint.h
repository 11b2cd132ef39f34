//===- Checkpoint.h - Fast, safe checkpoint loading -------------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// A checkpoint is one safetensors file or several with an index (the common
// `model.safetensors.index.json` layout). Every file is validated on open
// (SafeTensors.h); the index is validated against the files. Tensors are
// then viewed zero-copy (mmap) or loaded, whole or as a rank's shard, into
// runtime-allocated or caller-provided buffers by a pool of threads doing
// large reads. See docs/checkpoints.md.
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_CHECKPOINT_H
#define NOVA_RUNTIME_CHECKPOINT_H

#include "nova/runtime/SafeTensors.h"
#include "nova/runtime/Sharding.h"

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nova::rt {

/// How tensor bytes get from the file into the destination buffers.
enum class ReadMode {
  /// Shm for files on network or FUSE filesystems (where one big sequential
  /// copy beats many scattered reads), Pread otherwise. Chosen per file.
  Auto,
  /// Copy from the file's read-only mapping (page faults on every thread).
  Mmap,
  /// Large positioned reads (pread) straight into the destination.
  Pread,
  /// Grok-1's copy_to_shm: copy the whole file into /dev/shm first, read
  /// from there, delete the copy afterwards (even on error).
  Shm,
};

/// "auto", "mmap", "pread", "shm" -> the mode; anything else -> nullopt.
std::optional<ReadMode> parseReadMode(std::string_view name);
const char *readModeName(ReadMode mode);

enum class Progress { Auto, Always, Never };

struct LoadOptions {
  ReadMode mode = ReadMode::Auto;
  /// Reader threads; 0 means one per hardware thread, at least 4 (reads
  /// block on IO as well as on memory).
  unsigned threads = 0;
  /// A progress bar on stderr for loads that take over a second: Auto shows
  /// it only when stderr is a terminal.
  Progress progress = Progress::Auto;
  /// The bar appears only once a load has run this long.
  double progressAfterSeconds = 1.0;
  /// Reads are split into pieces of at most this many bytes, which the
  /// threads take in order (large sequential reads, balanced load); at
  /// least 4 KiB.
  uint64_t chunkBytes = uint64_t(16) << 20;
};

/// One tensor to load.
struct LoadRequest {
  std::string name;
  /// Empty: the whole tensor. Otherwise one range per dimension; the
  /// result is that box of the tensor, row-major.
  std::vector<DimRange> slice;
  /// Caller-provided destination of exactly the result's size, or null for
  /// a runtime-allocated (64-byte aligned) buffer.
  void *dest = nullptr;
  uint64_t destBytes = 0;
};

struct LoadStats {
  uint64_t bytes = 0;
  double seconds = 0;
  unsigned threads = 0;
  /// The mode used for each file read, in checkpoint file order.
  std::vector<ReadMode> fileModes;
  /// Bytes copied into /dev/shm first (shm mode).
  uint64_t stagedBytes = 0;
};

/// Where a device load's bytes go: a device and its copy engine. The CUDA
/// implementation (rt::cuda::PinnedStaging) stages through page-locked host
/// buffers and copies each on its own stream; tests use a host fake.
class StagingSink {
public:
  virtual ~StagingSink() = default;
  /// `count` staging buffers of `bytes` each (page-locked for DMA).
  virtual bool allocateSlots(unsigned count, uint64_t bytes,
                             std::vector<void *> &slots,
                             std::string &error) = 0;
  virtual void freeSlots(std::vector<void *> &slots) = 0;
  /// Starts copying `bytes` of slot `slot` (at `src`, inside it) to device
  /// address `dst`; returns without waiting.
  virtual bool copyAsync(unsigned slot, uint64_t dst, const void *src,
                         uint64_t bytes, std::string &error) = 0;
  /// Waits for every copy started from `slot`, so it may be refilled.
  virtual bool wait(unsigned slot, std::string &error) = 0;
};

/// One tensor (or a box of it) to load to device memory at `address`
/// (`bytes` available there).
struct DeviceLoadRequest {
  std::string name;
  std::vector<DimRange> slice;
  uint64_t address = 0;
  uint64_t bytes = 0;
};

/// One "weight_map" entry of an index: the file (relative to the index's
/// directory) and the byte offset of the entry in the index, for errors.
struct CheckpointIndexEntry {
  std::string file;
  uint64_t offset = 0;
};

class Checkpoint {
public:
  /// Opens a checkpoint: a `.safetensors` file, an index `.json` file, or a
  /// directory holding `model.safetensors.index.json` or exactly one
  /// `.safetensors` file. Validates every file and the index.
  static std::unique_ptr<Checkpoint> open(const std::string &path,
                                          std::string &error);

  /// Every tensor, in file order then offset order.
  const std::vector<const SafeTensorInfo *> &tensors() const { return all; }
  const SafeTensorInfo *find(const std::string &name) const;
  /// The file holding tensor `name` (nullptr if there is none).
  const SafeTensorsFile *fileOf(const std::string &name) const;
  const std::vector<std::unique_ptr<SafeTensorsFile>> &files() const {
    return shards;
  }
  /// The files' `__metadata__` merged (entries must agree across files).
  const std::map<std::string, std::string> &metadata() const { return meta; }
  /// Sum of all tensors' bytes.
  uint64_t totalBytes() const { return total; }

  /// A zero-copy read-only view of tensor `name` (the mapping stays alive as
  /// long as the view does).
  bool view(const std::string &name, HostTensor &out, std::string &error) const;

  /// Loads `requests` in parallel. Every request is validated (name, dtype,
  /// slice bounds, destination size) before any byte is written; on failure
  /// `out` is left untouched and runtime-allocated buffers are freed. On
  /// success `out[i]` holds request i's tensor (a view of the caller's buffer
  /// when one was given).
  bool load(const std::vector<LoadRequest> &requests,
            std::vector<HostTensor> &out, const LoadOptions &options,
            std::string &error, LoadStats *stats = nullptr) const;

  /// Loads `requests` to a device through `sink`: reader threads fill
  /// staging slots (options.chunkBytes each, two per thread) with large
  /// reads while the device copies the slots filled before, so disk/page
  /// cache reads and host-to-device copies overlap. Validation as load().
  bool loadToDevice(const std::vector<DeviceLoadRequest> &requests,
                    StagingSink &sink, const LoadOptions &options,
                    std::string &error, LoadStats *stats = nullptr) const;

  /// Loads every tensor (runtime-allocated), in tensors() order.
  bool loadAll(std::vector<HostTensor> &out, const LoadOptions &options,
               std::string &error, LoadStats *stats = nullptr) const;

private:
  Checkpoint() = default;
  /// A validated request.
  struct Resolved {
    size_t file = 0;
    const SafeTensorInfo *info = nullptr;
    /// The box read (the whole tensor when the request's slice is empty).
    std::vector<DimRange> box;
    /// The bytes of the result.
    uint64_t bytes = 0;
  };
  /// Validates one request: its file, entry, box and size.
  bool resolve(const std::string &name, const std::vector<DimRange> &slice,
               Resolved &out, std::string &error) const;
  /// Indexes the tensors and metadata of shards[f]; with an `index`, checks
  /// each tensor against its `weightMap` entry.
  bool addFile(size_t f, const std::string &index,
               const std::map<std::string, CheckpointIndexEntry> &weightMap,
               std::string &error);
  /// Checks the index against the files: every mapped tensor present, and
  /// the index's total size (when it gives one, at `totalSizeOffset`)
  /// right.
  bool checkIndex(const std::string &index,
                  const std::map<std::string, CheckpointIndexEntry> &weightMap,
                  std::optional<uint64_t> totalSize, uint64_t totalSizeOffset,
                  std::string &error) const;
  std::vector<std::unique_ptr<SafeTensorsFile>> shards;
  std::vector<const SafeTensorInfo *> all;
  std::map<std::string, std::pair<size_t, const SafeTensorInfo *>> byName;
  std::map<std::string, std::string> meta;
  uint64_t total = 0;
};

//===----------------------------------------------------------------------===//
// Sharded loads: which box of a parameter a device owns
//===----------------------------------------------------------------------===//

// MeshAxis, PartitionSpec, meshCoordinates and shardBox: Sharding.h.

/// Requests (whole tensors, runtime-allocated) for every tensor `keep`
/// accepts, in checkpoint order: a selection by predicate.
std::vector<LoadRequest>
selectTensors(const Checkpoint &ckpt,
              const std::function<bool(const SafeTensorInfo &)> &keep);

/// Requests for the device at `coords`' shard of every tensor for which
/// `specOf` gives a spec (std::nullopt: not loaded), in checkpoint order.
bool shardRequests(
    const Checkpoint &ckpt,
    const std::function<std::optional<PartitionSpec>(const SafeTensorInfo &)>
        &specOf,
    const std::vector<MeshAxis> &mesh, const std::vector<int64_t> &coords,
    std::vector<LoadRequest> &out, std::string &error);

//===----------------------------------------------------------------------===//
// Checking against a module's declared parameters
//===----------------------------------------------------------------------===//

struct DeclaredTensor {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  /// For a quantized weight's scales: the layout string recorded under
  /// "<name>.layout" in the metadata (checked when the file records one).
  std::string scaleLayout;
  /// Where it is declared ("model.yaml:6:5"), to prefix messages with.
  std::string location;
};

/// Checks that every declared tensor is in the checkpoint with its dtype and
/// shape (Grok-1 never compares shapes; Nova does). Lists every problem,
/// not only the first.
bool checkDeclared(const Checkpoint &ckpt,
                   const std::vector<DeclaredTensor> &declared,
                   std::string &error);

//===----------------------------------------------------------------------===//
// Writing multi-file checkpoints
//===----------------------------------------------------------------------===//

/// Writes `tensors` into `dir` as `<stem>-0000i-of-0000n.safetensors` files
/// of at most `maxFileBytes` of tensor data each (a larger tensor gets a file
/// of its own), plus `<stem>.safetensors.index.json`. The set is written
/// all-or-nothing (rt::AtomicFileSet): every file goes to a temporary, and
/// all are renamed into place, the index last, only after every write
/// succeeded; a failure leaves none of them (and an earlier checkpoint's
/// files in `dir` as they were). Returns the index path in `indexPath`.
bool writeShardedSafeTensors(
    const std::string &dir, const std::string &stem,
    const std::vector<std::pair<std::string, HostTensor>> &tensors,
    const std::map<std::string, std::string> &metadata, uint64_t maxFileBytes,
    std::string &indexPath, std::string &error);

/// Produces the tensors [begin, end) of a planned list, in order.
using TensorProducer =
    std::function<bool(size_t begin, size_t end,
                       std::vector<std::pair<std::string, HostTensor>> &tensors,
                       std::string &error)>;

/// The streaming form: files are planned from `sizes` (name, bytes) and
/// each file's tensors are produced just before it is written, so at most
/// one file's worth of tensors is in memory (converting a 300 GB checkpoint
/// needs one file of RAM, not 300 GB). Produced tensors must have the
/// planned names and sizes.
bool writeShardedSafeTensors(
    const std::string &dir, const std::string &stem,
    const std::vector<std::pair<std::string, uint64_t>> &sizes,
    const TensorProducer &produce,
    const std::map<std::string, std::string> &metadata, uint64_t maxFileBytes,
    std::string &indexPath, std::string &error);

} // namespace nova::rt

#endif // NOVA_RUNTIME_CHECKPOINT_H
