//===- MappedFile.h - A regular file mapped read-only -----------*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_MAPPEDFILE_H
#define NOVA_RUNTIME_MAPPEDFILE_H

#include <cstdint>
#include <memory>
#include <string>

namespace nova::rt {

/// A regular file mapped read-only (MAP_PRIVATE), unmapped when the last
/// reference dies. An empty file has no mapping: data() is null.
class MappedFile {
public:
  /// Maps `path`; on failure returns nullptr with `error` naming the file
  /// and the reason ("cannot open: ...", "not a regular file", "cannot
  /// map: ...").
  static std::shared_ptr<const MappedFile> open(const std::string &path,
                                                std::string &error);
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  const uint8_t *data() const { return static_cast<const uint8_t *>(base); }
  uint64_t size() const { return bytes; }

private:
  MappedFile() = default;
  void *base = nullptr;
  uint64_t bytes = 0;
};

} // namespace nova::rt

#endif // NOVA_RUNTIME_MAPPEDFILE_H
