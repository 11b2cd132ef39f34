//===- AtomicFile.h - Write a file completely or not at all -----*- C++ -*-===//
//
// SPDX-License-Identifier: Apache-2.0
//
//===----------------------------------------------------------------------===//

#ifndef NOVA_RUNTIME_ATOMICFILE_H
#define NOVA_RUNTIME_ATOMICFILE_H

#include <cstddef>
#include <string>

namespace nova::rt {

/// Writes to a temporary file next to `path`; commit() flushes it and
/// renames it over `path`. Destroying an uncommitted AtomicFile removes the
/// temporary, so `path` never holds a partial file and an existing `path`
/// is untouched by a failed write.
class AtomicFile {
public:
  AtomicFile() = default;
  AtomicFile(const AtomicFile &) = delete;
  AtomicFile &operator=(const AtomicFile &) = delete;
  ~AtomicFile();

  bool open(const std::string &path, std::string &error);
  bool write(const void *data, size_t size, std::string &error);
  bool commit(std::string &error);

private:
  std::string target, temporary;
  int fd = -1;
};

/// Convenience: writes `bytes` to `path` through an AtomicFile.
bool writeFileAtomically(const std::string &path, const std::string &bytes,
                         std::string &error);

} // namespace nova::rt

#endif // NOVA_RUNTIME_ATOMICFILE_H
