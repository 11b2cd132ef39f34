//===- SafeTensors.h - Strict safetensors reading and writing ---*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
// safetensors is Nova's native checkpoint format: an 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, ...,
// "__metadata__": {string: string}}, then the tensor bytes. Validation is as
// strict as the reference implementation: bounded header starting with '{',
// known dtypes, shape x dtype size equal to the byte range, offsets in
// bounds, non-overlapping and covering the data exactly, unique names.
// Quantized parameters are stored as "<path>" (I8) and "<path>.scales".
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_SAFETENSORS_H
#define NOVA_RUNTIME_SAFETENSORS_H

#include "nova/runtime/HostTensor.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace nova::rt {

/// The reference implementation's bound on the JSON header.
constexpr uint64_t kMaxSafeTensorsHeader = 100'000'000;
/// Most tensors one file may declare (docs/checkpoints.md).
constexpr size_t kMaxSafeTensorsEntries = 1'000'000;
/// Most dimensions of one tensor's shape.
constexpr size_t kMaxSafeTensorsRank = 64;

/// One tensor entry of a safetensors header.
struct SafeTensorInfo {
  std::string name;
  /// The file's dtype string ("BF16", "F32", ...).
  std::string dtypeName;
  /// Nova's dtype, when Nova can load this dtype.
  std::optional<DType> dtype;
  std::vector<int64_t> shape;
  /// Byte range relative to the start of the data section.
  uint64_t begin = 0, end = 0;
  /// Byte offset of the entry's value in the JSON header.
  uint64_t headerOffset = 0;
};

/// An opened, fully validated safetensors file, memory-mapped read-only.
class SafeTensorsFile {
public:
  /// Opens and validates `path`; on failure returns nullptr and sets `error`
  /// to a message naming the file, the header byte offset of the offending
  /// entry, the tensor and the rule broken.
  static std::unique_ptr<SafeTensorsFile> open(const std::string &path,
                                               std::string &error);
  ~SafeTensorsFile();

  const std::string &path() const { return filePath; }
  /// Entries in file order (sorted by offset).
  const std::vector<SafeTensorInfo> &tensors() const { return entries; }
  const std::map<std::string, std::string> &metadata() const { return meta; }
  const SafeTensorInfo *find(const std::string &name) const;
  /// File offset of the data section (8 + header length); tensor offsets
  /// are relative to it.
  uint64_t dataOffset() const { return dataStartOffset; }
  /// The mapped data section.
  const uint8_t *dataBytes() const { return dataStart; }

  /// A zero-copy view of tensor `name` (valid while any copy of the view
  /// lives; the mapping is reference-counted).
  bool load(const std::string &name, HostTensor &out, std::string &error) const;

private:
  SafeTensorsFile() = default;
  std::string filePath;
  std::vector<SafeTensorInfo> entries;
  std::map<std::string, size_t> byName;
  std::map<std::string, std::string> meta;
  std::shared_ptr<const void> mapping;
  const uint8_t *dataStart = nullptr;
  uint64_t dataStartOffset = 0;
};

/// Writes `tensors` (and `metadata`) to `path` atomically: a temporary file
/// in the same directory is renamed over `path` only after everything was
/// written and flushed. Tensors are laid out in the given order.
bool writeSafeTensors(
    const std::string &path,
    const std::vector<std::pair<std::string, HostTensor>> &tensors,
    const std::map<std::string, std::string> &metadata, std::string &error);

/// safetensors dtype string of a Nova dtype ("F32", "BF16", ...).
const char *safeTensorsDTypeName(DType dtype);

} // namespace nova::rt

#endif // NOVA_RUNTIME_SAFETENSORS_H
